from celery import shared_task


@shared_task(name="webhooks.deliver_pending", ignore_result=True)
def deliver_pending():
    from . import services

    services.deliver_pending()
