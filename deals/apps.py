from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = _("Deals")

    def ready(self):
        from crm_site import events, ui
        from crm_site.registry import Action, Entity, Relation, registry

        from . import services

        events.register_kind(services.STAGE_CHANGED, _("stage changed"), field="stage")
        ui.register_nav_item(name="deal_board", label=_("Deal board"), url_name="deal_board", icon="board", order=5,
                             visible=lambda user: user.is_authenticated)

        registry.register(
            Entity(
                key="deal",
                model_path="deals.Deal",
                url_prefix="deals",
                form_class="deals.forms.DealForm",
                list_columns=("title", "company", "stage", "amount", "currency", "expected_close_date", "owner",
                              "created_at"),
                sort_fields={"title": "title", "company": "company__name", "stage": "stage__order",
                             "amount": "amount", "expected_close_date": "expected_close_date",
                             "owner": "owner__username", "created_at": "created_at"},
                search_fields=("title", "company__name"),
                filter_fields=("pipeline", "stage", "company", "amount", "currency", "expected_close_date", "lost_reason",
                               "owner", "opened"),
                extra_filters="crm_site.reports.filters.deal_filters",
                list_select_related=("owner", "company", "stage", "currency"),
                card_sections=(
                    (_("Deal"), ("title", "pipeline", "stage", "amount", "currency", "expected_close_date",
                                  "lost_reason")),
                    (_("Client"), ("company", "source_lead")),
                    (_("More"), ("comment", "owner", "department", "opened", "created_at", "created_by",
                                 "updated_at")),
                ),
                relations=(
                    Relation(name="contacts", label=_("Contacts"), through="deals.DealContact",
                             from_field="deal", to_field="contact", extra_fields=("role",)),
                ),
                listed_on=(("company", _("Deals")), ("contacts", _("Deals")), ("source_lead", _("Deals from this lead"))),
                brief_fields=("stage", "amount", "currency"),
                extra_urls="deals.urls",
                list_actions=(Action(_("Board"), "deal_board", icon="board"),),
                after_save="deals.services.deal_after_save",
                new_defaults="deals.selectors.new_deal_defaults",
                tracked_fields={"stage": services.STAGE_CHANGED},
                has_channels=False,
                texts={"new": _("New deal"), "link": _("Link a deal"), "empty": _("No deals yet")},
                icon="briefcase",
            )
        )
