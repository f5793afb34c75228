"""Turning a record's fields into label/value pairs for cards and lists."""

from django.db import models
from django.utils import formats
from django.utils.translation import gettext as _


def field_label(model, name):
    try:
        return model._meta.get_field(name).verbose_name
    except Exception:
        attr = getattr(model, name, None)
        return getattr(attr, "short_description", name.replace("_", " "))


def field_value(obj, name):
    """The value as a person reads it: choices by label, lists joined, empty as ''."""
    try:
        field = obj._meta.get_field(name)
    except Exception:
        field = None
    if field is not None and field.choices:
        return getattr(obj, f"get_{name}_display")()
    if field is not None and field.many_to_many:
        return ", ".join(str(item) for item in getattr(obj, name).all())
    value = getattr(obj, name, "")
    if callable(value):
        value = value()
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field is not None and isinstance(field, models.DecimalField):
        return formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    if isinstance(field, models.ForeignKey) and hasattr(value, "get_full_name"):
        return value.get_full_name() or value.get_username()
    if isinstance(field, (models.DateField, models.DateTimeField)):
        return formats.localize(value)
    return value


def link_target(obj, name):
    """The related record a value links to, when it is a registered entity."""
    value = getattr(obj, name, None)
    if value is not None and hasattr(value, "get_absolute_url") and hasattr(type(value), "entity"):
        return value
    return None
