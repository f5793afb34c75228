"""Bulk actions on many rows, in the background (crm_site.lists.services.bulk_apply queues them)."""

from celery import shared_task


@shared_task(name="lists.tasks.run_bulk_job")
def run_bulk_job(job_id):
    from .models import BulkJob
    from .services import run_job

    # Taken by one worker only (a task delivered twice runs once); BulkJob is not an audited model.
    if not BulkJob.objects.filter(pk=job_id, status=BulkJob.Status.QUEUED).update(status=BulkJob.Status.RUNNING):
        return None
    return run_job(BulkJob.objects.select_related("user").get(pk=job_id)).status
