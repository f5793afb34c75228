"""Turning the data a caller gives a write service into field values, checked the way the edit form checks them.

Used for one record and for thousands alike: foreign keys are resolved and checked in one query per field for
the whole batch, and model validation (`full_clean`) runs without its per-row database lookups.

Rules, whoever calls (form, admin, import, API, bulk action):
- only writable fields (editable model fields and plain many-to-many lists); an unknown name is an error;
- the user's field rules (access.fields): a hidden field may not be given, a read-only one may not change;
  `owner` and `opened` are read-only below the "own + department" edit level;
- a link to another record (a deal's company) must point at a record the user may read;
- the owner must be an active user; the department always follows the owner.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from access.fields import PROTECTED_FIELDS
from access.models import FieldRule
from access.scopes import READ

from .validation import has_controls

# Kept by the services themselves: never taken from the caller's data.
SYSTEM_FIELDS = {"id", "department", "created_at", "updated_at", "created_by", "updated_by", "deleted_at",
                 "deleted_by", "custom_fields"}


def writable_fields(model):
    """{name: field} of what a caller may set: editable concrete fields and plain many-to-many lists (tags).
    Links with a model of their own (a contact's companies) are written as links, not data."""
    fields = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in SYSTEM_FIELDS or not field.editable:
            continue
        fields[field.name] = field
    for field in model._meta.many_to_many:
        if field.editable and field.remote_field.through._meta.auto_created:
            fields[field.name] = field
    return fields


def _pk_of(value):
    """A related value as a primary key: a model instance, an int, or a string of digits; None for empty."""
    if value is None or value == "":
        return None
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, bool):
        raise ValidationError(_("Give the id of a record."))
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        return int(value.strip())
    raise ValidationError(_("“%(value)s” is not an id.") % {"value": str(value)[:40]})


def _related_queryset(user, field):
    model = field.related_model
    if model is get_user_model():
        return model._default_manager.filter(is_active=True)
    if hasattr(model, "entity") and hasattr(model.objects, "visible_to"):
        return model.objects.visible_to(user, READ)
    return model._default_manager.all()


class Resolver:
    """The related records a batch names, fetched once per field: {field name: {pk: instance}}."""

    def __init__(self, user, model, datas):
        self.user = user
        self.found = {}
        wanted = {}
        fields = writable_fields(model)
        for data in datas:
            for name, value in (data or {}).items():
                field = fields.get(name)
                if field is None or not field.is_relation:
                    continue
                values = value if field.many_to_many else [value]
                if field.many_to_many and (isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__")):
                    continue  # reported when the row is read
                for item in values:
                    try:
                        pk = _pk_of(item)
                    except ValidationError:
                        continue
                    if pk is not None:
                        wanted.setdefault(name, set()).add(pk)
        for name, pks in wanted.items():
            queryset = _related_queryset(user, fields[name])
            self.found[name] = queryset.in_bulk(sorted(pks))

    def get(self, name, pk):
        return self.found.get(name, {}).get(pk)


def coerce(field, value, resolver):
    """`value` as the field stores it (a related instance, a list of instances, a typed value)."""
    if field.many_to_many:
        if value is None:
            return []
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
            raise ValidationError(_("Give a list."))
        out = []
        for item in value:
            pk = _pk_of(item)
            if pk is None:
                continue
            target = resolver.get(field.name, pk)
            if target is None:
                raise ValidationError(_("There is no choice with the id %(id)s.") % {"id": pk})
            out.append(target)
        return out
    if field.many_to_one:
        pk = _pk_of(value)
        if pk is None:
            return None
        target = resolver.get(field.name, pk)
        if target is None:
            raise ValidationError(_("There is no choice with the id %(id)s you can use.") % {"id": pk})
        return target
    if value is None:
        return None if field.null else ("" if isinstance(field, (models.CharField, models.TextField)) else None)
    if isinstance(field, models.BooleanField) and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("", "0", "false", "no", "off"):
            return False
        if lowered in ("1", "true", "yes", "on"):
            return True
    if isinstance(field, (models.CharField, models.TextField)) and not isinstance(value, str):
        raise ValidationError(_("Give text."))
    if isinstance(value, str) and has_controls(value):
        # NUL can't be stored in PostgreSQL text; other controls hide formulas from spreadsheets (tabs and new
        # lines are text).
        raise ValidationError(_("Remove the control characters (such as NUL) from this text."))
    try:
        return field.to_python(value)
    except (OverflowError, ValueError) as error:
        raise ValidationError(_("“%(value)s” is not a valid value.") % {"value": str(value)[:40]}) from error


def current_value(obj, field, m2m_current):
    if field.many_to_many:
        return m2m_current.get(field.name, set())
    return getattr(obj, field.attname)


def comparable(field, value):
    if field.many_to_many:
        return {item.pk for item in value}
    if field.many_to_one:
        return value.pk if value is not None else None
    return value


def apply_data(*, obj, data, fields, modes, resolver, baseline, m2m_current, system_custom=None):
    """Set `data` on `obj`; returns (changed field names, {m2m name: [instances]}, {field: [messages]}).
    Changing the owner or the opened flag without the level that allows it raises PermissionDenied.

    `baseline` is what a read-only field must stay equal to: the stored record, or a new record's defaults.
    Custom fields (`cf_<code>` names, or a `custom_fields` dict) are checked by crm_site.customfields.services;
    `system_custom` ({code: value}, a service's own values: a merge, a lead conversion) are cleaned too, past the
    field rules."""
    from .customfields.services import apply_custom, condition_fields, split_data

    changed, m2m, errors = set(), {}, {}
    try:
        custom, data = split_data(data)
    except ValidationError as error:
        return changed, m2m, error.message_dict
    for name, value in (data or {}).items():
        field = fields.get(name)
        if field is None:
            errors[name] = [_("There is no field “%(name)s” you can set.") % {"name": str(name)[:60]}]
            continue
        label = field.verbose_name
        if modes.get(name) == FieldRule.HIDDEN:
            errors[name] = [_("You may not change “%(field)s”.") % {"field": label}]
            continue
        try:
            coerced = coerce(field, value, resolver)
        except ValidationError as error:
            errors[name] = error.messages
            continue
        new = comparable(field, coerced)
        if new != comparable_stored(field, baseline, m2m_current):
            if modes.get(name) == FieldRule.READ_ONLY:
                message = _("You may not change “%(field)s”.") % {"field": label}
                if name in PROTECTED_FIELDS:  # reassigning or opening records is a right, not a field rule
                    raise PermissionDenied(message)
                errors[name] = [message]
                continue
            changed.add(name)
        if field.many_to_many:
            m2m[name] = coerced
        else:
            setattr(obj, field.name, coerced)
    creating = obj.pk is None
    conditions = condition_fields(type(obj).entity().key)
    if custom or system_custom or creating or (conditions & changed):
        custom_changed, custom_errors = apply_custom(
            obj=obj, given=custom, baseline=baseline, modes=modes, user=getattr(resolver, "user", None),
            creating=creating, condition_changed=bool(conditions & changed), system=system_custom)
        errors.update(custom_errors)
        if custom_changed and not custom_errors:
            changed.add("custom_fields")
    return changed, m2m, errors


def comparable_stored(field, baseline, m2m_current):
    if field.many_to_many:
        return set(m2m_current.get(field.name, set()))
    return getattr(baseline, field.attname)


def validate(obj, *, skip):
    """Model validation without its per-row queries: {field: [messages]} (`"__all__"` for the record's own rules).

    Relations are checked by the Resolver; a required relation left empty is reported here."""
    errors = {}
    relations = [f for f in type(obj)._meta.concrete_fields if f.is_relation]
    for field in relations:
        if field.name in skip:
            continue
        if getattr(obj, field.attname) is None and not field.null:
            errors.setdefault(field.name, []).append(_("This field is required."))
    has_unique = any(f.unique and not f.primary_key for f in type(obj)._meta.concrete_fields) or bool(
        type(obj)._meta.constraints)
    try:
        obj.full_clean(exclude=[f.name for f in relations] + list(skip), validate_unique=has_unique,
                       validate_constraints=has_unique)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    return errors
