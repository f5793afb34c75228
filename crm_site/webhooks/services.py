"""Webhooks: the outbox rows written by the domain events (crm_site.events), and their delivery.

- `on_events` (a bulk listener, so a batch of 1,000 records is one call): for every active endpoint that wants
  the event, the records its owner may read get one Delivery row each, with the record as the owner would read
  it through the API (their field rules applied). Same transaction as the change: a rollback leaves nothing.
- After commit, `deliver_pending` (Celery) sends what is due; each request is signed (see `sign`), a failure is
  retried with exponential backoff for CRM_WEBHOOK_RETRY_HOURS, then marked failed; an endpoint failing for
  CRM_WEBHOOK_PAUSE_AFTER_HOURS is paused and its owner notified.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.fields import hidden_fields
from access.scopes import READ, scope_q
from crm_site import events

from .models import Attempt, Delivery, Endpoint

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-CRM-Signature"
TIMESTAMP_HEADER = "X-CRM-Timestamp"
DELIVERY_HEADER = "X-CRM-Delivery"
EVENT_HEADER = "X-CRM-Event"
LEASE = timedelta(minutes=5)  # a claimed delivery is not sent again by another worker before this
MAX_BACKOFF = 3600
BATCH = 200

BASE_EVENTS = {events.CREATED: "created", events.CHANGED: "updated", events.DELETED: "deleted",
               events.RESTORED: "restored", events.MERGED: "merged"}


def event_name(kind, entity):
    """The webhook event of a domain event kind ("changed" → "updated"; a tracked field's own kind, e.g.
    "stage_changed", as it is), or None for kinds not sent."""
    if kind in BASE_EVENTS:
        return BASE_EVENTS[kind]
    if kind in entity.tracked_fields.values():
        return kind
    return None


def event_names(entity):
    return [*BASE_EVENTS.values(), *entity.tracked_fields.values()]


# ---------------------------------------------------------------------------
# The outbox


def on_event(kind, *, obj, user, related, data):
    on_events(kind, model=type(obj), objs=[obj], user=user, data=data, per_object={})


def on_events(kind, *, model, objs, user, data, per_object):
    try:
        entity = model.entity()
    except KeyError:
        return
    name = event_name(kind, entity)
    if name is None:
        return
    endpoints = [e for e in Endpoint.objects.filter(is_active=True).select_related("owner") if e.wants(entity.key, name)]
    if not endpoints:
        return
    if connection.vendor != "postgresql":  # the payloads are built by PostgreSQL (the API's record data)
        log.warning("Webhooks need PostgreSQL; %s endpoint(s) get nothing on %s.", len(endpoints), connection.vendor)
        return
    from crm_site.api.serializers import RecordData, serializer_for

    now = timezone.now()
    rows = []
    pks = [obj.pk for obj in objs]
    for endpoint in endpoints:
        owner = endpoint.owner
        q = scope_q(owner, model, READ)
        if q is None or not owner.is_active:
            continue
        readable = set(model.all_objects.filter(q, pk__in=pks).values_list("pk", flat=True))
        hidden = hidden_fields(owner, entity.key)
        chosen = []
        for obj in objs:
            if obj.pk not in readable:
                continue
            own = {**(data or {}), **(per_object.get(obj.pk) or {})}
            changed = [c["field"] for c in own.get("changes", ()) if c.get("field") not in hidden]
            if name == "updated" and endpoint.fields and not set(changed) & set(endpoint.fields):
                continue
            chosen.append((obj, changed, own))
        if not chosen:
            continue
        objs_chosen = [obj for obj, _c, _o in chosen]
        page = RecordData(owner, entity, objs_chosen, hidden=hidden)
        records = serializer_for(entity)(objs_chosen, many=True, context={"user": owner, "record_data": page}).data
        for (obj, changed, own), record in zip(chosen, records, strict=True):
            payload = {"event": f"{entity.key}.{name}", "entity": entity.key, "object_id": obj.pk,
                       "occurred_at": now.isoformat(), "actor": getattr(user, "pk", None), "data": record}
            if name == "updated":
                payload["changed_fields"] = changed
            if kind in entity.tracked_fields.values() or kind == events.MERGED:
                payload["details"] = {k: v for k, v in own.items() if k in ("old", "new")}
            rows.append(Delivery(endpoint=endpoint, event=payload["event"], object_id=obj.pk,
                                 payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
                                 created_at=now, next_attempt_at=now))
    if rows:
        Delivery.objects.bulk_create(rows, batch_size=1000)
        transaction.on_commit(_kick)


def _kick():
    from .tasks import deliver_pending

    try:
        deliver_pending.delay()
    except Exception:  # the broker is down: the beat's next run sends them
        log.exception("webhooks: could not queue the delivery task")


# ---------------------------------------------------------------------------
# Signing


def body_of(delivery):
    payload = dict(delivery.payload, delivery_id=str(delivery.delivery_id))
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def sign(secret, timestamp, body):
    """HMAC-SHA256 of `"<timestamp>." + body` with the endpoint's secret, hex: the X-CRM-Signature header is
    "sha256=<hex>"."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def headers_for(delivery, body, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": "CRM-Webhooks/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"sha256={sign(delivery.endpoint.secret, timestamp, body)}",
    }


# ---------------------------------------------------------------------------
# Delivery


def backoff(attempts):
    """Seconds before the next try after `attempts` failures: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(30 * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def _post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.CRM_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            response.read(1024)
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, str(getattr(error, "reason", error))[:500]


def _claim(now, limit):
    with transaction.atomic():
        rows = list(Delivery.objects.select_for_update(skip_locked=True, of=("self",)).select_related(
            "endpoint", "endpoint__owner").filter(state=Delivery.PENDING, next_attempt_at__lte=now,
                                                   endpoint__is_active=True).order_by("next_attempt_at", "pk")[:limit])
        if rows:
            Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=now + LEASE)
    return rows


def deliver_one(delivery, now=None):
    """Send one delivery and record the attempt; returns True when the receiver took it (2xx)."""
    body = body_of(delivery)
    started = time.monotonic()
    status, error = _post(delivery.endpoint.url, body, headers_for(delivery, body))
    duration = int((time.monotonic() - started) * 1000)
    now = now or timezone.now()
    ok = status is not None and 200 <= status < 300
    Attempt.objects.create(delivery=delivery, at=now, status_code=status, duration_ms=duration,
                           error=error or ("" if ok else f"HTTP {status}"))
    delivery.attempts += 1
    delivery.last_status = status
    delivery.last_error = "" if ok else (error or f"HTTP {status}")
    endpoint = delivery.endpoint
    if ok:
        delivery.state, delivery.delivered_at = Delivery.DELIVERED, now
        if endpoint.failing_since is not None:
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            endpoint.failing_since = None
    else:
        if now - delivery.created_at >= timedelta(hours=settings.CRM_WEBHOOK_RETRY_HOURS):
            delivery.state = Delivery.FAILED
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts))
        _note_failure(endpoint, now)
    delivery.save(update_fields=["attempts", "last_status", "last_error", "state", "delivered_at",
                                 "next_attempt_at"])
    return ok


def _note_failure(endpoint, now):
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
        endpoint.failing_since = now
        return
    if endpoint.is_active and now - endpoint.failing_since >= timedelta(hours=settings.CRM_WEBHOOK_PAUSE_AFTER_HOURS):
        paused = Endpoint.objects.filter(pk=endpoint.pk, is_active=True).update(is_active=False, paused_at=now)
        endpoint.is_active = False
        if paused:
            from timeline.services import notify

            notify(user=endpoint.owner, text=_("Webhook “%(name)s” was paused: %(url)s has been failing since "
                                               "%(since)s. Fix the receiver, then make the endpoint active "
                                               "again.") % {"name": endpoint.name, "url": endpoint.url,
                                                            "since": timezone.localtime(endpoint.failing_since)
                                                            .strftime("%Y-%m-%d %H:%M")})


def deliver_pending(*, now=None, limit=None):
    """Send every due delivery (claimed in batches, so several workers share the work); returns (sent, failed).
    Idempotent: a delivery is claimed before it is sent, and a delivered one is never sent again by this."""
    sent = failed = 0
    while limit is None or sent + failed < limit:
        rows = _claim(now or timezone.now(), BATCH if limit is None else min(BATCH, limit - sent - failed))
        if not rows:
            break
        for delivery in rows:
            if deliver_one(delivery, now=now):
                sent += 1
            else:
                failed += 1
    return sent, failed


def redeliver(deliveries):
    """Send again (admin button): back to pending, due now, the same delivery id (the receiver may skip it)."""
    ids = [d.pk for d in deliveries]
    count = Delivery.objects.filter(pk__in=ids).update(state=Delivery.PENDING, next_attempt_at=timezone.now())
    transaction.on_commit(_kick)
    return count


# ---------------------------------------------------------------------------
# Endpoints: registered on the site's pages and through the API, by one set of rules (the EndpointForm)


def endpoints_for(user):
    """The endpoints `user` may see and manage: their own; an administrator's, every one."""
    queryset = Endpoint.objects.select_related("owner")
    return queryset if user.is_superuser else queryset.filter(owner=user)


@transaction.atomic
def endpoint_save(*, user, endpoint, data):
    """Create (`endpoint` unsaved, its owner set) or change an endpoint from plain data (name, url, events,
    fields, is_active; what is not given stays). Returns (endpoint, form): endpoint None when the form refused
    the data (form.errors per field; "fields_text" is the field list). Turning an endpoint on again clears its
    pause."""
    from .forms import EndpointForm

    current = {"name": endpoint.name, "url": endpoint.url, "events": list(endpoint.events or ()),
               "fields": list(endpoint.fields or ()), "is_active": endpoint.is_active if endpoint.pk else True}
    merged = {**current, **{key: value for key, value in data.items() if key in current}}
    form = EndpointForm(data={"name": merged["name"], "url": merged["url"], "events": merged["events"],
                              "is_active": bool(merged["is_active"]), "fields_text": ", ".join(merged["fields"])},
                        instance=endpoint, user=user)
    if not form.is_valid():
        return None, form
    if form.instance.is_active:
        form.instance.paused_at = None
        form.instance.failing_since = None
    return form.save(), form


def endpoint_delete(*, user, endpoint):
    if not (user.is_superuser or endpoint.owner_id == user.pk):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    endpoint.delete()
