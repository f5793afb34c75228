"""The role matrix edited as one grid: a level select per entity and action (admin)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm_site.registry import registry

from .models import ANY_ENTITY, Level, Role
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
        fields = ("name", "description", "is_default")

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
