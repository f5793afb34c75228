from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupConfig(AppConfig):
    name = "dedup"
    verbose_name = _("Duplicates")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from crm_site import events, ui
        from crm_site.models import Communication

        from . import listeners

        events.listen(listeners.on_event, bulk=listeners.on_events)
        post_save.connect(listeners.on_communication, sender=Communication, dispatch_uid="dedup_comm_save")
        post_delete.connect(listeners.on_communication, sender=Communication, dispatch_uid="dedup_comm_delete")
        ui.register_nav_item(name="duplicates", label=_("Duplicates"), url_name="dedup_groups", icon="list", order=80)
        ui.register_create_check(name="duplicates", check=listeners.create_check)
        ui.register_card_panel(name="dedup_merges", template="dedup/merges_panel.html", slot="side", order=60,
                               context=listeners.merges_panel_context)
