"""Token services: who may make tokens, making, revoking and checking them, and counting each use."""

import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scopes import user_roles

from .models import ALL_ENTITIES, READ_SCOPE, WEBHOOKS_SCOPE, WRITE_SCOPE, ApiToken, TokenRight

KEY_PREFIX = "crm_"
SCOPES = (READ_SCOPE, WRITE_SCOPE)
AUDIT_ACTION = "api_request"  # AuditLog.API_REQUEST: one row per request made with a token (token id, method, path)
REASON_PREFIX = "api token #"  # a record's history rows written through the API with a token: "api token #12"
SESSION_REASON = "api"  # ... by the browser's own scripts (session auth)


def write_reason(request):
    """The history reason of a write made through the API: which token (the card reads it as "via the API,
    token …"), or "api" for the browser's session."""
    from .models import ApiToken as Token

    token = getattr(request, "auth", None)
    return f"{REASON_PREFIX}{token.pk}" if isinstance(token, Token) else SESSION_REASON


def reason_label(reason, names):
    """How a history reason written by `write_reason` reads to people (None for other reasons). `names`: {token
    id: the token's name} of the tokens named."""
    if reason == SESSION_REASON:
        return _("via the API")
    if reason and reason.startswith(REASON_PREFIX) and reason[len(REASON_PREFIX):].isdigit():
        pk = int(reason[len(REASON_PREFIX):])
        return _("via the API, token “%(name)s”") % {"name": names.get(pk, f"#{pk}")}
    return None


def reason_token_ids(reasons):
    return {int(reason[len(REASON_PREFIX):]) for reason in reasons
            if reason and reason.startswith(REASON_PREFIX) and reason[len(REASON_PREFIX):].isdigit()}


def hash_key(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def may_make_tokens(user):
    """Superusers, and users with a role given the right (access roles → API tokens in the admin)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    role_ids = [role.pk for role in user_roles(user)]
    return TokenRight.objects.filter(role_id__in=role_ids).exists()


def may_manage_tokens_of(actor, user):
    return actor.is_superuser or (actor.pk == user.pk and may_make_tokens(actor))


def clean_scopes(scopes):
    """{entity key or "*": [scope, ...]} with known entities and scopes only, else ValidationError."""
    from crm_site.registry import registry

    if not isinstance(scopes, dict) or not scopes:
        raise ValidationError({"scopes": [_("Give at least one scope.")]})
    clean = {}
    for key, values in scopes.items():
        if key not in (ALL_ENTITIES, WEBHOOKS_SCOPE) and key not in registry:
            raise ValidationError({"scopes": [_("Unknown record type “%(key)s”.") % {"key": str(key)[:40]}]})
        if isinstance(values, str):
            values = [values]
        values = [value for value in values or () if value in SCOPES]
        if values:
            clean[key] = sorted(set(values))
    if not clean:
        raise ValidationError({"scopes": [_("Give at least one scope.")]})
    return clean


@transaction.atomic
def token_create(*, actor, user, name, scopes, expires_at=None):
    """A new token of `user`, made by `actor` (the user, or an administrator): returns (token, raw key).
    The raw key is never stored: show it once."""
    if not may_manage_tokens_of(actor, user):
        raise PermissionDenied(_("You may not make API tokens."))
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the token a name.")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("The expiry must be in the future.")]
    try:
        scopes = clean_scopes(scopes)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=prefix, key_hash=hash_key(raw),
                                    scopes=scopes, expires_at=expires_at, created_by=actor)
    from access.audit import audit_log
    from access.models import AuditLog

    audit_log(AuditLog.API_TOKEN_CREATED, user=actor, obj=None, object_repr=str(token),
              details={"token": token.pk, "for": user.get_username(), "scopes": scopes})
    return token, raw


@transaction.atomic
def token_revoke(*, actor, token):
    if not (actor.is_superuser or actor.pk == token.user_id):
        raise PermissionDenied
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        from access.audit import audit_log
        from access.models import AuditLog

        audit_log(AuditLog.API_TOKEN_REVOKED, user=actor, object_repr=str(token), details={"token": token.pk})
    return token


def token_for_key(raw):
    """The usable token for a raw key, or None (unknown, wrong secret, revoked, expired, inactive user)."""
    if not isinstance(raw, str) or not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
        return None
    prefix = raw[len(KEY_PREFIX):].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not secrets.compare_digest(token.key_hash, hash_key(raw)):
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    return token


def token_used(token, request):
    """Count one request made with `token`: its counter and last use, and a row in the audit log.

    Both in ONE statement (an UPDATE in a WITH, then the INSERT): one round trip and one commit on every API
    request instead of two of each; the row is the one audit_log() would write."""
    from access.audit import audit_entry
    from access.models import AuditLog

    now = timezone.now()
    entry = audit_entry(AUDIT_ACTION, user=token.user, request=request, object_repr=str(token)[:255],
                        details={"token": token.pk, "method": request.method, "path": request.path[:200]})
    fields = [field for field in AuditLog._meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(entry, True), connection) for field in fields]
    quote = connection.ops.quote_name
    meta = ApiToken._meta
    use_count, last_used = (quote(meta.get_field(name).column) for name in ("use_count", "last_used_at"))
    sql = (f"WITH used AS (UPDATE {quote(meta.db_table)} SET {use_count} = {use_count} + 1, {last_used} = %s "
           f"WHERE {quote(meta.pk.column)} = %s) "
           f"INSERT INTO {quote(AuditLog._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [ApiToken._meta.get_field("last_used_at").get_db_prep_save(now, connection), token.pk,
                             *values])
