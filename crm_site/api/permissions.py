"""A token's scopes (read / write per entity) on top of the user's own rights; the session has no scopes."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import READ_SCOPE, WRITE_SCOPE, ApiToken


def token_allows(request, entity_key, scope):
    token = request.auth
    return not isinstance(token, ApiToken) or token.allows(entity_key, scope)


class TokenScopePermission(BasePermission):
    message = _("This token has no scope for that.")

    def has_permission(self, request, view):
        entity = getattr(view, "entity", None)
        if entity is None:
            return True  # views over several entities check each one themselves
        scope = READ_SCOPE if request.method in SAFE_METHODS else WRITE_SCOPE
        return token_allows(request, entity.key, scope)
