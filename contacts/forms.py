from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm_site.forms import CRMObjectForm
from crm_site.widgets import AutocompleteSelect

from .models import Contact


class ContactForm(CRMObjectForm):
    # A new contact's company, picked or created right here, with the position held there (a ContactCompany link).
    company = forms.ModelChoiceField(label=capfirst(_("company")), queryset=None, required=False,
                                     widget=AutocompleteSelect("company"))
    new_company = forms.CharField(label=capfirst(_("or a new company")), max_length=255, required=False,
                                  help_text=_("Type a name to create the company with the contact."))
    company_position = forms.CharField(label=capfirst(_("position at the company")), max_length=150, required=False)

    class Meta:
        model = Contact
        fields = [
            "last_name", "first_name", "middle_name", "honorific", "position", "birthday", "type", "source",
            "tags", "address", "comment", "owner", "opened",
        ]
        widgets = {"birthday": forms.DateInput(), "tags": forms.CheckboxSelectMultiple()}

    COMPANY_FIELDS = ("company", "new_company", "company_position")
    extra_sections = ((_("Company"), COMPANY_FIELDS),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from companies.models import Company

        if self.instance.pk:  # an existing contact's companies are linked on its card
            for name in self.COMPANY_FIELDS:
                self.fields.pop(name, None)
            self.extra_sections = ()
            return
        self.fields["company"].queryset = (Company.objects.visible_to(self.user, "read") if self.user is not None
                                           else Company.objects.all())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("company") and (cleaned.get("new_company") or "").strip():
            self.add_error("new_company", _("Pick a company or type a new one, not both."))
        return cleaned

    def links_input(self, user):
        """The new contact's company link for the write services: the picked company, or one created now (through
        record_create, with the add right on companies)."""
        if "company" not in self.fields:
            return None
        company = self.cleaned_data.get("company")
        name = (self.cleaned_data.get("new_company") or "").strip()
        if company is None and name:
            from crm_site import services

            company = services.record_create(user=user, entity="company", data={"name": name})
        if company is None:
            return None
        return [{"relation": "companies", "target": company,
                 "position": self.cleaned_data.get("company_position") or self.cleaned_data.get("position") or "",
                 "is_primary": True}]
