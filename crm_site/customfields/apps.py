from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomFieldsConfig(AppConfig):
    name = "crm_site.customfields"
    label = "customfields"
    verbose_name = _("Custom fields")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_migrate, post_save

        from . import indexes, registry, signals
        from .models import CustomField, CustomFieldChoice

        for model in (CustomField, CustomFieldChoice):
            post_save.connect(signals.changed, sender=model, dispatch_uid=f"cf-{model.__name__}-save")
            post_delete.connect(signals.changed, sender=model, dispatch_uid=f"cf-{model.__name__}-delete")
        signals.register_import_targets()
        from . import lists_bridge

        lists_bridge.register()
        post_migrate.connect(indexes.sync_after_migrate, sender=self, dispatch_uid="customfields_indexes")
        del registry
