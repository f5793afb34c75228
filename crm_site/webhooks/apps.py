from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Outbound events: endpoints, an outbox written in the change's own transaction, signed deliveries by Celery."""

    name = "crm_site.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from crm_site import events

        from . import services

        events.listen(services.on_event, bulk=services.on_events)
