"""End sessions: one of the user's own, all but the current one, or all of a user's (deactivation, 2FA reset)."""

from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _

from access.audit import audit_log
from access.models import AuditLog

from .models import UserSession


def sessions_of(user):
    """The user's sessions that can still be used, the most recent first."""
    return UserSession.objects.filter(user=user, expire_date__gt=timezone.now()).order_by("-last_activity")


@lru_cache(maxsize=512)
def describe_device(user_agent):
    """'Chrome 130 · Windows', from the browser's user agent (ua-parser)."""
    if not user_agent:
        return _("Unknown browser")
    from ua_parser import parse

    result = parse(user_agent)
    parts = []
    if result.user_agent:
        parts.append(" ".join(filter(None, [result.user_agent.family, result.user_agent.major])))
    if result.os and result.os.family and result.os.family != "Other":
        parts.append(" ".join(filter(None, [result.os.family, result.os.major])))
    if result.device and result.device.family not in (None, "Other", "Spider"):
        parts.append(result.device.family)
    return " · ".join(parts) or _("Unknown browser")


def _end(queryset, *, user, request, reason):
    keys = list(queryset.values_list("session_key", flat=True))
    if keys:
        UserSession.objects.filter(session_key__in=keys).delete()
        audit_log(AuditLog.SESSIONS_ENDED, request=request, obj=user, count=len(keys), details={"reason": reason})
    return len(keys)


def session_end(*, user, public_id, request=None):
    """End one of `user`'s sessions named by its public id; returns whether one was found."""
    for session in UserSession.objects.filter(user=user).only("session_key"):
        if session.public_id == public_id:
            return _end(UserSession.objects.filter(pk=session.pk), user=user, request=request, reason="ended") > 0
    return False


def sessions_end_others(*, user, keep_key, request=None, reason="ended_others"):
    return _end(UserSession.objects.filter(user=user).exclude(session_key=keep_key or ""), user=user,
                request=request, reason=reason)


def sessions_end_all(*, user, request=None, reason):
    """Every session of `user` (deactivation, a 2FA reset): the user logs in again; an administrator's own
    session is another user's and stays."""
    return _end(UserSession.objects.filter(user=user), user=user, request=request, reason=reason)
