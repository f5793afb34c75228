"""Saved segments as a source of the REST API's lists (`?segment=<id>`), registered when the API is installed."""

from django.http import Http404


def resolve_segment(user, entity, segment_id, queryset):
    """The API list narrowed to a segment the user may use (own or shared), within their own scope; 404 else."""
    from .selectors import segment_for_user, segment_queryset

    segment = segment_for_user(user, entity, segment_id)
    if segment is None:
        raise Http404
    return queryset.filter(pk__in=segment_queryset(user, segment).values("pk"))


def register():
    try:
        from crm_site.api import hooks
    except ImportError:
        return
    hooks.set_segment_resolver(resolve_segment)
