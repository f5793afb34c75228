from .registry import registry


def navigation(request):
    return {"nav_entities": list(registry)}
