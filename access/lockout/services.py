from axes.models import AccessAttempt
from django.db import transaction

from access.audit import audit_log
from access.models import AuditLog


def lockout_lift(*, queryset=None, username=None, ip_address=None, request=None):
    """Forget failed attempts (all of `queryset`, or those of a username and/or address): their lockout ends.
    One audit log row per attempt row; returns how many rows were removed."""
    if queryset is None:
        queryset = AccessAttempt.objects.all()
        if username is not None:
            queryset = queryset.filter(username=username)
        if ip_address is not None:
            queryset = queryset.filter(ip_address=ip_address)
    with transaction.atomic():
        rows = list(queryset.select_for_update().values("pk", "username", "ip_address", "failures_since_start"))
        for row in rows:
            audit_log(AuditLog.UNLOCK, request=request, model=AccessAttempt, object_repr=row["username"] or "",
                      details={"username": row["username"], "ip": row["ip_address"],
                               "failures": row["failures_since_start"]})
        AccessAttempt.objects.filter(pk__in=[row["pk"] for row in rows]).delete()
    return len(rows)
