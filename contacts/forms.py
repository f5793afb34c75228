from django import forms
from django.utils.translation import gettext_lazy as _

from crm_site.forms import CRMObjectForm

from .models import Contact


class ContactForm(CRMObjectForm):
    class Meta:
        model = Contact
        fields = [
            "last_name", "first_name", "middle_name", "honorific", "position", "birthday", "type", "source",
            "tags", "address", "comment", "owner", "opened",
        ]
        widgets = {"birthday": forms.DateInput(), "tags": forms.CheckboxSelectMultiple()}

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ("last_name", "first_name", "middle_name")):
            raise forms.ValidationError(_("Enter at least a last name or a first name."))
        return cleaned
