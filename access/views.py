from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site.registry import registry
from crm_site.selectors import record_for_user_or_404
from crm_site.validation import parse_id

from . import services


def _record(request, entity, pk):
    if entity not in registry:
        raise Http404
    obj = record_for_user_or_404(request.user, entity, pk)
    if not services.can_share(request.user, obj):
        raise PermissionDenied
    return obj


def _back(obj):
    return HttpResponseRedirect(obj.get_absolute_url() + "#sharing")


@require_POST
def share(request, entity, pk):
    obj = _record(request, entity, pk)
    grantee_id = parse_id(request.POST.get("user", ""))
    grantee = get_user_model().objects.filter(pk=grantee_id).first() if grantee_id is not None else None
    try:
        services.share_grant(user=request.user, obj=obj, grantee=grantee, level=request.POST.get("level", ""),
                             request=request)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, _("Shared with %(user)s.") % {"user": grantee.get_full_name() or grantee})
    return _back(obj)


@require_POST
def revoke(request, entity, pk, user_id):
    obj = _record(request, entity, pk)
    grantee = get_object_or_404(get_user_model(), pk=user_id)
    if services.share_revoke(user=request.user, obj=obj, grantee=grantee, request=request):
        messages.success(request, _("Access of %(user)s removed.") % {"user": grantee.get_full_name() or grantee})
    return _back(obj)
