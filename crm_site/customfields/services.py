"""Custom field values inside the write services, and the changes of a definition that touch stored values.

`apply_custom()` is called by crm_site.record_input.apply_data for every write (form, admin, import, API, merge,
bulk action): it cleans the values given, applies the field rules, defaults, "required" (also from a stage or a
status on) and "unique". `describe_changes()` names each changed field for history and the timeline.
`convert_values()` / `remove_values()` rewrite the stored values of every record after a type widening, a code
change or a deletion, in batches, with a history row per record changed.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from . import FIELD_PREFIX, code_of, is_custom
from .registry import definitions

BATCH = 1000


def split_data(data):
    """({code: value} of the custom fields named in `data`, the rest of `data`)."""
    custom, rest = {}, {}
    for name, value in (data or {}).items():
        if name == "custom_fields":
            if not isinstance(value, dict):
                raise ValidationError({"custom_fields": [_("Give the custom fields as {code: value}.")]})
            custom.update({str(code): item for code, item in value.items()})
        elif is_custom(name):
            custom[code_of(name)] = value
        else:
            rest[name] = value
    return custom, rest


def _shown_now(field, obj, values):
    """Does `field` show for `obj` with the custom `values` about to be saved? A field left out of the card and
    the form by its "shown only when" condition is not asked for, on every write path, not only in the form."""
    from .layout import shown

    if not field.show_when_field:
        return True
    current = obj.custom_fields
    obj.custom_fields = values  # the condition may be another custom field, changed by this very write
    try:
        return shown(field, obj)
    finally:
        obj.custom_fields = current


def _required_now(field, obj):
    """Is `field` required for `obj` as it stands: always, or from a stage / status on."""
    if not field.required:
        return False
    if not field.required_from_field:
        return True
    try:
        model_field = type(obj)._meta.get_field(field.required_from_field)
    except Exception:
        return True
    current = getattr(obj, field.required_from_field, None) if getattr(obj, model_field.attname, None) else None
    if current is None:
        return False
    reference = getattr(field, "_required_from_ref", None)
    if reference is None:
        reference = model_field.related_model._base_manager.filter(pk=field.required_from_id).first()
        field._required_from_ref = reference or False
    if not reference:
        return True
    if hasattr(reference, "pipeline_id") and getattr(current, "pipeline_id", None) != reference.pipeline_id:
        return False
    return getattr(current, "order", 0) >= getattr(reference, "order", 0)


def apply_custom(*, obj, given, baseline, modes, user, creating, condition_changed=False, system=None):
    """Set the custom values `given` ({code: value}) on `obj.custom_fields`; returns (changed codes, {name: [msgs]}).

    Hidden fields may not be given, read-only ones may not change; unknown codes are errors. On create the
    defaults fill what is not given. Required fields: checked on create, when given empty, and when the record
    moves to a stage/status from which they are required (`condition_changed`). Unique: no other live record
    of the entity holds the value. `system`: a service's own values ({code: value}), cleaned but past the field
    rules, replacing the whole set; a code without a definition is kept as it is."""
    from access.models import FieldRule

    entity_key = type(obj).entity().key
    fields = {field.code: field for field in definitions(entity_key)}
    stored = dict(baseline.custom_fields or {}) if baseline is not None else {}
    values = dict(obj.custom_fields or {})
    errors, changed = {}, set()
    if system is not None:  # a service's own values replace the record's whole set (a merge, its undo)
        values = {}
        changed |= {code for code in stored if code not in system}
    for code, value in (system or {}).items():
        field = fields.get(code)
        if field is None:
            cleaned = value
        else:
            try:
                cleaned = field.clean_value(value)
            except ValidationError as error:
                errors[field.name] = error.messages
                continue
        if cleaned != stored.get(code):
            changed.add(code)
        if cleaned in (None, "", []):
            values.pop(code, None)
        else:
            values[code] = cleaned
    for code, value in given.items():
        field = fields.get(code)
        name = FIELD_PREFIX + str(code)
        if field is None:
            errors[name] = [_("There is no field “%(name)s” you can set.") % {"name": str(name)[:60]}]
            continue
        if modes.get(name) == FieldRule.HIDDEN:
            errors[name] = [_("You may not change “%(field)s”.") % {"field": field.label}]
            continue
        try:
            cleaned = field.clean_value(value, user=user)
        except ValidationError as error:
            errors[name] = error.messages
            continue
        if cleaned != stored.get(code):
            if modes.get(name) == FieldRule.READ_ONLY:
                errors[name] = [_("You may not change “%(field)s”.") % {"field": field.label}]
                continue
            changed.add(code)
        if cleaned is None:
            values.pop(code, None)
        else:
            values[code] = cleaned
    if creating:
        for code, field in fields.items():
            if code not in given and code not in (system or {}) and field.default not in (None, "", []) \
                    and code not in values:
                values[code] = field.default
                changed.add(code)
    for code, field in fields.items():
        name = field.name
        if name in errors or not field.required or modes.get(name) in (FieldRule.HIDDEN, FieldRule.READ_ONLY):
            continue  # a user who cannot fill it in is not asked to
        if creating or code in given or code in (system or {}) or (condition_changed and field.required_from_field):
            if values.get(code) in (None, "", []) and _required_now(field, obj) and _shown_now(field, obj, values):
                errors[name] = [_("“%(field)s” is required.") % {"field": field.label}]
    for code in changed:
        field = fields.get(code)
        if field is None or not field.unique or values.get(code) in (None, "", []) or field.name in errors:
            continue
        from .types import contains_q

        others = type(obj).objects.filter(contains_q(code, values[code]))
        if obj.pk:
            others = others.exclude(pk=obj.pk)
        from .batch import seen_before

        if seen_before(field, values[code]) or others.exists():
            errors[field.name] = [_("Another record already has this “%(field)s”.") % {"field": field.label}]
    if not errors:
        obj.custom_fields = values
    return changed, errors


def copy_values(source, target_entity_key):
    """{code: value} of `source`'s custom values that a record of `target_entity_key` can hold under the same code
    (lead conversion): values its field would refuse are left out."""
    target = {field.code: field for field in definitions(target_entity_key)}
    out = {}
    for code, value in (source.custom_fields or {}).items():
        field = target.get(code)
        if field is None or value in (None, "", []):
            continue
        try:
            out[code] = field.clean_value(value)
        except ValidationError:
            continue
    return out


def condition_fields(entity_key):
    """The model fields whose change may make a custom field required (a deal's stage, a lead's status)."""
    return {field.required_from_field for field in definitions(entity_key) if field.required and
            field.required_from_field}


def describe_changes(entity_key, old, new):
    """[{"field": "cf_code", "old": text, "new": text}] between two `custom_fields` dicts, as people read them."""
    old, new = old or {}, new or {}
    fields = {field.code: field for field in definitions(entity_key)}
    out = []
    for code in sorted(set(old) | set(new)):
        if old.get(code) == new.get(code):
            continue
        field = fields.get(code)

        def show(value, field=field):
            if value in (None, "", []):
                return "—"
            if field is None:
                return str(value)
            try:
                return field.display(value) or "—"
            except Exception:  # a value stored under an older type
                return str(value)

        out.append({"field": FIELD_PREFIX + code, "old": show(old.get(code)), "new": show(new.get(code))})
    return out


def field_label(entity_key, name):
    from .registry import definition

    field = definition(entity_key, name)
    return field.label if field is not None else code_of(name)


# ---------------------------------------------------------------------------
# Changes of a definition that rewrite stored values


def _rewrite(field_entity, code, rewrite, *, reason, user=None):
    """Apply `rewrite(custom_fields dict) -> dict or None (unchanged)` to every record (the bin too) that holds
    `code`, in batches, each with its history rows. Returns the number of records changed."""
    from crm_site import history
    from crm_site.registry import registry

    model = registry[field_entity].model
    changed_total = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(model.all_objects.filter(custom_fields__has_key=code, pk__gt=last_pk).order_by("pk")
                         .select_for_update()[:BATCH])
            if not batch:
                break
            last_pk = batch[-1].pk
            to_save = []
            for obj in batch:
                new = rewrite(dict(obj.custom_fields or {}))
                if new is not None and new != obj.custom_fields:
                    obj.custom_fields = new
                    to_save.append(obj)
            if to_save:
                model.all_objects.bulk_update(to_save, ["custom_fields"], batch_size=BATCH)
                history.write_history(model, to_save, kind="~", user=user, reason=reason)
                changed_total += len(to_save)
    return changed_total


def convert_values(field, *, old_type, old_code, old_multiple, user=None):
    """After a safe widening (single → multiple, integer → decimal, any → text) or a new code: every stored value
    as the field now keeps it. Values that cannot be converted are kept under the old type's text."""
    from .types import TYPES

    old_kind = TYPES[old_type]
    old_field = type(field)(**{f.attname: getattr(field, f.attname) for f in type(field)._meta.concrete_fields})
    old_field.type, old_field.code, old_field.multiple = old_type, old_code, old_multiple
    old_field._choices_cache = field.all_choices

    def rewrite(values):
        if old_code not in values:
            return None
        value = values.pop(old_code)
        if old_type != field.type:
            value = field.kind.convert_from(field, old_kind, value) if field.type != "text" else \
                field.kind.convert_from(old_field, old_kind, value)
        if field.multiple and not old_multiple and value not in (None, "", []) and not isinstance(value, list):
            value = [value]
        if value not in (None, "", []):
            values[field.code] = value
        return values

    changed = _rewrite(field.entity, old_code, rewrite, reason="custom field changed", user=user)
    _rewritten(field.entity, [old_code, field.code])
    return changed


def remove_values(field, *, user=None):
    """A deleted field: its values leave every record (the history rows keep them)."""

    def rewrite(values):
        values.pop(field.code, None)
        return values

    changed = _rewrite(field.entity, field.code, rewrite, reason="custom field deleted", user=user)
    _rewritten(field.entity, [field.code])
    return changed


def _rewritten(entity_key, codes):
    from .signals import values_rewritten

    values_rewritten.send(sender=_rewrite, entity=entity_key, codes=list(dict.fromkeys(codes)))


def fill_rates(entity_key, codes):
    """{code: number of live records holding a value}, in one query for the entity."""
    from django.db.models import Count, Q

    from crm_site.registry import registry

    if not codes or entity_key not in registry:
        return {}, 0
    model = registry[entity_key].model
    aggregates = {f"c{index}": Count("pk", filter=Q(custom_fields__has_key=code))
                  for index, code in enumerate(codes)}
    aggregates["total"] = Count("pk")
    result = model.objects.aggregate(**aggregates)
    return {code: result[f"c{index}"] for index, code in enumerate(codes)}, result["total"]
