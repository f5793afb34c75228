"""Webhook endpoints, the outbox (one Delivery per event and endpoint) and the delivery log (attempts)."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_secret():
    return secrets.token_urlsafe(32)


class Endpoint(models.Model):
    """Where events go. `events`: ["contact.created", "deal.stage_changed", "*.deleted", "company.*"];
    `fields`: optional names — an "updated" event is sent only when one of them changed. Payloads carry only
    what `owner` may read (an administrator's endpoint sees everything; a user's, their own scope)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints",
                              verbose_name=_("owner"))
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("secret"), max_length=100, default=new_secret,
                              help_text=_("Signs every delivery (HMAC-SHA256); give it to the receiver."))
    events = models.JSONField(_("events"), default=list,
                              help_text=_('E.g. ["contact.created", "deal.stage_changed", "*.deleted"].'))
    fields = models.JSONField(_("fields"), default=list, blank=True,
                              help_text=_("Send updates only when one of these fields changed (empty: any)."))
    is_active = models.BooleanField(_("active"), default=True)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def wants(self, entity_key, event):
        names = set(self.events or ())
        return bool({f"{entity_key}.{event}", f"*.{event}", f"{entity_key}.*", "*", "*.*"} & names)


class Delivery(models.Model):
    """One event for one endpoint: written in the transaction of the change (the outbox), sent after commit.
    `delivery_id` goes in the X-CRM-Delivery header: the receiver's key for de-duplication."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATES = [(PENDING, _("pending")), (DELIVERED, _("delivered")), (FAILED, _("failed"))]

    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries",
                                 verbose_name=_("endpoint"))
    event = models.CharField(_("event"), max_length=80)
    object_id = models.PositiveBigIntegerField(_("record id"))
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    state = models.CharField(_("state"), max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last response"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhooks_delivery_due")]

    def __str__(self):
        return f"{self.event} #{self.object_id} → {self.endpoint}"


class Attempt(models.Model):
    """One try of a delivery: the delivery log per endpoint (status, response time, error)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log",
                                 verbose_name=_("delivery"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    status_code = models.PositiveIntegerField(_("response"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("response time, ms"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.delivery_id} {self.status_code or self.error}"
