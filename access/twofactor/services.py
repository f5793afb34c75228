"""Two-factor login: who must use it, enrolment, the check at login, and the reset of a lost device.

The session carries the login's state (`SESSION_STATE`, set when the password login succeeds): "verify" (the
user has an authenticator: the code is asked before anything else), "enrol" (a role requires two-factor login
and the user has none yet: enrolment is the only page open) or "" (nothing to do). A role's requirement thus
applies from the user's next login; django-otp's `is_verified()` says whether this session passed the code.
"""

import base64
from binascii import unhexlify

from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from access import scopes
from access.audit import audit_log
from access.models import AuditLog

from .models import RecoveryCodeDevice

SESSION_STATE = "_crm_2fa"
VERIFY, ENROL, NONE = "verify", "enrol", ""


def required_for(user):
    """Whether one of the user's roles (direct, through a department, or the default role) requires 2FA."""
    return any(role.require_two_factor for role in scopes.user_roles(user))


def authenticator(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_device(user):
    return RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()


def is_enrolled(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def login_state(user):
    if is_enrolled(user):
        return VERIFY
    return ENROL if required_for(user) else NONE


def session_state(request):
    """The state of this session's login (computed once for sessions from before the state was kept)."""
    state = request.session.get(SESSION_STATE)
    if state is None:
        state = request.session[SESSION_STATE] = login_state(request.user)
    return state


def enrolment_start(user):
    """The unconfirmed authenticator being set up (a new secret unless one is waiting)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def secret_for_display(device):
    """The key in base32 groups of four, for typing into an app when the QR code cannot be scanned."""
    secret = base64.b32encode(unhexlify(device.key)).decode().rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg(device):
    """The enrolment QR code as inline SVG, drawn on the server (no image service, no script)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def clean_token(token):
    return "".join(str(token or "").split())[:64]


def enrolment_confirm(*, request, device, token):
    """Confirm the authenticator with a code from the app; returns the new recovery codes (shown once), or None
    if the code is wrong."""
    user = request.user
    if device.user_id != user.pk or device.confirmed:
        return None
    if not device.verify_token(clean_token(token)):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_new(user=user)
    otp_login(request, device)
    request.session[SESSION_STATE] = VERIFY
    audit_log(AuditLog.TWOFACTOR_ENABLED, request=request, obj=user)
    return codes


def recovery_codes_new(*, user):
    device = recovery_device(user)
    if device is None:
        device = RecoveryCodeDevice.objects.create(user=user, name=_("Recovery codes"), confirmed=True)
    return device.generate_codes()


def throttled(user):
    """Whether a device is in its back-off after wrong codes (django-otp: 1, 2, 4... seconds)."""
    for device in (authenticator(user), recovery_device(user)):
        if device is not None and not device.verify_is_allowed()[0]:
            return True
    return False


def verify(*, request, token):
    """The second step of the login: a code from the app, or a recovery code (used up). Returns the device
    that accepted it, or None; a wrong code counts as a failed login (the lockout counts it too)."""
    user = request.user
    token = clean_token(token)
    device = None
    if token:
        candidate = authenticator(user) if len(token) == 6 and token.isdigit() else recovery_device(user)
        if candidate is not None and candidate.verify_token(token):
            device = candidate
    if device is None:
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
        return None
    otp_login(request, device)
    return device


def twofactor_disable(*, request):
    """The user turns their own 2FA off (refused while a role requires it)."""
    user = request.user
    if required_for(user):
        return False
    _delete_devices(user)
    request.session[SESSION_STATE] = NONE
    audit_log(AuditLog.TWOFACTOR_DISABLED, request=request, obj=user)
    return True


def twofactor_reset(*, user, request=None):
    """An administrator's reset after a lost device: the devices go, every session of the user ends; the next
    login asks the user to enrol again if a role requires it."""
    from access.sessions.services import sessions_end_all

    with transaction.atomic():
        _delete_devices(user)
        audit_log(AuditLog.TWOFACTOR_RESET, request=request, obj=user, object_repr=user.get_username())
    sessions_end_all(user=user, request=request, reason="2fa_reset")


def _delete_devices(user):
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCodeDevice.objects.filter(user=user).delete()
