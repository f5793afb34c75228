import ipaddress
import socket
from urllib.parse import urlsplit

from django import forms
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_site.registry import registry

from .models import Endpoint
from .services import BASE_EVENTS, event_names


def event_label(name):
    """An event as people read it: the domain event kind's own label ("created", "stage changed")."""
    from crm_site import events

    code = {value: key for key, value in BASE_EVENTS.items()}.get(name, name)
    return events.kind(code).label if events.is_kind(code) else name.replace("_", " ")


def event_choices():
    return [(f"{entity.key}.{name}", f"{str(entity.verbose_name_plural).capitalize()}: {event_label(name)}")
            for entity in registry for name in event_names(entity)]


def is_public_host(host):
    """Whether every address `host` resolves to is public (not loopback, private, link-local or reserved)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError, ValueError):
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            return False
    return True


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=gettext_lazy("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(label=gettext_lazy("Events"), widget=forms.CheckboxSelectMultiple,
                                       choices=event_choices)
    fields_text = forms.CharField(label=gettext_lazy("Only when these fields change"), required=False,
                                  help_text=gettext_lazy("Field names, comma-separated (e.g. stage, amount). "
                                                         "Empty: every change."))

    class Meta:
        model = Endpoint
        fields = ["name", "url", "events", "is_active"]

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = event_choices()
        if self.instance.pk:
            self.initial["fields_text"] = ", ".join(self.instance.fields or ())

    def clean_url(self):
        url = self.cleaned_data["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise forms.ValidationError(_("Give an http or https address."))
        if not (self.user is not None and self.user.is_superuser) and not is_public_host(parts.hostname or ""):
            # A user's endpoint may not reach into the company's own network; administrators may.
            raise forms.ValidationError(_("The address must be reachable on the internet."))
        return url

    def clean(self):
        cleaned = super().clean()
        if connection.vendor != "postgresql":  # the payloads are built by PostgreSQL (the API's record data)
            raise forms.ValidationError(_("Webhooks need PostgreSQL: this installation runs on SQLite (the demo)."))
        return cleaned

    def clean_fields_text(self):
        names = [name.strip() for name in self.cleaned_data.get("fields_text", "").split(",") if name.strip()]
        if any(len(name) > 100 for name in names):
            raise forms.ValidationError(_("A field name is too long."))
        return names

    def save(self, commit=True):
        self.instance.fields = self.cleaned_data.get("fields_text", [])
        return super().save(commit=commit)
