"""Two-factor login, lockout after failed logins, sessions the user controls, password reset, security headers.

Passwords are checked with a fast hasher here (the flows log in many times); everything else is the real stack:
django-axes, django-otp, the database sessions and django-csp, through the test client.
"""

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.models import AuditLog, Role, RoleAssignment
from access.sessions.models import UserSession
from access.twofactor.models import RecoveryCode, RecoveryCodeDevice, digest

PW = "Right-horse-battery-9"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the throttle has its own test
    settings.CRM_LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 5
    settings.CRM_LOGIN_FAILURE_LIMIT_IP = 20


def make(username, **extra):
    return get_user_model().objects.create_user(username, f"{username}@example.com", PW, **extra)


@pytest.fixture
def alice(db):
    return make("alice2fa", first_name="Alice")


@pytest.fixture
def admin_user(db):
    """Not conftest's: its password hash is cached for the whole run, and here hashes are MD5."""
    return make("admin2fa", is_staff=True, is_superuser=True)


def browser(ua=CHROME, ip="127.0.0.1"):
    return Client(headers={"accept-language": "en", "user-agent": ua}, REMOTE_ADDR=ip)


def login(client, username, password=PW, next_url=None):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def code_for(device, ahead=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + ahead
    return f"{totp.token():0{device.digits}d}"


def enrol(client):
    """Through the enrolment page: returns the device and the recovery codes the page showed."""
    page = client.get(reverse("twofactor_enrol"))
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user__username=page.wsgi_request.user.username, confirmed=False)
    done = client.post(reverse("twofactor_enrol"), {"code": code_for(device)})
    assert done.status_code == 200, done.content
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.content.decode())
    device.refresh_from_db()
    return device, codes


def enrolled(user):
    """An enrolled user, set up directly (for the tests of what comes after)."""
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    codes = RecoveryCodeDevice.objects.create(user=user, name="codes", confirmed=True).generate_codes()
    return device, codes


def is_in(client):
    return client.get(reverse("home")).status_code == 200


# --- Two-factor login ---------------------------------------------------------------------------------------


def test_enrolment_turns_two_factor_on_and_shows_recovery_codes_once_stored_hashed(alice):
    client = browser()
    assert login(client, alice.username).status_code == 302
    device, codes = enrol(client)
    assert device.confirmed
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(device__user=alice).values_list("digest", flat=True))
    assert stored == {digest(code) for code in codes}
    assert not any(code.replace("-", "") in value for value in stored for code in codes)  # never in clear
    assert AuditLog.objects.filter(action=AuditLog.TWOFACTOR_ENABLED, actor=alice).exists()
    assert is_in(client)  # this session passed the code at enrolment
    page = client.get(reverse("twofactor")).content.decode()
    assert "10 recovery codes left" in page and codes[0] not in page  # shown once, never again


def test_enrolment_refuses_a_wrong_code(alice):
    client = browser()
    login(client, alice.username)
    client.get(reverse("twofactor_enrol"))
    response = client.post(reverse("twofactor_enrol"), {"code": "000000"})
    assert response.status_code == 200 and b"This code is not right" in response.content
    assert not TOTPDevice.objects.filter(user=alice, confirmed=True).exists()


def test_login_asks_for_the_code_after_the_password_and_refuses_a_wrong_one(alice):
    device, _codes = enrolled(alice)
    client = browser()
    response = login(client, alice.username, next_url="/contacts/")
    assert response.status_code == 302
    # Every page leads to the code first: the CRM, the Django admin, htmx partials.
    first = client.get("/contacts/")
    assert first.status_code == 302 and first["Location"].startswith(reverse("twofactor_verify"))
    assert client.get("/admin/").status_code == 302
    htmx = client.get("/contacts/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith(reverse("twofactor_verify"))

    wrong = client.post(reverse("twofactor_verify"), {"code": "123456", "next": "/contacts/"})
    assert wrong.status_code == 200 and b"This code is not right" in wrong.content
    assert AuditLog.objects.filter(action=AuditLog.LOGIN_FAILED, actor_name=alice.username).exists()
    assert client.get("/contacts/").status_code == 302

    right = client.post(reverse("twofactor_verify"), {"code": code_for(device, ahead=30), "next": "/contacts/"})
    assert right.status_code == 302 and right["Location"] == "/contacts/"
    assert client.get("/contacts/").status_code == 200


def test_a_recovery_code_works_once(alice):
    _device, codes = enrolled(alice)
    first = browser()
    login(first, alice.username)
    assert first.post(reverse("twofactor_verify"), {"code": codes[0].upper()}).status_code == 302
    assert is_in(first)
    second = browser()
    login(second, alice.username)
    again = second.post(reverse("twofactor_verify"), {"code": codes[0]})
    assert again.status_code == 200 and not is_in(second)
    assert second.post(reverse("twofactor_verify"), {"code": codes[1].replace("-", "")}).status_code == 302
    assert RecoveryCode.objects.filter(device__user=alice, used_at__isnull=False).count() == 2


def test_wrong_codes_are_throttled_and_count_as_failed_logins(alice, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    device, _codes = enrolled(alice)
    client = browser()
    login(client, alice.username)
    client.post(reverse("twofactor_verify"), {"code": "111111"})
    throttled = client.post(reverse("twofactor_verify"), {"code": code_for(device)})  # right, but too soon
    assert b"Too many wrong codes" in throttled.content and not is_in(client)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    for _ in range(3):
        assert client.post(reverse("twofactor_verify"), {"code": "222222"}).status_code == 200
    locked = client.post(reverse("twofactor_verify"), {"code": "333333"})  # the 5th failure
    assert locked.status_code == 429
    assert SESSION_KEY not in client.session  # logged out: the password has to be typed again
    assert login(client, alice.username).status_code == 429


def test_a_role_can_require_two_factor_login(alice):
    role = Role.objects.create(name="Needs two-factor", require_two_factor=True, matrix={})
    RoleAssignment.objects.create(role=role, user=alice)
    other = make("plain2fa")
    client = browser()
    login(client, alice.username)
    for url in ("/", "/contacts/", "/admin/", reverse("session_list")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("twofactor_enrol")), url
    page = client.get(reverse("twofactor_enrol"))
    assert b"Your role requires two-factor login" in page.content
    assert client.post(reverse("twofactor_disable")).status_code == 302 and not is_in(client)
    enrol(client)
    assert is_in(client)
    assert client.post(reverse("twofactor_disable")).status_code == 302
    assert TOTPDevice.objects.filter(user=alice).exists()  # the role keeps it on
    # A user whose roles do not require it is not asked.
    plain = browser()
    login(plain, other.username)
    assert is_in(plain)


def test_an_enrolled_user_cannot_replace_the_app_with_the_password_alone(alice):
    enrolled(alice)
    client = browser()
    login(client, alice.username)
    response = client.get(reverse("twofactor_enrol"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("twofactor_verify"))
    assert not TOTPDevice.objects.filter(user=alice, confirmed=False).exists()


def test_admin_resets_two_factor_and_the_users_sessions_end(alice, admin_user):
    device, _codes = enrolled(alice)
    phone = browser()
    login(phone, alice.username)
    phone.post(reverse("twofactor_verify"), {"code": code_for(device)})
    assert is_in(phone)
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post(reverse("admin:auth_user_changelist"),
                          {"action": "reset_two_factor", "_selected_action": [alice.pk]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not RecoveryCodeDevice.objects.filter(user=alice).exists()
    assert AuditLog.objects.filter(action=AuditLog.TWOFACTOR_RESET, object_id=alice.pk, actor=admin_user).exists()
    assert not UserSession.objects.filter(user=alice).exists()
    assert phone.get(reverse("home")).status_code == 302  # logged out
    assert admin.get(reverse("admin:index")).status_code == 200  # the administrator's own session stays


def test_the_django_admin_uses_the_crm_login():
    response = Client().get("/admin/login/?next=/admin/access/role/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/access/role/"


def test_the_authenticator_secret_has_no_admin_page(admin_user):
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get("/admin/otp_totp/totpdevice/").status_code == 404


# --- Lockout ------------------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_username_even_with_the_right_one_until_the_cooloff(alice):
    client = browser()
    for _ in range(4):
        assert login(client, alice.username, "wrong").status_code == 200
    locked = login(client, alice.username, "wrong")
    assert locked.status_code == 429
    assert login(client, alice.username).status_code == 429  # the right password changes nothing
    assert login(browser(ip="10.1.1.1"), alice.username).status_code == 429  # from anywhere
    assert SESSION_KEY not in client.session
    assert AuditLog.objects.filter(action=AuditLog.LOCKOUT, actor_name=alice.username).exists()
    # The message is the same whether the user exists or not.
    ghost = browser(ip="10.9.9.9")
    for _ in range(5):
        last = login(ghost, "nobody-here", "wrong")
    assert last.status_code == 429
    def strip(response):
        text = re.sub(r'"X-CSRFToken": "[^"]+"', "", response.content.decode())
        return text.replace(alice.username, "").replace("nobody-here", "")

    assert strip(last) == strip(locked)
    assert "Too many failed login attempts" in strip(locked)
    # After the cool-off the right password works again.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert login(client, alice.username).status_code == 302 and is_in(client)


def test_failures_from_one_address_lock_it_for_every_username(alice, settings):
    settings.CRM_LOGIN_FAILURE_LIMIT_IP = 6
    office = "203.0.113.7"
    for n in range(6):  # six usernames, one failure each: no username reaches its own limit
        login(browser(ip=office), f"guess{n}", "wrong")
    assert login(browser(ip=office), alice.username).status_code == 429
    elsewhere = browser(ip="198.51.100.1")
    assert login(elsewhere, alice.username).status_code == 302 and is_in(elsewhere)


def test_an_administrator_unlocks_a_login(alice, admin_user):
    for _ in range(5):
        login(browser(), alice.username, "wrong")
    assert login(browser(), alice.username).status_code == 429
    admin = Client()
    admin.force_login(admin_user)
    ids = list(AccessAttempt.objects.filter(username=alice.username).values_list("pk", flat=True))
    response = admin.post(reverse("admin:axes_accessattempt_changelist"),
                          {"action": "unlock", "_selected_action": ids})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action=AuditLog.UNLOCK, actor=admin_user, object_repr=alice.username).exists()
    assert login(browser(), alice.username).status_code == 302


def test_the_client_address_comes_from_the_proxy_header_only_when_production_says_so(alice, settings):
    from access.audit import client_ip

    request = browser(ip="10.0.0.1").get(reverse("login"), headers={"X-Forwarded-For": "1.2.3.4, 5.6.7.8"}
                                          ).wsgi_request
    settings.CRM_CLIENT_IP_HEADER = ""
    assert client_ip(request) == "10.0.0.1"
    settings.CRM_CLIENT_IP_HEADER = "X-Forwarded-For"
    assert client_ip(request) == "5.6.7.8"  # the address our proxy appended, not what the client sent
    request.META["HTTP_X_FORWARDED_FOR"] = "not-an-address"
    assert client_ip(request) == "10.0.0.1"


# --- Sessions -----------------------------------------------------------------------------------------------


def test_the_sessions_page_lists_them_and_ends_one_or_all_others(alice):
    laptop, phone, tablet = browser(CHROME, "10.0.0.5"), browser(FIREFOX, "10.0.0.6"), browser(FIREFOX, "10.0.0.7")
    for client in (laptop, phone, tablet):
        login(client, alice.username)
    page = laptop.get(reverse("session_list"))
    html = page.content.decode()
    assert "Chrome 130" in html and "Windows" in html and "Firefox 131" in html and "Ubuntu" in html
    assert "10.0.0.5" in html and "10.0.0.6" in html and "this session" in html
    for key in UserSession.objects.filter(user=alice).values_list("session_key", flat=True):
        assert key not in html  # a session's key is the login itself: never in a page
    phone_id = UserSession.objects.get(user=alice, ip="10.0.0.6").public_id
    assert laptop.post(reverse("session_end", args=[phone_id])).status_code == 302
    assert not is_in(phone) and is_in(tablet) and is_in(laptop)
    # Someone else's session cannot be ended by its id.
    intruder = browser()
    login(intruder, make("mallory").username)
    tablet_id = UserSession.objects.get(user=alice, ip="10.0.0.7").public_id
    assert intruder.post(reverse("session_end", args=[tablet_id])).status_code == 404
    assert laptop.post(reverse("sessions_end_others")).status_code == 302
    assert not is_in(tablet) and is_in(laptop)
    assert UserSession.objects.filter(user=alice).count() == 1
    assert AuditLog.objects.filter(action=AuditLog.SESSIONS_ENDED, object_id=alice.pk).count() == 2


def test_changing_the_password_ends_the_other_sessions(alice):
    here, there = browser(), browser(FIREFOX, "10.0.0.9")
    login(here, alice.username)
    login(there, alice.username)
    response = here.post(reverse("password_change"), {"old_password": PW, "new_password1": "Another-horse-42",
                                                     "new_password2": "Another-horse-42"})
    assert response.status_code == 302
    assert is_in(here) and not is_in(there)
    assert UserSession.objects.filter(user=alice).count() == 1
    assert AuditLog.objects.filter(action=AuditLog.PASSWORD_CHANGED, actor=alice).exists()


def test_deactivating_a_user_ends_their_sessions_and_reactivating_does_not_revive_them(alice):
    client = browser()
    login(client, alice.username)
    assert UserSession.objects.filter(user=alice).exists()
    alice.is_active = False
    alice.save()
    assert not UserSession.objects.filter(user=alice).exists()
    alice.is_active = True
    alice.save()
    assert not is_in(client)


def test_password_reset_by_email_sets_a_new_password_and_ends_every_session(alice):
    old = browser()
    login(old, alice.username)
    anonymous = browser(FIREFOX)
    assert anonymous.post(reverse("password_reset"), {"email": alice.email}).status_code == 302
    assert anonymous.post(reverse("password_reset"), {"email": "nobody@example.com"}).status_code == 302
    assert len(mail.outbox) == 1  # the same answer either way; one mail, to the real account
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = anonymous.get(link, follow=True)
    assert b"new_password1" in form.content
    done = anonymous.post(form.redirect_chain[-1][0], {"new_password1": "Fresh-horse-777",
                                                       "new_password2": "Fresh-horse-777"})
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert not is_in(old)
    assert login(browser(), alice.username, "Fresh-horse-777").status_code == 302


def test_the_idle_timeout_is_the_session_age_and_moves_with_activity(alice, settings):
    client = browser()
    login(client, alice.username)
    row = UserSession.objects.get(user=alice)
    assert abs((row.expire_date - timezone.now()).total_seconds() - settings.SESSION_COOKIE_AGE) < 60
    assert settings.SESSION_COOKIE_AGE == settings.CRM_SESSION_IDLE_MINUTES * 60
    session = client.session
    session["_crm_seen"] = 0  # the last touch was long ago: the next request moves the expiry forward
    session.save()
    UserSession.objects.filter(pk=row.pk).update(expire_date=timezone.now() + timedelta(minutes=1))
    assert is_in(client)
    assert UserSession.objects.get(pk=row.pk).expire_date > timezone.now() + timedelta(minutes=30)
    UserSession.objects.filter(pk=row.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert not is_in(client)  # idle too long: logged out


# --- Headers ------------------------------------------------------------------------------------------------


def test_pages_carry_the_content_security_policy_and_the_other_headers(alice):
    client = browser()
    login(client, alice.username)
    for url in ("/", reverse("login")):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert "unsafe" not in policy
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert response["Referrer-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I), "inline event handler"),
    (re.compile(r"\shx-on", re.I), "hx-on (needs eval)"),
    (re.compile(r"=\s*[\"']\s*javascript:", re.I), "javascript: URL"),
]


COMMENTS = re.compile(r"{#.*?#}|{% comment %}.*?{% endcomment %}", re.S)


def test_templates_have_no_inline_script_or_style():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")) + sorted(ROOT.glob("*/templates/**/*.html")):
        text = COMMENTS.sub("", path.read_text())
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                found.append(f"{path.relative_to(ROOT)}: {what}: {match.group(0)[:60]}")
    assert found == []
