"""Audit log receivers: logins, failed logins (never the password), logouts."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .audit import audit_log
from .models import AuditLog


@receiver(user_logged_in, dispatch_uid="access_audit_login")
def _logged_in(sender, request, user, **kwargs):
    audit_log(AuditLog.LOGIN, user=user, request=request)


@receiver(user_logged_out, dispatch_uid="access_audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_log(AuditLog.LOGOUT, user=user, request=request)


@receiver(user_login_failed, dispatch_uid="access_audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username", ""))[:150]
    audit_log(AuditLog.LOGIN_FAILED, request=request, actor_name=username, details={"username": username})
