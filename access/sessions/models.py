import hashlib

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserSession(AbstractBaseSession):
    """Django's session row plus who it belongs to, from where, with what browser, and when it was last used.

    Written by access.sessions.backend.SessionStore on every save; the user is the session's own
    `_auth_user_id`, so a row can be found (and deleted) per user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+", verbose_name=_("user"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    last_activity = models.DateTimeField(_("last activity"), null=True, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [models.Index(fields=["user", "expire_date"], name="access_session_user_expiry")]

    @classmethod
    def get_session_store_class(cls):
        from .backend import SessionStore

        return SessionStore

    @property
    def public_id(self):
        """Names the session in pages and forms without showing its key (the key is the login itself)."""
        return hashlib.sha256(self.session_key.encode()).hexdigest()[:24]
