"""Personal API tokens, the roles allowed to make them, idempotency records and external keys."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

READ_SCOPE, WRITE_SCOPE = "read", "write"
ALL_ENTITIES = "*"
WEBHOOKS_SCOPE = "webhooks"  # a scope key beside the entities': the token's user's webhook endpoints


class ApiToken(models.Model):
    """A personal token: the raw key is shown once, only its SHA-256 is stored (`prefix` finds the row).

    `scopes`: {entity key or "*": ["read"] or ["read", "write"]}. A token never reads more than its user: the
    scopes only narrow what the user's roles give."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=dict, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False, verbose_name=_("created by"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    use_count = models.PositiveBigIntegerField(_("requests"), default=0, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self):
        return self.revoked_at is None and not self.is_expired

    def allows(self, entity_key, scope):
        granted = self.scopes.get(entity_key, self.scopes.get(ALL_ENTITIES, []))
        return scope in (granted or []) or (scope == READ_SCOPE and WRITE_SCOPE in (granted or []))


class TokenRight(models.Model):
    """A role whose users may make API tokens for themselves (superusers always may; by default nobody else)."""

    role = models.OneToOneField("access.Role", on_delete=models.CASCADE, related_name="token_right",
                                verbose_name=_("role"))

    class Meta:
        verbose_name = _("right to make API tokens")
        verbose_name_plural = _("rights to make API tokens")

    def __str__(self):
        return str(self.role)


class IdempotencyRecord(models.Model):
    """The first response to a POST/PATCH sent with an Idempotency-Key: a retry gets it again, nothing is written
    twice. Kept per user; `fingerprint` (method, path, body) tells a retry from another request with the key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_user_key")]

    def __str__(self):
        return self.key


class ExternalKey(models.Model):
    """A record's id in another system (`source`: "1c", "website"...): the bulk endpoint upserts by it."""

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    source = models.CharField(_("source"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("external key")
        verbose_name_plural = _("external keys")
        constraints = [models.UniqueConstraint(fields=["content_type", "source", "external_id"],
                                               name="api_externalkey_unique")]
        indexes = [models.Index(fields=["content_type", "object_id"], name="api_externalkey_record")]

    def __str__(self):
        return f"{self.source}:{self.external_id}"
