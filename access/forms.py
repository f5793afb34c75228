"""The role matrix edited as one grid: a level select per entity and action (admin)."""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm_site.registry import registry

from .models import ANY_ENTITY, FieldRule, Level, Role
from .scopes import ACTIONS

# Column headings of the role grid: nouns ("reading", "deleting"), hence their own context.
ACTION_LABELS = {
    "read": pgettext_lazy("access action", "read"),
    "add": pgettext_lazy("access action", "add"),
    "edit": pgettext_lazy("access action", "edit"),
    "delete": pgettext_lazy("access action", "delete"),
    "export": pgettext_lazy("access action", "export"),
    "import": pgettext_lazy("access action", "import"),
}


def cell_name(entity_key, action):
    return f"level__{entity_key}__{action}"


def grid_rows():
    """(row key, label) for every registered entity, then the "*" row for entities added later."""
    rows = [(entity.key, entity.verbose_name_plural) for entity in registry]
    return rows + [(ANY_ENTITY, _("Any other record type"))]


class RoleForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = ("name", "description", "is_default", "require_two_factor")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, _label in grid_rows():
            for action in ACTIONS:
                self.fields[cell_name(key, action)] = forms.TypedChoiceField(
                    choices=Level.choices, coerce=int, initial=self.instance.level(key, action), required=True,
                    label=f"{key} {action}",
                )

    def grid(self):
        """[{label, cells: [bound field per action]}] for the template."""
        return [{"label": label, "cells": [self[cell_name(key, action)] for action in ACTIONS]}
                for key, label in grid_rows()]

    def action_labels(self):
        return [ACTION_LABELS[action] for action in ACTIONS]

    def save(self, commit=True):
        self.instance.matrix = {key: {action: self.cleaned_data[cell_name(key, action)] for action in ACTIONS}
                                for key, _label in grid_rows()}
        return super().save(commit=commit)


class FieldRuleForm(forms.ModelForm):
    """Pick the field from a list grouped by record type ("Contacts › Phones"), so a rule can't name a field
    that doesn't exist; entity and field are stored as before."""

    target = forms.ChoiceField(label=_("field"))

    class Meta:
        model = FieldRule
        fields = ("role", "target", "mode")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        groups = [
            (capfirst(entity.verbose_name_plural),
             [(f"{entity.key}.{name}", capfirst(label)) for name, label in entity.rule_fields()])
            for entity in registry
        ]
        current = f"{self.instance.entity}.{self.instance.field}" if self.instance.pk else ""
        known = {value for _group, options in groups for value, _label in options}
        if current and current not in known:  # a rule saved before its field went away: keep it editable
            groups.append((_("Other"), [(current, current)]))
        self.fields["target"].choices = [("", "---------"), *groups]
        self.initial.setdefault("target", current)

    def clean(self):
        cleaned = super().clean()
        target = cleaned.get("target")
        if target:
            self.instance.entity, _dot, self.instance.field = target.partition(".")
            role_id = cleaned["role"].pk if cleaned.get("role") else self.instance.role_id
            taken = FieldRule.objects.filter(role_id=role_id, entity=self.instance.entity, field=self.instance.field)
            if role_id and taken.exclude(pk=self.instance.pk).exists():
                self.add_error("target", _("This role already has a rule for this field."))
        return cleaned


class FieldRuleFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            target = getattr(form, "cleaned_data", {}).get("target")
            if not target or form.cleaned_data.get("DELETE"):
                continue
            if target in seen:
                form.add_error("target", _("This role already has a rule for this field."))
            seen.add(target)
