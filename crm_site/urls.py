from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from .reports import views as reports_views
from .urls_entities import all_entity_urlpatterns
from .views import pages

urlpatterns = [
    path("", reports_views.dashboard, name="home"),
    path("reports/", include("crm_site.reports.urls")),
    path("healthz", pages.healthz, name="healthz"),
    path("accounts/", include("access.account_urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("timeline/", include("timeline.urls")),
    path("duplicates/", include("dedup.urls")),
    path("import/", include("dedup.importing.urls")),
    path("trash/", include("trash.urls")),
    path("access/", include("access.urls")),
    path("api/", include("crm_site.api.urls")),
    path("webhooks/", include("crm_site.webhooks.urls")),
    path("fields/", include("crm_site.customfields.urls")),
    path("lists/", include("crm_site.lists.urls")),
    *all_entity_urlpatterns(),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
