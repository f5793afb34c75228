"""Write the audit log: one function every app calls (views, services, tasks, signal receivers)."""

from django.contrib.contenttypes.models import ContentType

from .models import AuditLog


def client_ip(request):
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_log(action, *, user=None, request=None, obj=None, model=None, count=None, object_repr=None,
              details=None, actor_name=None):
    """Record `action` by `user` (or the request's user); `obj` or `model` says what it touched."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    model = model or (type(obj) if obj is not None else None)
    return AuditLog.objects.create(
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
