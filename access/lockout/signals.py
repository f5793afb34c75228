"""Every lockout is in the audit log (the username as typed and the address; never the password)."""

from axes.signals import user_locked_out
from django.dispatch import receiver

from access.audit import audit_log
from access.models import AuditLog


@receiver(user_locked_out, dispatch_uid="access_audit_lockout")
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    name = str(username or "")[:150]
    audit_log(AuditLog.LOCKOUT, request=request, user=None, actor_name=name,
              details={"username": name, "ip": ip_address})
