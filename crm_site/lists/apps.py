from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ListsConfig(AppConfig):
    name = "crm_site.lists"
    label = "lists"
    verbose_name = _("Lists and segments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from crm_site import epochs

        from . import api_bridge, indexes, related_names
        from .selectors import EPOCH, watched_tables

        api_bridge.register()
        epochs.register(EPOCH, watched_tables)  # the list settings and segments kept across requests

        post_migrate.connect(indexes.ensure_indexes, sender=self, dispatch_uid="lists_ensure_indexes")
        post_migrate.connect(related_names.ensure_copies, sender=self, dispatch_uid="lists_related_names")
