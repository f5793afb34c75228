"""Turning a record's fields into label/value pairs for cards and lists."""

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _


def field_label(model, name):
    from .customfields import is_custom

    if is_custom(name):
        from .customfields.services import field_label as custom_label

        return custom_label(model.entity().key, name)
    try:
        return model._meta.get_field(name).verbose_name
    except Exception:
        attr = getattr(model, name, None)
        return getattr(attr, "short_description", name.replace("_", " "))


def field_value(obj, name, short=False):
    """The value as a person reads it: choices by label, lists joined, empty as ''.

    `short`: dates in the short format ("23.11.2026 10:35"), for list columns."""
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
    if short and isinstance(field, models.DateTimeField):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if short and isinstance(field, models.DateField):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(field, models.DateTimeField):
        return formats.localize(timezone.localtime(value))  # the user's time zone, not UTC
    if isinstance(field, models.DateField):
        return formats.localize(value)
    return value


def link_target(obj, name):
    """The related record a value links to, when it is a registered entity."""
    value = getattr(obj, name, None)
    if value is not None and hasattr(value, "get_absolute_url") and hasattr(type(value), "entity"):
        return value
    return None


def entity_foreign_keys(model, names):
    """Of `names`, the foreign keys of `model` that point at a registered entity."""
    from .registry import registry

    entity_labels = {entity.model_path for entity in registry}
    keys = []
    for name in names:
        try:
            field = model._meta.get_field(name)
        except Exception:
            continue
        if field.many_to_one and field.related_model._meta.label in entity_labels:
            keys.append(field)
    return keys


def reachable_targets(user, objs, names):
    """{(field name, target pk)} of the entity records that `objs` point at and `user` may open.

    A card or a list must not name or link a record in the bin or outside the user's read scope:
    one query per foreign key, whatever the number of rows.
    """
    objs = list(objs)
    if not objs:
        return set()
    reachable = set()
    for field in entity_foreign_keys(type(objs[0]), names):
        pks = {getattr(obj, field.attname) for obj in objs} - {None}
        if pks:
            visible = field.related_model.objects.visible_to(user, "read").filter(pk__in=pks)
            reachable |= {(field.name, pk) for pk in visible.values_list("pk", flat=True)}
    return reachable


def restricted_value(obj, name, reachable, short=False):
    """The display value and link of a field, hiding an entity target the user may not open."""
    target = link_target(obj, name)
    if target is not None and (name, target.pk) not in reachable:
        return _("hidden record"), ""
    return field_value(obj, name, short=short), target.get_absolute_url() if target else ""


def describe_values(model, rows):
    """[{"field", "old", "new"}] for (field name, old stored value, new stored value) rows of `model`, as the
    timeline and history views show them: choices by label, linked records by name (one query per related
    model, whatever the number of rows), empty as "—"."""
    fields = {name: model._meta.get_field(name) for name, _old, _new in rows}
    wanted = {}
    for name, old, new in rows:
        field = fields[name]
        if field.is_relation and field.related_model is not None:
            wanted.setdefault(field.related_model, set()).update(v for v in (old, new) if v not in (None, ""))
    names = {model_: {obj.pk: str(obj) for obj in model_._base_manager.filter(pk__in=pks)}
             for model_, pks in wanted.items()}

    def show(field, value):
        if value in (None, ""):
            return "—"
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if field.is_relation and field.related_model is not None:
            return names.get(field.related_model, {}).get(value, str(value))
        return str(value)

    return [{"field": name, "old": show(fields[name], old), "new": show(fields[name], new)} for name, old, new in rows]
