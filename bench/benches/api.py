"""`api`: the REST API and webhooks (issue 13).

- list: a page of 100 contacts through GET /api/v1/contacts/ (token auth, every request audited) against the
  same page of the browser's list (?per_page=100), p95 over `ctx.repeat * 4` runs each;
- bulk: ROWS contacts upserted by external id through POST /api/v1/contacts/bulk/ in batches of 1,000, against
  one-by-one POSTs (a sample) and against records_create_bulk called directly (the import's write path);
- webhooks: ROWS "contact.created" events delivered to a local receiver (a thread in this process): throughput,
  and each delivery id received exactly once.
Every write happens inside a transaction that is rolled back, so the base stays as the other benches found it."""

import json
import os
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from crm_site import services
from crm_site.api.tokens import KEY_PREFIX, hash_key
from crm_site.services import RecordInput

NAME = "api"
OWN_DATA = True  # ensure_seeded() tops its base up: with --keepdb a rerun must not seed `scale` contacts more
ROWS = 10_000
BATCH = 1_000
ONE_BY_ONE_SAMPLE = 300


def _p95(fn, runs):
    """(p95 wall, median wall, median CPU of this process) in seconds: on a loaded machine the wall time is
    mostly waiting for a core, the CPU time says what the request itself costs here."""
    fn()
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    times.sort()
    return times[max(0, int(round(0.95 * len(times))) - 1)], statistics.median(times), statistics.median(cpu)


def _token(user):
    import secrets

    from crm_site.api.models import ApiToken

    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(16)}"
    ApiToken.objects.create(user=user, name="bench", prefix=prefix, key_hash=hash_key(raw), scopes={"*": ["read", "write"]})
    return raw


def _items(n, offset=0):
    return [{"external_id": f"b-{offset + i}", "last_name": f"Апишный{offset + i}", "first_name": "Пётр",
             "position": "Инженер", "phones": [{"value": f"+7 495 {(offset + i) % 10_000_000:07d}"}],
             "emails": [{"value": f"api{offset + i}@example.com"}]} for i in range(n)]


def run(ctx):
    ctx.ensure_seeded()
    admin = get_user_model().objects.get(username="admin")
    raw = _token(admin)
    api = Client(headers={"authorization": f"Bearer {raw}"})
    browser = Client()
    browser.force_login(admin)
    runs = max(20, ctx.repeat * 4)

    def api_page():
        response = api.get("/api/v1/contacts/", {"page_size": 100})
        assert response.status_code == 200, response.content[:300]

    def browser_page():
        response = browser.get("/contacts/", {"per_page": 100})
        assert response.status_code == 200

    api_p95, api_median, api_cpu = _p95(api_page, runs)
    browser_p95, _browser_median, browser_cpu = _p95(browser_page, runs)
    ctx.emit(NAME, "list_page_100_p95_ms", api_p95 * 1000, unit="ms", baseline="browser list page of 100, p95",
             baseline_value=browser_p95 * 1000, goal="<= 1.5", median_ms=round(api_median * 1000, 1),
             cpu_median_ms=round(api_cpu * 1000, 1), browser_cpu_median_ms=round(browser_cpu * 1000, 1))
    ctx.emit(NAME, "list_page_100_p95_abs_ms", api_p95 * 1000, unit="ms", goal="<= 50", goal_on="value",
             load=round(os.getloadavg()[0], 1))

    rows = min(ROWS, ctx.scale)  # 10,000 from a base of 10,000 contacts up; fewer in a small (smoke) run
    sample = min(ONE_BY_ONE_SAMPLE, rows)
    body = lambda items: json.dumps({"items": items, "mode": "upsert", "key": "external_id", "source": "bench"})  # noqa: E731

    with transaction.atomic():
        start = time.perf_counter()
        for offset in range(0, rows, BATCH):
            response = api.post("/api/v1/contacts/bulk/", body(_items(min(BATCH, rows - offset), offset)),
                                content_type="application/json")
            assert response.status_code == 200 and response.json()["errors"] == 0, response.content[:500]
        bulk_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for offset in range(0, rows, BATCH):  # the same items again: every one an update
            response = api.post("/api/v1/contacts/bulk/", body([dict(item, position="Главный инженер")
                                                                for item in _items(min(BATCH, rows - offset), offset)]),
                                content_type="application/json")
            assert response.json()["updated"] == min(BATCH, rows - offset), response.content[:500]
        update_seconds = time.perf_counter() - start
        transaction.set_rollback(True)

    with transaction.atomic():
        sample = _items(sample, 10_000_000)
        start = time.perf_counter()
        for item in sample:
            item.pop("external_id")
            response = api.post("/api/v1/contacts/", json.dumps(item), content_type="application/json")
            assert response.status_code == 201, response.content[:300]
        one_seconds = time.perf_counter() - start
        one_count = len(sample)
        transaction.set_rollback(True)

    with transaction.atomic():
        inputs = [RecordInput(data={k: item[k] for k in ("last_name", "first_name", "position")},
                              channels={"phone": item["phones"], "email": item["emails"]}) for item in _items(rows)]
        start = time.perf_counter()
        services.records_create_bulk(user=admin, entity="contact", rows=inputs)
        service_seconds = time.perf_counter() - start
        transaction.set_rollback(True)

    bulk_rate, one_rate = rows / bulk_seconds, one_count / one_seconds
    ctx.emit(NAME, "bulk_upsert_create_rows_per_s", bulk_rate, unit="rows/s", baseline="one-by-one POST rows/s",
             baseline_value=one_rate, goal=">= 10", rows=rows)
    ctx.emit(NAME, "bulk_upsert_vs_service_ratio", bulk_rate, unit="rows/s",
             baseline="records_create_bulk directly (the import's write path)", baseline_value=rows / service_seconds,
             goal=">= 0.5")
    ctx.emit(NAME, "bulk_upsert_update_rows_per_s", rows / update_seconds, unit="rows/s",
             note="the same external ids again: every item an update")

    _webhooks(ctx, admin, rows)


def _webhooks(ctx, admin, rows):
    from crm_site.webhooks import services as webhooks
    from crm_site.webhooks.models import Delivery, Endpoint

    received, lock = {}, threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                key = self.headers["X-CRM-Delivery"]
                received[key] = received.get(key, 0) + 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with transaction.atomic():  # rolled back: the base stays as it was (the receiver needs no database)
            endpoint = Endpoint.objects.create(owner=admin, name="bench", events=["contact.created"],
                                               url=f"http://127.0.0.1:{server.server_port}/")
            start = time.perf_counter()
            services.records_create_bulk(user=admin, entity="contact", rows=[
                RecordInput(data={"last_name": f"Вебхук{i}", "first_name": "Ян"}) for i in range(rows)])
            outbox_seconds = time.perf_counter() - start
            queued = Delivery.objects.filter(endpoint=endpoint).count()
            start = time.perf_counter()
            sent, failed = webhooks.deliver_pending()
            seconds = time.perf_counter() - start
            transaction.set_rollback(True)
        ctx.emit(NAME, "webhook_delivery_per_s", sent / seconds, unit="events/s", events=queued, sent=sent,
                 failed=failed, received=len(received), doubled=sum(1 for n in received.values() if n > 1),
                 lost=queued - len(received), outbox_write_s=round(outbox_seconds, 2),
                 note="one worker, sequential HTTP to a local receiver")
    finally:
        server.shutdown()
        server.server_close()
