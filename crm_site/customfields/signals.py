"""Hooks: definitions' cache dropped on every change; custom fields offered to the import's column mapping."""

from django.core.exceptions import ValidationError
from django.dispatch import Signal

# Sent after a definition's change rewrote stored values past the write services (convert_values /
# remove_values: bulk updates with history rows, no per-record events): `entity`, `codes` (the old and the new
# code). The duplicate engine rewrites those fields' match keys on it.
values_rewritten = Signal()


def changed(sender, **kwargs):
    from . import registry

    registry.invalidate()


def import_targets(entity):
    """Targets of kind "custom" for dedup.importing (one per importable custom field of `entity`)."""
    from dedup.importing.targets import Target
    from dedup.importing.values import BadValue

    from .registry import importable_fields

    targets = []
    try:
        items = importable_fields(entity.key)
    except RuntimeError:  # no database in this process (pytest's blocked access in a mapping unit test)
        return []
    for item in items:
        def parse(cell, locale=None, _parse=item.parse):
            try:
                return _parse(cell, locale)
            except ValidationError as error:
                raise BadValue("custom", message="; ".join(error.messages)) from None

        targets.append(Target(key=f"custom:{item.code}", label=item.label, kind="custom", name=item.code,
                              multi=item.multiple, parse=parse, labels=(item.code, item.name)))
    return targets


def register_import_targets():
    try:
        from dedup.importing.targets import register_target_provider
    except ImportError:  # the import is not installed
        return
    register_target_provider(import_targets)
