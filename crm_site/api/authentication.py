"""`Authorization: Bearer crm_…` (or `Token crm_…`): the personal API token of crm_site.api.models.ApiToken."""

from django.db import connection
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, status

from . import tokens


class NeedsPostgres(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The REST API needs PostgreSQL: this installation runs on SQLite (the demo).")
    default_code = "needs_postgresql"


def require_postgres():
    """A clear 503 on SQLite instead of a failing query: the API's pages and its token check are PostgreSQL's SQL."""
    if connection.vendor != "postgresql":
        raise NeedsPostgres


class OnPostgres(permissions.BasePermission):
    """Every API request, however authenticated (a session too)."""

    def has_permission(self, request, view):
        require_postgres()
        return True


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give the token after the word Bearer."))
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        require_postgres()  # authentication runs before the permissions
        token = tokens.authenticate_key(raw, request._request)  # found and counted in one statement
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid, has expired or was revoked."))
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "crm_site.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (user menu → API tokens)."}
