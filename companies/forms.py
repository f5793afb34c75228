from crm_site.forms import CRMObjectForm

from .models import Company


class CompanyForm(CRMObjectForm):
    class Meta:
        model = Company
        fields = [
            "name", "type", "industry", "employees", "annual_revenue", "revenue_currency", "website", "address",
            "legal_name", "tax_id", "registration_number", "kpp", "legal_address", "bank_name", "bank_code",
            "bank_account", "comment", "owner", "opened",
        ]
