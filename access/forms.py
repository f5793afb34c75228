"""The role matrix edited as one grid: a level select per entity and action (admin)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_site.registry import registry

from .models import ANY_ENTITY, Level, Role
from .scopes import ACTIONS

ACTION_LABELS = {"read": _("read"), "add": _("add"), "edit": _("edit"), "delete": _("delete"),
                 "export": _("export"), "import": _("import")}


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
