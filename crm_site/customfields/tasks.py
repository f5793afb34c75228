import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_export(job_pk):
    from .export import run
    from .models import ExportJob

    # Claimed by one worker only: a redelivered message or a second worker finds it taken.
    if not ExportJob.objects.filter(pk=job_pk, status=ExportJob.PENDING).update(status=ExportJob.RUNNING):
        return
    job = ExportJob.objects.select_related("user").get(pk=job_pk)
    try:
        run(job)
    except Exception as error:  # the user sees it failed; the log keeps why
        logger.exception("export %s failed", job_pk)
        ExportJob.objects.filter(pk=job_pk).update(status=ExportJob.FAILED, error=str(error)[:2000])
        from django.conf import settings

        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) and getattr(settings, "CRM_EXPORT_RAISE", False):
            raise


@shared_task
def purge_expired_exports():
    from .export import purge_expired

    return purge_expired()


@shared_task
def sync_field_indexes():
    """Build and drop the custom fields' expression indexes to match the definitions (idempotent, one at a time)."""
    from .indexes import sync

    result = sync()
    return {"created": result.created, "dropped": result.dropped, "failed": [name for name, _e in result.failed]}
