from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LockoutConfig(AppConfig):
    """Lockout after failed logins: django-axes with per-username and per-address limits and audit log rows."""

    name = "access.lockout"
    label = "access_lockout"
    verbose_name = _("Login lockout")

    def ready(self):
        from . import signals  # noqa: F401
