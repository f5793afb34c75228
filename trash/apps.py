from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrashConfig(AppConfig):
    name = "trash"
    verbose_name = _("Recycle bin")

    def ready(self):
        from crm_site import ui

        ui.register_nav_item(name="trash", label=_("Recycle bin"), url_name="trash_list", icon="trash", order=90,
                             visible=lambda user: user.is_authenticated)
