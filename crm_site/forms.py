"""Shared form pieces: the base entity form and the phone/email/messenger/link formsets."""

import copy

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.forms import BaseGenericInlineFormSet, generic_inlineformset_factory
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from . import history
from .channels import CHANNEL_LABELS, clean_channel_value
from .models import Communication
from .record_input import writable_fields
from .validation import guard_id_fields


class CRMObjectForm(forms.ModelForm):
    """Base of every entity's form: the responsible user and the opened flag, and the version of the record the
    form was loaded from (a save over someone else's newer change is refused, see crm_site.history)."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
    extra_sections = ()  # ((title, (field names…)), …): form-only fields shown after the first card section

    @property
    def extra_field_names(self):
        return [name for _title, names in self.extra_sections for name in names]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["version"].initial = history.version(self.instance) if self.instance.pk else None
        if "owner" in self.fields:
            self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
            self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username
            # A new instance's model_to_dict() already put owner=None into self.initial, so setdefault() won't do.
            if not self.instance.pk and user is not None and not self.initial.get("owner"):
                self.initial["owner"] = user.pk
        for field in self.fields.values():
            # No "---------" placeholders: an empty choice reads "not chosen".
            if isinstance(field, forms.ModelChoiceField) and not isinstance(field, forms.ModelMultipleChoiceField):
                if field.empty_label is not None:
                    field.empty_label = _("not chosen")
            elif isinstance(field, forms.ChoiceField) and not isinstance(field, forms.MultipleChoiceField):
                field.choices = [(value, _("not chosen") if value == "" and str(label).strip("-") == "" else label)
                                 for value, label in field.choices]
            if isinstance(field.widget, forms.DateInput):
                field.widget.input_type = "date"
                field.widget.format = "%Y-%m-%d"
        self.add_custom_fields()
        self.apply_field_rules()
        guard_id_fields(self)

    def add_custom_fields(self):
        """One form field per custom field of the entity (`cf_<code>`), its value from the record's JSON column."""
        from .customfields.registry import definitions

        stored = self.instance.custom_fields or {}
        for definition in definitions(self._meta.model.entity().key):
            field = definition.form_field(user=self.user)
            value = stored.get(definition.code)
            if definition.type == "file":
                field.initial = StoredFile(definition, self.instance, value) if value else None
            elif value is not None:
                field.initial = definition.kind.initial(definition, value)
            elif not self.instance.pk and definition.default not in (None, "", []):
                field.initial = definition.kind.initial(definition, definition.default)
            if definition.show_when_field:
                field.widget.attrs["data-show-when"] = definition.show_when_field
                field.widget.attrs["data-show-values"] = ",".join(str(v) for v in definition.show_when_values or [])
            self.fields[definition.name] = field

    def apply_field_rules(self):
        """Hidden fields leave the form, read-only ones are disabled; a POST changing either is refused."""
        from access.fields import field_modes

        self.restricted = {}
        if self.user is None:
            return
        for name, mode in field_modes(self.user, self._meta.model.entity().key).items():
            if name in self.fields:
                self.restricted[name] = self.fields[name]
                if mode == "hidden":
                    del self.fields[name]
                else:
                    self.fields[name].disabled = True
                    self.fields[name].display_value = self._display_value(name)

    def _display_value(self, name):
        """A read-only field's value as text (shown instead of a locked input)."""
        from .display import field_value

        if not self.instance.pk and name == "owner" and self.user is not None:
            return self.user.get_full_name() or self.user.get_username()
        if not self.instance.pk:
            return ""
        return field_value(self.instance, name)

    def _update_errors(self, errors):
        """Model validation may name a field this form doesn't show (hidden by a field rule): say it on top."""
        if hasattr(errors, "error_dict"):
            moved = {}
            for name, messages in errors.error_dict.items():
                moved.setdefault(name if name in self.fields else NON_FIELD_ERRORS, []).extend(messages)
            errors = ValidationError(moved)
        super()._update_errors(errors)

    def input_data(self):
        """{field: value} the write services take from this valid form: the fields the user could change."""
        from .customfields import is_custom

        names = writable_fields(self._meta.model)
        data = {name: self.cleaned_data[name] for name, field in self.fields.items()
                if name in names and not field.disabled and name in self.cleaned_data}
        for name, field in self.fields.items():
            if not is_custom(name) or field.disabled or name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            if isinstance(value, StoredFile) or (value is None and field.custom_field.type == "file"):
                continue  # no new upload: the stored file stays
            data[name] = None if value is False else value
        return data

    def show_errors(self, error):
        """A service's ValidationError on this form: per field where the form has the field, on top otherwise."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)

    def clean(self):
        cleaned = super().clean()
        for name, field in getattr(self, "restricted", {}).items():
            key = self.add_prefix(name)
            if key not in self.data:
                continue
            submitted = field.widget.value_from_datadict(self.data, self.files, key)
            probe = copy.copy(field)
            probe.disabled = False  # a disabled field never reports a change
            if probe.has_changed(self.get_initial_for_field(field, name), submitted):
                self.add_error(None, _("You may not change “%(field)s”.") % {"field": field.label})
        return cleaned


class StoredFile:
    """A custom file field's stored value, as Django's ClearableFileInput shows it (name, link, "clear")."""

    def __init__(self, definition, record, value):
        from django.urls import reverse

        self.value = value
        self.name = value.get("filename") or value.get("name", "")
        self.url = reverse("customfield_file", args=[definition.pk, record.pk]) if record.pk else ""

    def __str__(self):
        return self.name

    def __bool__(self):
        return bool(self.value)


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Communication
        fields = ("kind", "value", "is_primary")

    def __init__(self, *args, channel, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        kinds = Communication.KINDS_BY_CHANNEL[channel]
        self.fields["kind"].choices = [(k.value, k.label) for k in kinds]
        self.fields["kind"].initial = kinds[0].value
        self.fields["value"].required = False
        self.fields["value"].widget.attrs.update(_channel_input_attrs(channel))

    def clean_value(self):
        return clean_channel_value(self.channel, self.cleaned_data.get("value"))

    def has_changed(self):
        # A new row without a value is an unused blank row, whatever its kind says.
        if not self.instance.pk:
            return bool((self.data.get(self.add_prefix("value")) or "").strip())
        return super().has_changed()


def _channel_input_attrs(channel):
    if channel == Communication.Channel.PHONE:
        return {"type": "tel", "placeholder": "+7 495 123-45-67", "autocomplete": "tel"}
    if channel == Communication.Channel.EMAIL:
        return {"type": "email", "placeholder": "name@example.com", "autocomplete": "email"}
    if channel == Communication.Channel.WEB:
        return {"placeholder": "https://"}
    return {"placeholder": "@username"}


class BaseChannelFormSet(BaseGenericInlineFormSet):
    """The values of one channel. `read_only` (a field rule on the channel): shown as text, never saved,
    and a POST that tries to change them anyway is refused."""

    channel = None

    def __init__(self, *args, read_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.queryset = self.queryset.filter(channel=self.channel)
        self.read_only = read_only
        if read_only:
            self.extra = 0
            self.can_delete = False

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["channel"] = self.channel
        return kwargs

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            channel=self.channel,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form

    def clean(self):
        super().clean()
        if self.read_only:
            self.refuse_changes()
            return
        seen = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            value = form.cleaned_data.get("value")
            if not value:
                continue
            key = Communication.normalize_value(self.channel, value)
            if key in seen:
                form.add_error("value", _("This value is already in the list."))
            seen.add(key)

    def refuse_changes(self):
        probe = type(self)(data=self.data, instance=self.instance, prefix=self.prefix)
        if probe.has_changed():  # an edited, added or deleted value
            raise forms.ValidationError(_("You may not change “%(field)s”.") % {"field": self.label})

    def save(self, commit=True):
        return [] if self.read_only else super().save(commit=commit)

    def wanted(self):
        """The channel's values as the write services take them (crm_site.channels), in the form's order.

        Like a model formset's own save: an initial row whose id is not one of this record's is dropped, and a
        stored value the POST did not mention stays as it is."""
        items, seen = [], set()
        for index, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None) or {}
            initial = index < self.initial_form_count()
            if initial and form.instance.pk is None:
                continue  # a forged or vanished id
            if initial:
                seen.add(form.instance.pk)
            if not data or data.get("DELETE") or not (data.get("value") or "").strip():
                continue
            items.append({"id": form.instance.pk, "value": data["value"], "kind": data.get("kind"),
                          "is_primary": bool(data.get("is_primary"))})
        for comm in self.get_queryset():
            if comm.pk not in seen:
                items.append({"id": comm.pk, "value": comm.value, "kind": comm.kind, "is_primary": comm.is_primary})
        return items

    def save_new(self, form, commit=True):
        form.instance.channel = self.channel
        return super().save_new(form, commit=commit)

    def _should_delete_form(self, form):
        # Clearing an existing value deletes it rather than saving it empty.
        if form.instance.pk and not (form.cleaned_data.get("value") or "").strip():
            return True
        return super()._should_delete_form(form)


def channels_input(formsets):
    """{channel: [values]} of the editable channel formsets of a valid form (read-only ones are left out)."""
    return {str(fs.channel.value): fs.wanted() for fs in formsets if fs.is_bound and not fs.read_only}


def channel_formsets(instance, data=None, *, hidden=(), read_only=()):
    """One formset per channel the user may see, each bound to `instance`'s values of that channel.

    A read-only channel is rendered without inputs, so a normal POST doesn't carry it and it stays unbound;
    a POST that carries it anyway is checked, and refused if it changes anything."""
    formsets = []
    for channel in Communication.Channel:
        if channel in hidden:
            continue
        locked = channel in read_only
        prefix = f"ch-{channel.value}"
        bound = data if data is not None and (not locked or f"{prefix}-TOTAL_FORMS" in data) else None
        base = type(f"{channel.value.title()}FormSet", (BaseChannelFormSet,), {"channel": channel})
        formset_class = generic_inlineformset_factory(
            Communication, form=ChannelForm, formset=base, fields=("kind", "value", "is_primary"),
            extra=1, can_delete=True,
        )
        formset_class.label = CHANNEL_LABELS[channel]
        formset = formset_class(data=bound, instance=instance, prefix=prefix, read_only=locked)
        formsets.append(formset)
    return formsets
