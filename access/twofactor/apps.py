from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwoFactorConfig(AppConfig):
    """Two-factor login on django-otp: TOTP apps and hashed one-time recovery codes, required per role."""

    name = "access.twofactor"
    label = "access_twofactor"
    verbose_name = _("Two-factor login")

    def ready(self):
        from . import signals  # noqa: F401
