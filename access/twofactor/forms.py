from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                                      "autocapitalize": "off", "spellcheck": "false"}),
        help_text=_("The 6 digits your authenticator app shows, or one of your recovery codes."),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"), max_length=16, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )
