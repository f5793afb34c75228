from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads")

    def ready(self):
        from crm_site import events
        from crm_site.registry import Action, Entity, registry

        from . import services

        events.register_kind(services.STATUS_CHANGED, _("status changed"), field="status")
        events.register_kind(services.CONVERTED, _("converted"), text=_("Lead converted into:"), shown_on_related=True)

        registry.register(
            Entity(
                key="lead",
                model_path="leads.Lead",
                url_prefix="leads",
                form_class="leads.forms.LeadForm",
                list_columns=("title", "full_name", "company_name", "phone", "status", "expected_amount", "owner",
                              "created_at"),
                sort_fields={"title": "title", "full_name": "last_name", "company_name": "company_name",
                             "status": "status__order", "score": "score", "expected_amount": "expected_amount",
                             "owner": "owner__username", "created_at": "created_at"},
                search_fields=("title", "last_name", "first_name", "middle_name", "company_name"),
                filter_fields=("status", "source", "company_name", "score", "expected_amount", "owner", "opened"),
                extra_filters="crm_site.reports.filters.lead_filters",
                list_select_related=("owner", "status", "currency"),
                card_sections=(
                    (_("Lead"), ("title", "status", "score", "source", "expected_amount", "currency")),
                    (_("Person and company"), ("last_name", "first_name", "middle_name", "position",
                                               "company_name")),
                    (_("Conversion"), ("converted_contact", "converted_company", "converted_at",
                                       "converted_by")),
                    (_("More"), ("comment", "owner", "department", "opened", "created_at", "created_by",
                                 "updated_at")),
                ),
                extra_urls="leads.urls",
                extra_actions=(Action(_("Convert"), "lead_convert", visible=lambda lead: not lead.is_converted),),
                badges=lambda lead: [(_("Converted"), "success")] if lead.is_converted else [],
                new_defaults="leads.selectors.new_lead_defaults",
                tracked_fields={"status": services.STATUS_CHANGED},
                texts={"new": _("New lead"), "link": _("Link a lead"), "empty": _("No leads yet")},
                icon="target",
                duplicate_rule={"criteria": ["phone", "email", "name"], "name_threshold": 90,
                                "match_against": ["contact", "company"]},
            )
        )
