"""`purge`: the recycle bin's purge of expired items, against a plain SQL DELETE of the same rows.

Creates min(scale, 100,000) contacts already expired in the bin, each with a phone, an email and history
rows, then runs the same service as the beat task (batches locked FOR UPDATE SKIP LOCKED). Figures: items
purged a second, and the longest single transaction (what other writers may wait behind).
"""

import time
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

NAME = "purge"
MAX_ITEMS = 100_000
BATCH = 500


def make_expired_contacts(count, owner, marker):
    from contacts.models import Contact
    from crm_site.models import Communication

    deleted_at = timezone.now() - timedelta(days=400)
    content_type = ContentType.objects.get_for_model(Contact)
    created = 0
    while created < count:
        size = min(2000, count - created)
        with transaction.atomic():
            contacts = Contact.all_objects.bulk_create(
                [
                    Contact(owner=owner, last_name=f"{marker}{created + n}", first_name="Пётр",
                            deleted_at=deleted_at, deleted_by=owner)
                    for n in range(size)
                ]
            )
            Contact.history.bulk_history_create(contacts, default_user=owner, default_change_reason="bench")
            comms = []
            for contact in contacts:
                comms.append(Communication(content_type=content_type, object_id=contact.pk, channel="phone",
                                           value=f"+7900{contact.pk:07d}", normalized=f"+7900{contact.pk:07d}"))
                comms.append(Communication(content_type=content_type, object_id=contact.pk, channel="email",
                                           value=f"c{contact.pk}@example.com", normalized=f"c{contact.pk}@example.com"))
            Communication.objects.bulk_create(comms)
        created += size
    return created


def plain_delete(marker):
    """The baseline: DELETE of the same rows (history, phones/emails, contacts) in one statement each."""
    with transaction.atomic(), connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute("SELECT id FROM contacts_contact WHERE last_name LIKE %s", [f"{marker}%"])
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("DELETE FROM contacts_historicalcontact WHERE id = ANY(%s)", [ids])
        cursor.execute(
            "DELETE FROM crm_site_communication WHERE content_type_id = %s AND object_id = ANY(%s)",
            [ContentType.objects.get_by_natural_key("contacts", "contact").pk, ids],
        )
        cursor.execute("DELETE FROM contacts_contact WHERE id = ANY(%s)", [ids])
        return len(ids), time.perf_counter() - start


def run(ctx):
    from django.contrib.auth import get_user_model

    from trash.services import trash_purge_expired

    count = min(ctx.scale, MAX_ITEMS)
    owner = get_user_model().objects.create(username=f"bench-purge-{time.time_ns()}")

    make_expired_contacts(count, owner, "BenchBaseline")
    baseline_rows, baseline_seconds = plain_delete("BenchBaseline")

    make_expired_contacts(count, owner, "BenchPurge")
    start = time.perf_counter()
    report = trash_purge_expired(batch_size=BATCH)
    seconds = time.perf_counter() - start
    purged = report.total
    ctx.emit(
        NAME, "items_per_s", purged / seconds, unit="items/s",
        baseline="plain SQL DELETE of the rows, their phones/emails and history (one transaction, no audit)",
        baseline_value=baseline_rows / baseline_seconds, items=purged, batch_size=BATCH,
        note="each item: audit row, SET_NULL references with history, cascades, history and grants removed",
    )
    ctx.emit(NAME, "longest_transaction_ms", report.longest_transaction_ms, unit="ms", goal="<= 5000",
             goal_on="value", batches=report.batches)
