from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompaniesConfig(AppConfig):
    name = "companies"
    verbose_name = _("Companies")

    def ready(self):
        from crm_site.registry import Entity, registry

        registry.register(
            Entity(
                key="company",
                model_path="companies.Company",
                url_prefix="companies",
                form_class="companies.forms.CompanyForm",
                list_columns=("name", "type", "industry", "phone", "email", "owner", "created_at"),
                sort_fields={"name": "name", "type": "type__order", "industry": "industry__order",
                             "owner": "owner__username", "created_at": "created_at"},
                search_fields=("name", "legal_name", "tax_id"),
                filter_fields=("name", "type", "industry", "employees", "annual_revenue", "tax_id", "owner", "opened"),
                list_select_related=("owner", "type", "industry"),
                card_sections=(
                    (_("About the company"), ("name", "type", "industry", "employees", "annual_revenue",
                                              "revenue_currency", "website", "address")),
                    (_("Requisites"), ("legal_name", "tax_id", "registration_number", "kpp", "legal_address",
                                       "bank_name", "bank_code", "bank_account")),
                    (_("More"), ("comment", "owner", "department", "opened", "created_at", "created_by",
                                 "updated_at")),
                ),
                texts={"new": _("New company"), "link": _("Link a company"), "empty": _("No companies yet")},
                icon="building",
                duplicate_rule={"criteria": ["company_name", "tax_id", "phone", "email", "domain"],
                                "name_threshold": 90, "match_against": []},
            )
        )
