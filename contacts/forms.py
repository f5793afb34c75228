from django import forms

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
