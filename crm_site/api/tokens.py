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


def authenticate_key(raw, request):
    """The usable token for a raw key (its user loaded), counted as used — or None (unknown, wrong secret,
    revoked, expired, inactive user; nothing counted then).

    The look-up, the counter and last use, and the request's audit row are ONE statement (an UPDATE … RETURNING
    in a WITH, the audit INSERT from it): one round trip and one commit per API request. The audit row is the one
    audit_log() writes (actor, login, "<name> (<prefix>…)", IP, {token, method, path}). The hash is compared
    by the database: what an attacker controls is the key, not the bytes of its SHA-256."""
    from django.contrib.auth import get_user_model

    from access.audit import client_ip
    from access.models import AuditLog

    if not isinstance(raw, str) or not raw.startswith(KEY_PREFIX) or raw.count("_") < 2 or "\x00" in raw:
        return None
    prefix = raw[len(KEY_PREFIX):].split("_", 1)[0]
    user_model = get_user_model()
    quote = connection.ops.quote_name
    token_fields, user_fields = ApiToken._meta.concrete_fields, user_model._meta.concrete_fields
    col = {name: quote(ApiToken._meta.get_field(name).column) for name in (
        "use_count", "last_used_at", "prefix", "key_hash", "revoked_at", "expires_at", "user", "name")}
    user_pk, active = quote(user_model._meta.pk.column), quote(user_model._meta.get_field("is_active").column)
    login = quote(user_model._meta.get_field(user_model.USERNAME_FIELD).column)
    # The CTE's columns by position (the token's and the user's both have an "id"): _t<i>, _u<i>.
    returned = ([f"t.{quote(f.column)} AS _t{i}" for i, f in enumerate(token_fields)]
                + [f"u.{quote(f.column)} AS _u{i}" for i, f in enumerate(user_fields)])
    names = [f.name for f in token_fields]
    used = {name: f"used._t{names.index(name)}" for name in ("id", "user", "name", "prefix")}
    audit = AuditLog._meta
    audit_columns = ", ".join(quote(audit.get_field(name).column) for name in (
        "at", "actor", "actor_name", "action", "object_repr", "ip", "details"))
    sql = (f"WITH used AS (UPDATE {quote(ApiToken._meta.db_table)} t SET {col['use_count']} = t.{col['use_count']} + 1, "
           f"{col['last_used_at']} = %s FROM {quote(user_model._meta.db_table)} u "
           f"WHERE t.{col['prefix']} = %s AND t.{col['key_hash']} = %s AND t.{col['revoked_at']} IS NULL "
           f"AND (t.{col['expires_at']} IS NULL OR t.{col['expires_at']} > %s) AND u.{user_pk} = t.{col['user']} "
           f"AND u.{active} RETURNING {', '.join(returned)}, u.{login} AS _login), "
           f"logged AS (INSERT INTO {quote(audit.db_table)} ({audit_columns}, "
           f"{quote(audit.get_field('content_type').column)}, {quote(audit.get_field('object_id').column)}, "
           f"{quote(audit.get_field('count').column)}) "
           f"SELECT %s, {used['user']}, used._login, %s, left({used['name']} || ' (' || {used['prefix']} || '…)', 255), "
           f"%s, jsonb_build_object('token', {used['id']}, 'method', %s::text, 'path', %s::text), NULL, NULL, NULL "
           f"FROM used) "
           f"SELECT * FROM used")
    now = timezone.now()
    ip = audit.get_field("ip").get_db_prep_save(client_ip(request), connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, prefix, hash_key(raw), now, now, AUDIT_ACTION, ip, request.method,
                             request.path[:200]])
        row = cursor.fetchone()
    if row is None:
        return None
    converters = connection.ops.get_db_converters
    n = len(token_fields)
    token = ApiToken.from_db(connection.alias, [f.attname for f in token_fields],
                             _converted(token_fields, row[:n], converters))
    token.user = user_model.from_db(connection.alias, [f.attname for f in user_fields],
                                    _converted(user_fields, row[n:n + len(user_fields)], converters))
    return token


def _converted(fields, values, converters):
    """Values as the ORM would give them (the JSON column parsed, aware datetimes...)."""
    from django.db.models.expressions import Col

    out = []
    for field, value in zip(fields, values, strict=True):
        expression = Col(field.model._meta.db_table, field)
        for converter in [*converters(expression), *field.get_db_converters(connection)]:
            value = converter(value, expression, connection)
        out.append(value)
    return out
