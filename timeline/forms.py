"""One form per entry kind, built from KIND_FIELDS so every kind shares the same validation path."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .models import KIND_FIELDS, Entry, Kind

# Fields a person must fill in, per kind.
REQUIRED = {
    Kind.NOTE: ("body",),
    Kind.CALL: ("direction",),
    Kind.EMAIL: ("direction", "subject"),
    Kind.MEETING: ("subject", "start"),
    Kind.TASK: ("subject",),
}


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class EntryForm(forms.ModelForm):
    kind = None

    class Meta:
        model = Entry
        fields = ()

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in REQUIRED.get(self.kind, ()):
            self.fields[name].required = True
        for name, field in self.fields.items():
            if isinstance(field, forms.DateTimeField):
                field.widget = DateTimeInput()
                field.input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
            if name in ("body", "participants"):
                field.widget = forms.Textarea(attrs={"rows": 3})
        if "responsible" in self.fields:
            self.fields["responsible"].queryset = get_user_model().objects.filter(is_active=True).order_by(
                "last_name", "first_name", "username")
            self.fields["responsible"].help_text = _("You, when left empty.")
        if "deadline" in self.fields:
            self.fields["deadline"].help_text = _("In 3 working days, when left empty.")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The meeting cannot end before it starts."))
        return cleaned

    def save(self, commit=True):
        self.instance.kind = self.kind
        return super().save(commit=commit)


_forms = {}


def entry_form_class(kind):
    """The form of one user kind (KeyError for system kinds or unknown ones)."""
    kind = Kind(kind)
    if kind not in _forms:
        fields = KIND_FIELDS[kind]
        _forms[kind] = forms.modelform_factory(Entry, form=EntryForm, fields=fields)
        _forms[kind].kind = kind
    return _forms[kind]
