from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("Access")

    def ready(self):
        from crm_site import ui

        from . import checks, signals  # noqa: F401  (system check, audit log receivers)
        from .services import share_panel_context

        ui.register_card_panel(name="sharing", template="access/share_panel.html", slot="side", order=200,
                               context=share_panel_context)
