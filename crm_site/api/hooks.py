"""Points where other parts plug into the API without editing it.

- `custom_fields_reader(user, entity, hidden)` / `custom_fields_out(user, entity, obj, hidden)`: the record's custom
  field values as the API shows them: the JSON column's values of the definitions the user may see (without
  crm_site.customfields, the column minus the keys the field rules hide). Swap with `set_custom_fields_out`.
- `custom_fields_in(value)`: what a client sends as `custom_fields` becomes the write services' data
  (`{"custom_fields": {...}}`; the services clean each value by its definition).
- `segment_queryset(user, entity, segment_id, queryset)`: `?segment=<id>` narrows a list to a saved segment
  (crm_site.lists, branch cf-lists); until one is registered, a segment id answers 400.
- `duplicate_matcher(entity_key, rows)`: see crm_site.api.bulk.match_duplicates (the import's engine).
"""

from importlib import import_module

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_NOT_LOADED = object()
_definitions = _NOT_LOADED


def _definitions_module():
    """crm_site.customfields once its definitions exist, else None (looked up once per process)."""
    global _definitions
    if _definitions is _NOT_LOADED:
        _definitions = _find_definitions()
    return _definitions


def _find_definitions():
    try:
        module = import_module("crm_site.customfields")
        module.visible_definitions  # noqa: B018  (present once custom field definitions are merged)
    except (ImportError, AttributeError, LookupError):
        return None
    return module


def default_custom_fields_reader(user, entity, hidden):
    module = _definitions_module()
    if module is None:
        def read(obj):
            return {key: value for key, value in (obj.custom_fields or {}).items()
                    if f"cf_{key}" not in hidden and key not in hidden}
        return read
    codes = [definition.code for definition in module.visible_definitions(user, entity.key)]

    def read(obj):
        values = obj.custom_fields or {}
        return {code: values[code] for code in codes if code in values}

    return read


_custom_fields_out = None


def set_custom_fields_out(function):
    """`function(user, entity, obj, hidden) -> dict` instead of the default reader (None: the default again)."""
    global _custom_fields_out
    _custom_fields_out = function


def custom_fields_reader(user, entity, hidden):
    """`read(obj) -> dict` of the custom field values shown, for every record of a page (the definitions the
    user may see are looked up once, not per record)."""
    if _custom_fields_out is not None:
        function = _custom_fields_out
        return lambda obj: function(user, entity, obj, hidden)
    return default_custom_fields_reader(user, entity, hidden)


def custom_fields_out(user, entity, obj, hidden):
    return custom_fields_reader(user, entity, hidden)(obj)


def custom_fields_in(value):
    return {"custom_fields": value}


_segment_resolver = None


def set_segment_resolver(function):
    """`function(user, entity, segment_id, queryset) -> queryset` (Http404 for a segment the user may not use)."""
    global _segment_resolver
    _segment_resolver = function


def segment_queryset(user, entity, segment_id, queryset):
    if _segment_resolver is None:
        raise ValidationError({"segment": [_("Segments are not available yet.")]})
    return _segment_resolver(user, entity, segment_id, queryset)
