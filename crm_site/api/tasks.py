from celery import shared_task


@shared_task(name="api.purge_idempotency", ignore_result=True)
def purge_idempotency():
    from .idempotency import purge_old

    purge_old()
