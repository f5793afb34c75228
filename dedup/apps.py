from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupConfig(AppConfig):
    name = "dedup"
    verbose_name = _("Duplicates")

    def ready(self):
        from crm_site import events, ui

        from . import listeners

        events.listen(listeners.on_event, bulk=listeners.on_events)
        from django.db.models.signals import post_delete, post_save, pre_save

        from crm_site.customfields.models import CustomField
        from crm_site.customfields.signals import values_rewritten

        pre_save.connect(listeners.on_definition_pre_save, sender=CustomField, dispatch_uid="dedup-cf-pre-save")
        post_save.connect(listeners.on_definition_saved, sender=CustomField, dispatch_uid="dedup-cf-save")
        post_delete.connect(listeners.on_definition_deleted, sender=CustomField, dispatch_uid="dedup-cf-delete")
        values_rewritten.connect(listeners.on_values_rewritten, dispatch_uid="dedup-cf-values")
        ui.register_nav_item(name="duplicates", label=_("Duplicates"), url_name="dedup_groups", icon="list", order=80)
        ui.register_create_check(name="duplicates", check=listeners.create_check)
        ui.register_card_panel(name="dedup_merges", template="dedup/merges_panel.html", slot="side", order=60,
                               context=listeners.merges_panel_context)
