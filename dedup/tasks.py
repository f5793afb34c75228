"""Celery tasks: one scan, and the hourly launcher of scheduled scans (idempotent, locked)."""

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

LOCK_KEY = "dedup:scheduled_scans"
LOCK_SECONDS = 55 * 60


@shared_task(name="dedup.tasks.scan")
def scan(run_id):
    from .models import ScanRun
    from .services import duplicates_scan

    claimed = ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.PENDING).update(status=ScanRun.Status.RUNNING)
    if not claimed:  # already taken by another worker, or gone
        return None
    run = ScanRun.objects.get(pk=run_id)
    duplicates_scan(entity_key=run.entity, user=run.started_by, run=run)
    return run.pk


def scan_launch(*, entity_key, user=None):
    """Create a pending run and hand it to a worker (eager without a broker)."""
    from .models import ScanRun

    run = ScanRun.objects.create(entity=entity_key, started_by=user)
    transaction.on_commit(lambda: scan.delay(run.pk))
    return run


@shared_task(name="dedup.tasks.scheduled_scans")
def scheduled_scans():
    """Start the scans that are due. Two beats may call this at once: a cache lock and a row lock guard it."""
    from .models import ScanRun, ScanSchedule

    if not cache.add(LOCK_KEY, "1", LOCK_SECONDS):
        return []
    started = []
    try:
        now = timezone.now()
        with transaction.atomic():
            for schedule in ScanSchedule.objects.select_for_update(skip_locked=True):
                busy = ScanRun.objects.filter(entity=schedule.entity,
                                              status__in=[ScanRun.Status.PENDING, ScanRun.Status.RUNNING]).exists()
                if schedule.is_due(now) and not busy:
                    schedule.last_run_at = now
                    schedule.save(update_fields=["last_run_at"])
                    started.append(scan_launch(entity_key=schedule.entity).pk)
    finally:
        cache.delete(LOCK_KEY)
    return started
from .importing.tasks import import_apply  # noqa: E402,F401 (registered with the worker)
