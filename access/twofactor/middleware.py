from urllib.parse import quote

from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from . import services

# Pages open during the second step of the login (besides those marked login_not_required).
OPEN_DURING_LOGIN = {"logout", "twofactor_verify", "twofactor_enrol", "javascript-catalog"}


class TwoFactorMiddleware:
    """After the password, before anything else (the CRM, the Django admin, htmx partials): the code, or the
    enrolment when a role requires two-factor login. Placed after LoginRequiredMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not getattr(view_func, "login_required", True):
            return None
        if getattr(user, "is_verified", None) and user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.url_name in OPEN_DURING_LOGIN:
            return None
        state = services.session_state(request)
        if state == services.VERIFY:
            target = "twofactor_verify"
        elif state == services.ENROL:
            target = "twofactor_enrol"
        else:
            return None
        url = f"{reverse(target)}?next={quote(request.get_full_path())}"
        if request.headers.get("HX-Request"):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return redirect(url)
