"""Periodic purge of the recycle bin (crm_site/celery.py beat_schedule["trash-purge-expired"]).

Its lock is the rows' own: each batch takes them FOR UPDATE SKIP LOCKED, so two beats or two workers
running it at once split the work and never purge an item twice.
"""

from celery import shared_task


@shared_task(name="trash.tasks.purge_expired")
def purge_expired(batch_size=500):
    from .services import trash_purge_expired

    report = trash_purge_expired(batch_size=batch_size)
    return {"purged": report.purged, "batches": report.batches}
