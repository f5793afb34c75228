from django import forms
from django.utils.translation import gettext_lazy as _

from crm_site.forms import CRMObjectForm
from crm_site.widgets import AutocompleteSelect

from .models import Lead, LeadStatus


class LeadForm(CRMObjectForm):
    class Meta:
        model = Lead
        fields = [
            "title", "last_name", "first_name", "middle_name", "position", "company_name", "status", "source",
            "score", "expected_amount", "currency", "comment", "owner", "opened",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].queryset = LeadStatus.objects.filter(is_active=True)
        if not self.instance.pk and not self.initial.get("status"):
            self.initial["status"] = LeadStatus.objects.filter(is_active=True).order_by("order", "pk").first()


class LeadConvertForm(forms.Form):
    create_contact = forms.BooleanField(label=_("Create a contact from the lead"), required=False)
    contact = forms.ModelChoiceField(
        label=_("…or link an existing contact"), queryset=None, required=False,
        widget=AutocompleteSelect("contact"),
    )
    create_company = forms.BooleanField(label=_("Create a company from the lead"), required=False)
    company = forms.ModelChoiceField(
        label=_("…or link an existing company"), queryset=None, required=False,
        widget=AutocompleteSelect("company"),
    )
    create_deal = forms.BooleanField(label=_("Create a deal"), required=False)
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=None, required=False)
    deal_title = forms.CharField(label=_("Deal title"), max_length=255, required=False)

    def __init__(self, *args, user, lead, **kwargs):
        super().__init__(*args, **kwargs)
        from companies.models import Company
        from contacts.models import Contact
        from deals.models import Pipeline

        self.fields["contact"].queryset = Contact.objects.visible_to(user, "read")
        self.fields["company"].queryset = Company.objects.visible_to(user, "read")
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
        if not self.is_bound:
            self.initial.update(
                {
                    "create_contact": bool(lead.last_name or lead.first_name),
                    "create_company": bool(lead.company_name),
                    "create_deal": True,
                    "deal_title": lead.title,
                    "pipeline": Pipeline.objects.filter(is_active=True).order_by("-is_default", "order").first(),
                }
            )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("create_contact") and cleaned.get("contact"):
            self.add_error("contact", _("Either create a new contact or choose an existing one, not both."))
        if cleaned.get("create_company") and cleaned.get("company"):
            self.add_error("company", _("Either create a new company or choose an existing one, not both."))
        if not any(cleaned.get(k) for k in ("create_contact", "contact", "create_company", "company", "create_deal")):
            raise forms.ValidationError(_("Choose at least one thing to convert the lead into."))
        return cleaned
