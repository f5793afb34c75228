"""Webhook endpoints on the site: users with the API right register their own (payloads limited to what they may
read), administrators see and manage every one; each endpoint's delivery log, and redelivery for administrators."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site.api.tokens import may_make_tokens

from . import services
from .forms import EndpointForm
from .models import Delivery

_endpoints = services.endpoints_for


def endpoint_list(request):
    allowed = may_make_tokens(request.user)
    form = None
    if allowed:
        form = EndpointForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            form.instance.owner = request.user
            endpoint = form.save()
            messages.success(request, _("Webhook “%(name)s” added.") % {"name": endpoint.name})
            return HttpResponseRedirect(reverse("webhook_detail", args=[endpoint.pk]))
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "webhooks/list.html", {"endpoints": _endpoints(request.user), "form": form})


def endpoint_detail(request, pk):
    endpoint = get_object_or_404(_endpoints(request.user), pk=pk)
    form = EndpointForm(request.POST or None, instance=endpoint, user=request.user)
    if request.method == "POST" and form.is_valid():
        if form.instance.is_active:
            form.instance.paused_at = None
            form.instance.failing_since = None
        form.save()
        messages.success(request, _("Saved."))
        return HttpResponseRedirect(reverse("webhook_detail", args=[endpoint.pk]))
    deliveries = endpoint.deliveries.prefetch_related("attempt_log").order_by("-created_at", "-pk")[:50]
    return render(request, "webhooks/detail.html", {"endpoint": endpoint, "form": form, "deliveries": deliveries,
                                                    "can_redeliver": request.user.is_superuser})


@require_POST
def endpoint_delete(request, pk):
    endpoint = get_object_or_404(_endpoints(request.user), pk=pk)
    endpoint.delete()
    messages.success(request, _("Webhook “%(name)s” deleted.") % {"name": endpoint.name})
    return HttpResponseRedirect(reverse("webhook_list"))


@require_POST
def delivery_redeliver(request, pk):
    if not request.user.is_superuser:
        raise PermissionDenied
    delivery = get_object_or_404(Delivery, pk=pk)
    services.redeliver([delivery])
    messages.success(request, _("Queued for delivery again."))
    return HttpResponseRedirect(reverse("webhook_detail", args=[delivery.endpoint_id]))
