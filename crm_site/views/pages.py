from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from access.scopes import READ

from ..registry import registry


def home(request):
    """The start page: counts and the latest records of each entity the user may read."""
    blocks = []
    for entity in registry:
        visible = entity.model.objects.visible_to(request.user, READ)
        blocks.append(
            {
                "entity": entity,
                "count": visible.count(),
                "mine": visible.filter(owner=request.user).count(),
                "latest": list(visible.order_by("-created_at", "-pk")[:5]),
            }
        )
    return render(request, "home.html", {"blocks": blocks, "entities": list(registry)})


@login_not_required
@never_cache
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
