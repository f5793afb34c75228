from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("Access")

    def ready(self):
        from crm_site import epochs, ui

        from . import checks, signals  # noqa: F401  (system check, audit log receivers)
        from .scopes import EPOCH, watched_tables
        from .services import share_panel_context

        ui.register_card_panel(name="sharing", template="access/share_panel.html", slot="side", order=200,
                               context=share_panel_context)
        # What access.scopes resolves is kept across requests while these tables are unchanged.
        epochs.register(EPOCH, watched_tables)
