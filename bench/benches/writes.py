"""`writes`: the write services at import / API scale. 10,000 new contacts with two phones and an email each,
written (a) one by one through record_create and (b) through records_create_bulk, against simple-history's
bulk_create_with_history of the same rows (contacts and their phones/emails, no events, no match keys) in the
same run. Each run happens inside a transaction that is rolled back, so the base the other benchmarks measure
stays as it was. (b) writes everything (a) does: validation, history, phones/emails with history, timeline
entries, match keys, the re-check of scope."""

import time

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from contacts.models import Contact
from crm_site import services
from crm_site.models import Communication
from crm_site.services import RecordInput

NAME = "writes"
ROWS = 10_000
ONE_BY_ONE_SAMPLE = 1_000  # record_create one by one: a sample, the figure is rows per second


def _rows(n, offset=0):
    return [
        {"last_name": f"Бенчмарков{offset + i}", "first_name": "Иван", "middle_name": "Петрович",
         "position": "Инженер", "phones": [f"+7 495 {(offset + i) % 10_000_000:07d}",
                                            f"8 (903) {(offset + i) % 10_000_000:07d}"],
         "email": f"bench{offset + i}@example.com"}
        for i in range(n)
    ]


def _input(row):
    return RecordInput(
        data={name: row[name] for name in ("last_name", "first_name", "middle_name", "position")},
        channels={"phone": [{"value": row["phones"][0], "kind": "work"}, {"value": row["phones"][1], "kind": "mobile"}],
                  "email": [row["email"]]},
    )


def _timed_and_rolled_back(fn):
    with transaction.atomic():
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    return seconds


def _baseline(rows, owner):
    """bulk_create_with_history of the contacts, then of their phones and emails (normalised as the app does)."""
    content_type = ContentType.objects.get_for_model(Contact)
    contacts = [Contact(owner=owner, created_by=owner, updated_by=owner,
                        **{k: row[k] for k in ("last_name", "first_name", "middle_name", "position")}) for row in rows]
    contacts = bulk_create_with_history(contacts, Contact, batch_size=1000, default_user=owner)
    comms = []
    for contact, row in zip(contacts, rows, strict=True):
        for position, (channel, value) in enumerate([("phone", row["phones"][0]), ("phone", row["phones"][1]),
                                                     ("email", row["email"])]):
            comms.append(Communication(content_type=content_type, object_id=contact.pk, channel=channel,
                                       value=value, normalized=Communication.normalize_value(channel, value),
                                       is_primary=position != 1, position=position))
    bulk_create_with_history(comms, Communication, batch_size=1000, default_user=owner)


def run(ctx):
    ctx.ensure_seeded()
    owner = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    count = min(ROWS, ctx.scale * 2)  # 10,000 from the default scale up; fewer in the suite's smoke run
    sample_count = min(ONE_BY_ONE_SAMPLE, max(count // 10, 10))
    rows = _rows(count)
    baseline = _timed_and_rolled_back(lambda: _baseline(rows, owner))
    base_rate = count / baseline
    ctx.emit(NAME, "bulk_create_with_history_rows_per_s", base_rate, unit="rows/s",
             note="contacts and their two phones and email, history rows only: no events, keys or checks")

    inputs = [_input(row) for row in _rows(count, offset=count)]
    bulk = _timed_and_rolled_back(lambda: services.records_create_bulk(user=owner, entity="contact", rows=inputs))
    ctx.emit(NAME, "records_create_bulk_rows_per_s", count / bulk, unit="rows/s",
             baseline="bulk_create_with_history of the same rows", baseline_value=base_rate, goal=">= 0.5",
             note="validation, history, phones/emails with history, timeline entries, match keys, re-check")

    sample = [_input(row) for row in _rows(sample_count, offset=2 * count)]

    def one_by_one():
        for item in sample:
            services.record_create(user=owner, entity="contact", data=item.data, channels=item.channels)

    single = _timed_and_rolled_back(one_by_one)
    ctx.emit(NAME, "record_create_rows_per_s", sample_count / single, unit="rows/s",
             baseline="records_create_bulk", baseline_value=count / bulk,
             note=f"one record_create per contact ({sample_count:,} contacts)")
