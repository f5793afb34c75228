"""A deactivated user's sessions end at once; reactivating the user does not bring them back (the rows are gone)."""

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver

from .middleware import TOUCH_KEY
from .services import sessions_end_all


@receiver(post_save, sender=get_user_model(), dispatch_uid="access_sessions_end_on_deactivation")
def _deactivated(sender, instance, created, update_fields=None, **kwargs):
    if created or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    sessions_end_all(user=instance, reason="deactivated")


@receiver(user_logged_in, dispatch_uid="access_sessions_touch_at_login")
def _logged_in(sender, request, user, **kwargs):
    """The login itself counts as activity: the next minute of requests writes nothing to the session."""
    session = getattr(request, "session", None)
    if session is not None:
        session[TOUCH_KEY] = int(time.time())
