from . import ui
from .registry import registry


def navigation(request):
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    return {
        "nav_entities": list(registry),
        "nav_extra": ui.nav_for(user) if authenticated else [],
        "header_items": ui.header_for(request) if authenticated else [],
    }
