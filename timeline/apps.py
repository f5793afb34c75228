from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TimelineConfig(AppConfig):
    name = "timeline"
    verbose_name = _("Timeline")

    def ready(self):
        from django.db.models.signals import post_migrate

        from crm_site import events, ui

        from . import link_copies, services, views

        # Database objects, like the permissions Django creates after migrate: the triggers keeping the links'
        # copies of their records, for every registered entity (timeline.link_copies).
        post_migrate.connect(link_copies.install_for_registry, sender=self, dispatch_uid="timeline_link_copies")

        events.listen(services.on_event, bulk=services.on_events)
        ui.register_card_panel(name="timeline", template="timeline/panel.html", slot="side", order=10,
                               context=views.card_panel_context)
        ui.register_nav_item(name="activities", label=_("My activities"), url_name="timeline_activities",
                             icon="clock", order=10, visible=lambda user: user.is_authenticated)
        ui.register_header_item(name="activities", template="timeline/header.html", order=10,
                                context=views.header_context)
