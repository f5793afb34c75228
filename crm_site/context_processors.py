from . import ui
from .registry import registry


def navigation(request):
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    nav_extra = ui.nav_for(user) if authenticated else []
    return {
        "nav_entities": list(registry),
        "nav_extra": nav_extra,
        "header_items": ui.header_for(request) if authenticated else [],
        "active_entity": active_entity(request, nav_extra),
    }


def active_entity(request, nav_extra):
    """The entity whose menu entry is highlighted: the one a generic view serves, or whose url prefix an app's own
    page lives under (a lead's conversion) unless that page has a menu entry of its own (the deal board)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.kwargs.get("entity"):
        return match.kwargs["entity"]
    if any(item.url_name == match.url_name for item in nav_extra):
        return ""
    route = match.route or ""
    return next((entity.key for entity in registry if route.startswith(f"{entity.url_prefix}/")), "")
