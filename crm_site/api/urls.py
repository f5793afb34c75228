"""`/api/v1/<entity url prefix>/...` for every registered entity, the bin, webhooks, the schema and the docs.

Built from the registry when the url conf loads, so an entity registered in its AppConfig.ready() gets its
endpoints with no edit here. API views authenticate themselves (token or session), so the site's
LoginRequiredMiddleware lets them through (`login_not_required`) and answers 401/403 as JSON instead."""

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from crm_site.registry import registry

from . import pages
from .views import BinViewSet, viewset_for
from .webhooks_api import WebhookViewSet


def _view(viewset, actions, **initkwargs):
    return login_not_required(viewset.as_view(actions, **initkwargs))


def entity_patterns(entity):
    viewset = viewset_for(entity)
    prefix = f"v1/{entity.url_prefix}/"
    key = entity.key
    return [
        path(prefix, _view(viewset, {"get": "list", "post": "create"}), name=f"{key}_api_list"),
        path(f"{prefix}bulk/", _view(viewset, {"post": "bulk"}), name=f"{key}_api_bulk"),
        path(f"{prefix}<str:pk>/", _view(viewset, {"get": "retrieve", "patch": "partial_update",
                                                   "delete": "destroy"}), name=f"{key}_api_detail"),
        path(f"{prefix}<str:pk>/timeline/", _view(viewset, {"get": "timeline", "post": "timeline"}),
             name=f"{key}_api_timeline"),
    ]


urlpatterns = [
    *[pattern for entity in registry for pattern in entity_patterns(entity)],
    path("v1/bin/", _view(BinViewSet, {"get": "items"}), name="api_bin"),
    path("v1/bin/<str:entity>/<str:pk>/restore/", _view(BinViewSet, {"post": "restore"}), name="api_bin_restore"),
    path("v1/webhooks/", _view(WebhookViewSet, {"get": "list", "post": "create"}), name="api_webhooks"),
    path("v1/webhooks/<str:pk>/", _view(WebhookViewSet, {"get": "retrieve", "patch": "partial_update",
                                                         "delete": "destroy"}), name="api_webhook_detail"),
    path("v1/webhooks/<str:pk>/deliveries/", _view(WebhookViewSet, {"get": "deliveries"}),
         name="api_webhook_deliveries"),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="api_schema"),
    # Swagger UI sets style attributes from its script; styles only, on this page only (scripts stay 'self').
    path("docs/", csp_update({"style-src": ["'unsafe-inline'"]})(
        SpectacularSwaggerSplitView.as_view(url_name="api_schema")), name="api_docs"),
    path("tokens/", pages.tokens_page, name="api_tokens"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="api_token_revoke"),
]
