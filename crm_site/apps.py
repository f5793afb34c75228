from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmSiteConfig(AppConfig):
    name = "crm_site"
    verbose_name = _("CRM core")

    def ready(self):
        from . import lookups  # noqa: F401  (registers `field__any`)
