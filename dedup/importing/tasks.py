"""The apply as a Celery task (eager without a broker): progress is the rows marked applied; a cancel stops at
the next chunk boundary; a redelivered or resumed task applies only the rows not applied yet."""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction


@shared_task(name="dedup.import_apply", acks_late=True)
def import_apply(batch_id, user_id, chunk=None):
    from .pipeline import CHUNK, batch_apply

    user = get_user_model().objects.filter(pk=user_id).first()
    batch = batch_apply(batch_id, user=user, chunk=chunk or CHUNK)
    return batch.status


@shared_task(name="dedup.import_prepare", acks_late=True)
def import_prepare(batch_id, user_id):
    """The preview of a big file, off the request: the batch page polls until it is READY (or FAILED)."""
    from .errors import ImportFileError
    from .models import ImportBatch
    from .pipeline import batch_prepare

    batch = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PREPARING).first()
    if batch is None:
        return None
    try:
        batch_prepare(batch, user=get_user_model().objects.get(pk=user_id))
    except ImportFileError:
        pass  # the batch is FAILED with the reason
    return batch.pk


def prepare_launch(batch, *, user):
    from .models import ImportBatch

    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.PREPARING)
    transaction.on_commit(lambda: import_prepare.delay(batch.pk, user.pk))
    return batch


def import_launch(batch, *, user):
    """Hand the batch to a worker after the current transaction commits."""
    transaction.on_commit(lambda: import_apply.delay(batch.pk, user.pk))
    return batch
