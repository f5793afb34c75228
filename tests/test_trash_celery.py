"""The purge through a real Celery worker on Redis, sent from its beat schedule entry.

Needs REDIS_URL (CI sets it; there a missing REDIS_URL is a failure, locally a skip). The worker runs in a
thread of this process (celery.contrib.testing), so it uses the same test database.
"""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from contacts.models import Contact
from trash.services import records_delete

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Skipped before any database set-up; in CI a missing REDIS_URL fails in the fixture instead.
    pytest.mark.skipif(not settings.REDIS_URL and not IN_CI, reason="needs REDIS_URL (a real Celery worker on Redis)"),
]


def test_purge_runs_through_a_real_worker_from_its_beat_entry(celery_worker_queue, user):
    app, queue = celery_worker_queue
    (entry,) = [e for e in app.conf.beat_schedule.values() if e["task"] == "trash.tasks.purge_expired"]
    expired, recent = (Contact.objects.create(owner=user, last_name=name) for name in ("Старый", "Новый"))
    records_delete(user=user, objs=[expired, recent])
    Contact.all_objects.filter(pk=expired.pk).update(deleted_at=timezone.now() - timedelta(days=31))

    result = app.send_task(entry["task"], args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), queue=queue)
    assert result.get(timeout=60) == {"purged": {"contact": 1}, "batches": 1}
    assert not Contact.all_objects.filter(pk=expired.pk).exists()
    assert Contact.all_objects.filter(pk=recent.pk).exists()
    # Idempotent: the next beat finds nothing more.
    assert app.send_task(entry["task"], queue=queue).get(timeout=60) == {"purged": {}, "batches": 0}
