from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from access.lockout.views import locked_out

from . import services
from .forms import CodeForm, EnrolForm


def _next(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return ""


def _locked(request):
    return not AxesProxyHandler.is_allowed(request, {"username": request.user.get_username()})


@never_cache
def verify(request):
    """The second step of the login: a code from the app or a recovery code."""
    user = request.user
    if user.is_verified():
        return redirect(_next(request) or "home")
    if not services.is_enrolled(user):
        return redirect("home")
    if _locked(request):
        logout(request)
        return locked_out(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.throttled(user):
            form.add_error("code", _("Too many wrong codes. Wait a few seconds and try again."))
        elif services.verify(request=request, token=form.cleaned_data["code"]) is not None:
            return redirect(_next(request) or "home")
        elif getattr(request, "axes_locked_out", False):
            logout(request)
            return locked_out(request)
        else:
            form.add_error("code", _("This code is not right. Try the current one from the app."))
    return render(request, "access/twofactor_verify.html", {"form": form, "next": _next(request)})


@never_cache
def enrol(request):
    """Set up an authenticator app: scan the QR code (or type the key), confirm with a code; the recovery codes
    are shown once, on the page that answers the confirmation."""
    user = request.user
    if services.is_enrolled(user) and not user.is_verified():
        return redirect("twofactor_verify")  # replacing an app needs the current one first
    device = services.enrolment_start(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.enrolment_confirm(request=request, device=device, token=form.cleaned_data["code"])
        if codes is not None:
            return render(request, "access/twofactor_codes.html", {"codes": codes, "next": _next(request),
                                                                    "enrolled": True})
        form.add_error("code", _("This code is not right. Check the time on your phone and try the current one."))
    return render(request, "access/twofactor_enrol.html", {
        "form": form, "qr": services.qr_svg(device), "secret": services.secret_for_display(device),
        "required": services.required_for(user), "next": _next(request),
    })


@never_cache
def settings_page(request):
    user = request.user
    recovery = services.recovery_device(user)
    return render(request, "access/twofactor.html", {
        "enrolled": services.is_enrolled(user), "required": services.required_for(user),
        "codes_left": recovery.remaining() if recovery else 0,
    })


@require_POST
@never_cache
def recovery_codes(request):
    if not services.is_enrolled(request.user):
        return redirect("twofactor")
    return render(request, "access/twofactor_codes.html", {"codes": services.recovery_codes_new(user=request.user)})


@require_POST
def disable(request):
    if services.twofactor_disable(request=request):
        messages.success(request, _("Two-factor login is off."))
    else:
        messages.error(request, _("Your role requires two-factor login; it cannot be turned off."))
    return redirect("twofactor")
