"""Url patterns generated for each registered entity (Wagtail `ModelViewSet.get_urlpatterns()` style)."""

from django.urls import include, path

from .registry import registry
from .views import export, generic


def entity_urlpatterns(entity):
    key = entity.key
    kwargs = {"entity": key}
    patterns = [
        path("", generic.ObjectListView.as_view(), kwargs, name=f"{key}_list"),
        path("add/", generic.ObjectEditView.as_view(), kwargs, name=f"{key}_add"),
        path("export/", export.ObjectExportView.as_view(), kwargs, name=f"{key}_export"),
        path("autocomplete/", generic.AutocompleteView.as_view(), kwargs, name=f"{key}_autocomplete"),
        path("<int:pk>/", generic.ObjectDetailView.as_view(), kwargs, name=f"{key}_detail"),
        path("<int:pk>/edit/", generic.ObjectEditView.as_view(), kwargs, name=f"{key}_edit"),
        path("<int:pk>/delete/", generic.ObjectDeleteView.as_view(), kwargs, name=f"{key}_delete"),
        path("<int:pk>/link/<slug:relation>/", generic.RelationLinkView.as_view(), kwargs, name=f"{key}_link"),
        path(
            "<int:pk>/unlink/<slug:relation>/<int:link_id>/",
            generic.RelationUnlinkView.as_view(),
            kwargs,
            name=f"{key}_unlink",
        ),
    ]
    if entity.extra_urls:
        patterns.insert(0, path("", include(entity.extra_urls)))
    return patterns


def all_entity_urlpatterns():
    return [path(f"{entity.url_prefix}/", include(entity_urlpatterns(entity))) for entity in registry]
