from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import services


@receiver(user_logged_in, dispatch_uid="access_twofactor_login_state")
def _logged_in(sender, request, user, **kwargs):
    """The password is right: note what the login still needs (the code, the enrolment, or nothing)."""
    if request is not None and hasattr(request, "session"):
        request.session[services.SESSION_STATE] = services.login_state(user)
