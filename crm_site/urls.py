from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
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
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("timeline/", include("timeline.urls")),
    path("duplicates/", include("dedup.urls")),
    path("trash/", include("trash.urls")),
    path("access/", include("access.urls")),
    *all_entity_urlpatterns(),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
