from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    """Sessions in the database with their user, address and browser: listed and ended by their user."""

    name = "access.sessions"
    label = "access_sessions"
    verbose_name = _("Sessions")

    def ready(self):
        from . import signals  # noqa: F401
