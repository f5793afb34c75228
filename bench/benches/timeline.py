"""`timeline`: a card with 5,000 timeline entries renders its first page with as many queries as one with 50."""

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from ..harness import count_queries, median_seconds

NAME = "timeline"
BIG = 5000
SMALL = 50
KINDS = ("note", "call", "email", "meeting", "task", "changed")


def _company_with_entries(owner, count):
    """A company with `count` entries made by bulk inserts (entries, then their links)."""
    from companies.models import Company
    from timeline.models import Entry, EntryLink
    from timeline.selectors import content_type_of

    company = Company.objects.create(name=f"Timeline bench {count}", owner=owner, created_by=owner)
    now = timezone.now()
    entries = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        entry = Entry(kind=kind, author=owner, created_at=now - timezone.timedelta(minutes=index),
                      subject=f"Subject {index}", body=f"Entry {index} https://example.com/{index}")
        if kind == "task":
            entry.state = "done" if index % 10 else "planned"
            entry.deadline = now + timezone.timedelta(days=index % 7)
            entry.responsible = owner
        if kind == "changed":
            entry.data = {"model": "companies.company", "changes": [{"field": "name", "old": "a", "new": "b"}]}
        entries.append(entry)
    started = time.perf_counter()
    Entry.objects.bulk_create(entries, batch_size=1000)
    content_type = content_type_of(Company)
    EntryLink.objects.bulk_create(
        [EntryLink(entry=entry, content_type=content_type, object_id=company.pk) for entry in entries], batch_size=2000
    )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:  # what autovacuum would do after a bulk load: fresh planner statistics
        cursor.execute("ANALYZE timeline_entry")
        cursor.execute("ANALYZE timeline_entrylink")
    return company, seconds


def run(ctx):
    # Needs no seeded base: its own superuser and two companies, so it runs alone in seconds.
    admin, _ = get_user_model().objects.get_or_create(
        username="timeline-bench", defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(admin)
    small, _ = _company_with_entries(admin, SMALL)
    big, seconds = _company_with_entries(admin, BIG)
    ctx.emit(NAME, "bulk_create_entries_per_s", BIG / seconds, unit="entries/s", note="entries + links, bulk_create")

    def card(company):
        def fetch():
            response = client.get(company.get_absolute_url())
            assert response.status_code == 200, response.status_code

        return fetch

    small_ms = median_seconds(card(small), ctx.repeat) * 1000
    big_ms = median_seconds(card(big), ctx.repeat) * 1000
    ctx.emit(NAME, "card_5000_entries_ms", big_ms, unit="ms", baseline="card with 50 entries",
             baseline_value=small_ms, goal="<= 2")
    big_queries, small_queries = count_queries(card(big)), count_queries(card(small))
    ctx.emit(NAME, "card_5000_entries_queries", big_queries, unit="queries", baseline="card with 50 entries",
             baseline_value=small_queries, goal="<= 1", note="constant: equal query counts")
    related_ms = median_seconds(lambda: client.get(big.get_absolute_url() + "?tl_related=1"), ctx.repeat) * 1000
    ctx.emit(NAME, "card_5000_entries_related_ms", related_ms, unit="ms", baseline="without related records",
             baseline_value=big_ms)
