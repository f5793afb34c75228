"""Webhooks (crm_site/webhooks): the outbox in the change's transaction, signed deliveries, retries, pausing."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from access.models import FieldRule, Role
from crm_site import services
from crm_site.webhooks import services as webhooks
from crm_site.webhooks.models import Attempt, Delivery, Endpoint
from tests import postgres
from tests.api_helpers import api_for, record_data
from tests.factories import make_contact, make_user

pytestmark = [postgres.only, pytest.mark.django_db]


def verify(secret, headers, body, tolerance=300, now=None):
    """A receiver written from the README alone: recompute HMAC-SHA256 over "<timestamp>.<raw body>" with the
    endpoint's secret and compare with the X-CRM-Signature header ("sha256=<hex>"); refuse old timestamps."""
    import time

    headers = {name.lower(): value for name, value in headers.items()}  # header names are case-insensitive
    timestamp = headers["x-crm-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    given = headers["x-crm-signature"].removeprefix("sha256=")
    fresh = abs((now or time.time()) - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, given)


class Receiver:
    """A local HTTP receiver: answers `fail_first` requests with 500, then 200; keeps what it accepted."""

    def __init__(self, secret="", fail_first=0):
        self.secret, self.fail_first = secret, fail_first
        self.requests, self.accepted = [], {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append((headers, body))
                ok = len(receiver.requests) > receiver.fail_first and (
                    not receiver.secret or verify(receiver.secret, headers, body))
                if ok:
                    receiver.accepted.setdefault(headers["x-crm-delivery"], []).append(json.loads(body))
                self.send_response(200 if ok else 500)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def endpoint_for(owner, url="http://127.0.0.1:9/none", events=("contact.*",), **extra):
    return Endpoint.objects.create(owner=owner, name="Site", url=url, events=list(events), **extra)


def test_signed_delivery_a_receiver_written_from_the_docs_accepts(user):
    with Receiver() as receiver:
        endpoint = endpoint_for(user, receiver.url)
        receiver.secret = endpoint.secret
        contact = services.record_create(user=user, entity="contact", data={"last_name": "Signed"},
                                         channels={"phone": ["+7 495 123-45-67"]})
        assert webhooks.deliver_pending() == (1, 0)
    (headers, body), = receiver.requests
    assert verify(endpoint.secret, headers, body)
    assert not verify("another secret", headers, body)
    assert not verify(endpoint.secret, headers, body + b" ")
    payload = json.loads(body)
    assert payload["event"] == "contact.created" and payload["object_id"] == contact.pk
    assert payload["data"]["last_name"] == "Signed" and payload["data"]["phones"][0]["value"] == "+7 495 123-45-67"
    assert payload["delivery_id"] == headers["x-crm-delivery"]
    assert headers["x-crm-event"] == "contact.created"
    attempt = Attempt.objects.get()
    assert attempt.status_code == 200 and Delivery.objects.get().state == Delivery.DELIVERED


def test_fail_then_recover_each_event_once_per_delivery_id(user):
    with Receiver(fail_first=3) as receiver:
        endpoint_for(user, receiver.url, events=("contact.created", "contact.updated", "contact.deleted"))
        contacts = services.records_create_bulk(user=user, entity="contact", rows=[
            {"data": {"last_name": f"N{i}"}} for i in range(3)]).objs
        services.record_update(user=user, obj=contacts[0], data={"position": "CEO"})
        services.record_delete(user=user, obj=contacts[1])
        assert Delivery.objects.count() == 5
        now = timezone.now()
        sent, failed = webhooks.deliver_pending(now=now)
        assert (sent, failed) == (2, 3)
        assert webhooks.deliver_pending(now=now) == (0, 0)  # not due yet: backoff
        later = now + timedelta(minutes=2)
        assert webhooks.deliver_pending(now=later) == (3, 0)
        assert webhooks.deliver_pending(now=later + timedelta(hours=1)) == (0, 0)
    assert len(receiver.accepted) == 5
    assert all(len(copies) == 1 for copies in receiver.accepted.values())
    events = sorted(copies[0]["event"] for copies in receiver.accepted.values())
    assert events == ["contact.created"] * 3 + ["contact.deleted", "contact.updated"]
    updated = next(c[0] for c in receiver.accepted.values() if c[0]["event"] == "contact.updated")
    assert updated["changed_fields"] == ["position"]
    retried = Delivery.objects.filter(attempts=2)
    assert retried.count() == 3 and all(d.state == Delivery.DELIVERED for d in retried)


def test_no_event_for_a_rolled_back_transaction(user, django_capture_on_commit_callbacks):
    endpoint_for(user)
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.record_create(user=user, entity="contact", data={"last_name": "Gone"})
            assert Delivery.objects.count() == 1  # written with the change, in its transaction
            raise RuntimeError
    assert Delivery.objects.count() == 0 and callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        services.record_create(user=user, entity="contact", data={"last_name": "Kept"})
    assert Delivery.objects.count() == 1 and len(callbacks) == 1  # the Celery task is queued after commit


def test_payload_only_what_the_owner_may_read(user, other_user):
    role = Role.objects.get(name="Employee")
    FieldRule.objects.create(role=role, entity="contact", field="comment", mode=FieldRule.HIDDEN)
    admin = make_user("root", superuser=True, department=None)
    endpoint_for(other_user)  # another department: reads none of user's records
    mine = endpoint_for(user)
    services.record_create(user=admin, entity="contact", data={"last_name": "Mine", "comment": "secret",
                                                               "owner": user})
    delivery = Delivery.objects.get()
    assert delivery.endpoint == mine and "comment" not in delivery.payload["data"]
    endpoint_for(admin)
    services.record_create(user=admin, entity="contact", data={"last_name": "Two", "comment": "seen", "owner": user})
    assert Delivery.objects.filter(endpoint__owner=admin).get().payload["data"]["comment"] == "seen"


def test_field_filter_stage_changed_and_bulk_events(user):
    endpoint_for(user, events=("contact.updated",), fields=["position"])
    contact = make_contact(user)
    services.record_update(user=user, obj=contact, data={"comment": "no event"})
    assert Delivery.objects.count() == 0
    services.record_update(user=user, obj=contact, data={"position": "CTO"})
    assert Delivery.objects.count() == 1

    endpoint_for(user, events=("deal.stage_changed",))
    api = api_for(user)
    deal = api.post("/api/v1/deals/", record_data("deal", user)).json()
    from deals.models import Stage

    other_stage = Stage.objects.filter(pipeline_id=deal["pipeline"]).exclude(pk=deal["stage"]).first()
    api.patch(f"/api/v1/deals/{deal['id']}/", {"stage": other_stage.pk})
    moved = Delivery.objects.get(event="deal.stage_changed")
    assert moved.payload["details"] == {"old": deal["stage"], "new": other_stage.pk}

    endpoint_for(user, events=("company.created",))
    api.post("/api/v1/companies/bulk/", {"items": [record_data("company", user) for _ in range(4)]})
    assert Delivery.objects.filter(event="company.created").count() == 4


def test_retries_end_after_a_day_and_a_long_failing_endpoint_is_paused(user, settings):
    from timeline.models import Notification

    endpoint = endpoint_for(user)  # nothing listens on port 9
    services.record_create(user=user, entity="contact", data={"last_name": "Lost"})
    start = timezone.now()
    assert webhooks.deliver_pending(now=start) == (0, 1)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.is_active
    Delivery.objects.update(created_at=start - timedelta(hours=settings.CRM_WEBHOOK_RETRY_HOURS),
                            next_attempt_at=start)
    Endpoint.objects.update(failing_since=start - timedelta(hours=settings.CRM_WEBHOOK_PAUSE_AFTER_HOURS))
    assert webhooks.deliver_pending(now=start + timedelta(seconds=1)) == (0, 1)
    assert Delivery.objects.get().state == Delivery.FAILED
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.paused_at is not None
    assert Notification.objects.filter(user=user, text__contains="paused").exists()
    services.record_create(user=user, entity="contact", data={"last_name": "Not queued"})
    assert Delivery.objects.count() == 1  # a paused endpoint gets nothing new

    webhooks.redeliver(Delivery.objects.all())
    assert Delivery.objects.get().state == Delivery.PENDING


def test_users_register_their_own_endpoints_admins_see_all(user, other_user, admin_client):
    from django.test import Client

    from crm_site.api.models import TokenRight

    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    data = {"name": "Mine", "url": "http://93.184.216.34/hook", "events": ["contact.created", "deal.stage_changed"],
            "is_active": "on", "fields_text": ""}
    assert client.post("/webhooks/", data).status_code == 403  # making webhooks is the API right
    TokenRight.objects.create(role=Role.objects.get(name="Employee"))
    inner = client.post("/webhooks/", data | {"url": "http://127.0.0.1:6379/"})
    assert inner.status_code == 200 and "url" in inner.context["form"].errors  # not into the own network
    made = client.post("/webhooks/", data)
    assert made.status_code == 302
    endpoint = Endpoint.objects.get(owner=user)
    assert endpoint.events == ["contact.created", "deal.stage_changed"]
    services.record_create(user=user, entity="contact", data={"last_name": "Logged"})
    page = client.get(f"/webhooks/{endpoint.pk}/")
    assert page.status_code == 200 and b"contact.created" in page.content and b"Redeliver" not in page.content
    delivery = Delivery.objects.get()
    assert client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 403
    stranger = Client()
    stranger.force_login(other_user)
    assert stranger.get(f"/webhooks/{endpoint.pk}/").status_code == 404
    assert stranger.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert b"Redeliver" in admin_client.get(f"/webhooks/{endpoint.pk}/").content
    Delivery.objects.update(state=Delivery.FAILED)
    assert admin_client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 302
    assert Delivery.objects.get().state == Delivery.PENDING
    assert client.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 302
    assert not Endpoint.objects.exists()


def test_restored_and_merged_events(user):
    endpoint_for(user, events=("contact.restored", "contact.merged", "contact.deleted"))
    api = api_for(user)
    contact = api.post("/api/v1/contacts/", record_data("contact", user)).json()
    api.delete(f"/api/v1/contacts/{contact['id']}/")
    api.post(f"/api/v1/bin/contact/{contact['id']}/restore/")
    assert list(Delivery.objects.order_by("pk").values_list("event", flat=True)) == [
        "contact.deleted", "contact.restored"]
    from crm_site import events

    obj = make_contact(user)
    services.record_update(user=user, obj=obj, data={"position": "Merged"}, event=events.MERGED)
    assert Delivery.objects.filter(event="contact.merged", object_id=obj.pk).count() == 1


def test_endpoints_managed_through_the_api_by_the_sites_rules(user, other_user, admin_user):
    """CRUD of one's own endpoints at /api/v1/webhooks/: the API right to make one, not into the own network,
    another user's endpoint a 404, the token's "webhooks" scope; administrators see every one."""
    from crm_site.api.models import TokenRight

    api = api_for(user)
    data = {"name": "Mine", "url": "http://93.184.216.34/hook", "events": ["contact.created", "deal.stage_changed"]}
    refused = api.post("/api/v1/webhooks/", data)
    assert refused.status_code == 403 and not Endpoint.objects.exists()  # making webhooks is the API right
    TokenRight.objects.create(role=Role.objects.get(name="Employee"))
    inner = api.post("/api/v1/webhooks/", data | {"url": "http://127.0.0.1:6379/"})
    assert inner.status_code == 400 and "url" in inner.json()
    unknown = api.post("/api/v1/webhooks/", data | {"events": ["contact.exploded"]})
    assert unknown.status_code == 400 and "events" in unknown.json()
    assert api.post("/api/v1/webhooks/", data | {"events": "contact.created"}).status_code == 400
    made = api.post("/api/v1/webhooks/", data | {"fields": ["stage"]})
    assert made.status_code == 201, made.content
    body = made.json()
    endpoint = Endpoint.objects.get(owner=user)
    assert body["secret"] == endpoint.secret and body["owner"] == user.pk and body["is_active"] is True
    assert endpoint.events == data["events"] and endpoint.fields == ["stage"]
    assert [row["id"] for row in api.get("/api/v1/webhooks/").json()] == [endpoint.pk]
    Endpoint.objects.filter(pk=endpoint.pk).update(is_active=False, paused_at=timezone.now())
    changed = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"name": "Renamed", "is_active": True})
    assert changed.status_code == 200, changed.content
    endpoint.refresh_from_db()
    assert endpoint.name == "Renamed" and endpoint.is_active and endpoint.paused_at is None
    assert endpoint.url == data["url"] and endpoint.fields == ["stage"]  # what was not given stays
    services.record_create(user=user, entity="contact", data={"last_name": "Logged"})
    log = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")
    assert log.status_code == 200 and [row["event"] for row in log.json()] == ["contact.created"]

    stranger = api_for(other_user)
    assert stranger.get("/api/v1/webhooks/").json() == []
    for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("get", "deliveries/")]:
        args = () if method in ("get", "delete") else ({"name": "Taken"},)
        assert getattr(stranger, method)(f"/api/v1/webhooks/{endpoint.pk}/{path}", *args).status_code == 404
    assert api.get("/api/v1/webhooks/abc/").status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.name == "Renamed"

    contacts_only = api_for(user, scopes={"contact": ["read", "write"]})
    assert contacts_only.get("/api/v1/webhooks/").status_code == 403
    read_only = api_for(user, scopes={"webhooks": ["read"]})
    assert read_only.get("/api/v1/webhooks/").status_code == 200
    assert read_only.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 403

    admin = api_for(admin_user)
    assert [row["id"] for row in admin.get("/api/v1/webhooks/").json()] == [endpoint.pk]
    inner_for_admin = admin.post("/api/v1/webhooks/", data | {"url": "http://127.0.0.1:9/"})
    assert inner_for_admin.status_code == 201  # administrators may point into the own network
    assert api.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 204
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
