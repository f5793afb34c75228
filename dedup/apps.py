from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupConfig(AppConfig):
    name = "dedup"
    verbose_name = _("Duplicates")

    def ready(self):
        from crm_site import events, ui

        from . import listeners

        events.listen(listeners.on_event, bulk=listeners.on_events)
        ui.register_nav_item(name="duplicates", label=_("Duplicates"), url_name="dedup_groups", icon="list", order=80)
        ui.register_create_check(name="duplicates", check=listeners.create_check)
        ui.register_card_panel(name="dedup_merges", template="dedup/merges_panel.html", slot="side", order=60,
                               context=listeners.merges_panel_context)
