"""Write the audit log: one function every app calls (views, services, tasks, signal receivers)."""

import ipaddress

from django.conf import settings
from django.contrib.contenttypes.models import ContentType

from .models import AuditLog


def _valid_ip(value):
    try:
        return str(ipaddress.ip_address(value.strip()))
    except (ValueError, AttributeError):
        return None


def client_ip(request):
    """The client's address: REMOTE_ADDR, or in production mode the trusted proxy's header
    (settings.CRM_CLIENT_IP_HEADER; for X-Forwarded-For the last address, the one our proxy appended).
    The audit log, the lockout and the sessions list all use this."""
    if request is None:
        return None
    header = getattr(settings, "CRM_CLIENT_IP_HEADER", "")
    if header:
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        if value:
            found = _valid_ip(value.split(",")[-1])
            if found:
                return found
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def audit_log(action, *, user=None, request=None, obj=None, model=None, count=None, object_repr=None,
              details=None, actor_name=None):
    """Record `action` by `user` (or the request's user); `obj` or `model` says what it touched."""
    entry = audit_entry(action, user=user, request=request, obj=obj, model=model, count=count,
                        object_repr=object_repr, details=details, actor_name=actor_name)
    entry.save(force_insert=True)
    return entry


def audit_entry(action, *, user=None, request=None, obj=None, model=None, count=None, object_repr=None,
                details=None, actor_name=None):
    """The unsaved row audit_log() writes (for a caller that writes it in one statement with its own change)."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    model = model or (obj._meta.model if obj is not None else None)  # (a lazy request.user too)
    return AuditLog(
        actor=user,
        actor_name=actor_name if actor_name is not None else (user.get_username() if user else ""),
        action=action,
        content_type=ContentType.objects.get_for_model(model, for_concrete_model=False) if model else None,
        object_id=getattr(obj, "pk", None),
        object_repr=(object_repr if object_repr is not None else (str(obj) if obj is not None else ""))[:255],
        count=count,
        ip=client_ip(request),
        details=details or {},
    )
