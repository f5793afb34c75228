from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from crm_site.registry import registry


class BinFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    type = forms.ChoiceField(label=_("Type"), required=False)
    deleted_by = forms.ModelChoiceField(label=_("Deleted by"), required=False, queryset=get_user_model().objects.none())
    since = forms.DateField(label=_("Deleted from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Deleted until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", _("All types"))] + [
            (entity.key, str(entity.verbose_name_plural).capitalize()) for entity in registry
        ]
        self.fields["deleted_by"].queryset = get_user_model().objects.order_by("last_name", "first_name", "username")
        self.fields["deleted_by"].label_from_instance = lambda user: user.get_full_name() or user.get_username()

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data
