"""Demo activity for `seed_demo`: notes, calls, emails, meetings and tasks on the demo users' records.

Deterministic for a seed, written in bulk, and capped (the latest records of each entity only), so a
million-contact seed costs seconds here. Tasks are spread around today: some overdue, some due today,
some planned and some done, so "My activities" and the header counters have something to show.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from crm_site import demo
from crm_site.registry import registry

from . import selectors
from .models import Direction, Entry, EntryLink, Kind, TaskState

NOTES = [
    "Клиент просит коммерческое предложение до пятницы.",
    "Обсудили сроки поставки, ждут счёт.",
    "Попросили перезвонить после обеда.",
    "Клієнт погодився на демо наступного тижня.",
    "Цікавляться інтеграцією з 1С.",
    "Asked for a discount on the annual plan.",
]
CALL_RESULTS = ["договорились о встрече", "не дозвонился", "отправить КП", "домовилися про зустріч", "call back"]
MEETING_PLACES = ["офис клиента", "наш офис", "Zoom", "офіс клієнта"]
TASKS = ["Отправить КП", "Перезвонить клиенту", "Подготовить договор", "Надіслати рахунок", "Follow up on the demo"]


@demo.after_seed(order=10)
def seed_timeline(*, users, seed, scale):
    """seed_demo's step once the records are in."""
    return f"{seed_activity(users=list(users.values()), seed=seed)} timeline entries"


def seed_activity(*, users, seed=42, per_entity=150):
    """Entries on the latest `per_entity` records of each entity owned by `users`; returns how many."""
    if Entry.objects.filter(kind__in=[Kind.NOTE, Kind.CALL, Kind.TASK]).exists():
        return 0  # already seeded: seed_demo stays idempotent
    rng = random.Random(f"timeline:{seed}")
    now = timezone.now()
    owners = [user for user in users if not user.is_superuser]
    planned = []  # (entry, records)
    for entity in registry:
        records = list(entity.model.objects.filter(owner__in=owners).order_by("-created_at", "-pk")[:per_entity])
        for record in records:
            for _ in range(rng.randint(1, 3)):
                planned.append((_entry(rng, record, now), [record, *selectors.related_records(record)]))
    with transaction.atomic():
        entries = Entry.objects.bulk_create([entry for entry, _records in planned])
        links, seen = [], set()
        for entry, records in planned:
            for record in records:
                content_type = selectors.content_type_of(type(record))
                if (entry.pk, content_type.pk, record.pk) not in seen:
                    seen.add((entry.pk, content_type.pk, record.pk))
                    links.append(EntryLink(entry=entry, content_type=content_type, object_id=record.pk))
        EntryLink.objects.bulk_create(links, batch_size=2000)
    return len(entries)


def _entry(rng, record, now):
    kind = rng.choice([Kind.NOTE, Kind.CALL, Kind.CALL, Kind.EMAIL, Kind.MEETING, Kind.TASK, Kind.TASK])
    owner = record.owner
    when = now - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
    entry = Entry(kind=kind, author=owner, created_at=when)
    if kind == Kind.NOTE:
        entry.body = rng.choice(NOTES)
    elif kind == Kind.CALL:
        entry.direction = rng.choice([Direction.INCOMING, Direction.OUTGOING])
        phone = record.primary_phone if registry.for_model(type(record)).has_channels else None
        entry.phone = phone.value if phone else ""
        entry.duration = rng.randint(1, 25)
        entry.result = rng.choice(CALL_RESULTS)
    elif kind == Kind.EMAIL:
        entry.direction = rng.choice([Direction.INCOMING, Direction.OUTGOING])
        entry.subject = rng.choice(["Коммерческое предложение", "Счёт на оплату", "Договір", "Meeting notes"])
        entry.body = rng.choice(NOTES)
        entry.email_from = owner.email
    elif kind == Kind.MEETING:
        entry.start = now + timedelta(days=rng.randint(-20, 10), hours=rng.randint(9, 17) - 12)
        entry.end = entry.start + timedelta(hours=1)
        entry.place = rng.choice(MEETING_PLACES)
        entry.body = rng.choice(NOTES)
    else:
        entry.subject = rng.choice(TASKS)
        entry.responsible = owner
        entry.deadline = now + timedelta(hours=rng.randint(-72, 240))
        done = entry.deadline < now and rng.random() < 0.5
        entry.state = TaskState.DONE if done else TaskState.PLANNED
        entry.done_at = entry.deadline if done else None
    return entry
