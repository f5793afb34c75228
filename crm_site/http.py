"""Small request helpers shared by the apps' views."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, default="", param="next"):
    """The request's `next` url (POST, then GET; or another `param`) when it stays on this site, else `default`:
    never an open redirect to another host or scheme."""
    next_url = request.POST.get(param) or request.GET.get(param, "")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        return next_url
    return default
