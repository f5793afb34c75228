"""Reading definitions: cached per process, checked against a stamp in the shared cache so that every web process
and worker sees a change at once (one cache read per request at most)."""

import time
from dataclasses import dataclass

from django.core.cache import cache

from . import FIELD_PREFIX, code_of, is_custom

_STAMP_KEY = "customfields:stamp"
_local = {"stamp": None, "checked": 0.0, "by_entity": {}}
CHECK_EVERY = 1.0  # seconds between two reads of the shared stamp


def invalidate():
    stamp = time.time_ns()
    cache.set(_STAMP_KEY, stamp, None)
    _local.update(stamp=stamp, checked=time.monotonic(), by_entity={})


def _fresh():
    now = time.monotonic()
    if now - _local["checked"] < CHECK_EVERY and _local["stamp"] is not None:
        return
    stamp = cache.get(_STAMP_KEY)
    if stamp is None:
        stamp = time.time_ns()
        cache.add(_STAMP_KEY, stamp, None)
        stamp = cache.get(_STAMP_KEY, stamp)
    if stamp != _local["stamp"]:
        _local["by_entity"] = {}
        _local["stamp"] = stamp
    _local["checked"] = now


def definitions(entity_key):
    """Every custom field of the entity, in card order (its options loaded). All entities' fields are read at once
    (two queries), so a page touching several kinds of record reads them once."""
    from .models import CustomField

    _fresh()
    by_entity = _local["by_entity"]
    if not by_entity.get("__loaded__"):
        by_entity.clear()
        for field in CustomField.objects.prefetch_related("options").order_by("entity", "order", "pk"):
            field.choices  # noqa: B018  (fills the options cache)
            by_entity.setdefault(field.entity, []).append(field)
        by_entity["__loaded__"] = True
    return by_entity.get(entity_key, [])


def any_loaded():
    return any(fields for key, fields in _local["by_entity"].items() if key != "__loaded__")


def definition(entity_key, name):
    code = code_of(name)
    for field in definitions(entity_key):
        if field.code == code:
            return field
    return None


def by_name(entity_key):
    return {field.name: field for field in definitions(entity_key)}


def visible_definitions(user, entity_key):
    from access.fields import hidden_fields

    hidden = hidden_fields(user, entity_key) if user is not None else set()
    return [field for field in definitions(entity_key) if field.name not in hidden]


def list_definitions(user, entity_key):
    return [field for field in visible_definitions(user, entity_key) if field.show_in_list]


def filterable_definitions(user, entity_key):
    return [field for field in visible_definitions(user, entity_key) if field.filterable]


def filter_queryset(queryset, entity_key, name, lookup, value):
    field = definition(entity_key, name)
    if field is None:
        return queryset.none()
    return field.filter_queryset(queryset, lookup, value)


def prefetch_cells(fields, objs, user):
    """Fill the list cells of link and user fields for a page of records at once (two queries per link field, one
    per user field, whatever the number of rows); `field.list_cell(obj, user)` then reads them."""
    from access.scopes import READ

    objs = list(objs)
    for field in fields:
        if field.type not in ("link", "user"):
            continue
        ids = set()
        for obj in objs:
            value = (obj.custom_fields or {}).get(field.code)
            ids.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int))
        if not ids:
            continue
        names = field.kind.names(field, ids)
        visible = set(ids)
        model = field.kind.model(field)
        if field.type == "link":
            visible = set(model.objects.visible_to(user, READ).filter(pk__in=ids).values_list("pk", flat=True))
        for obj in objs:
            value = (obj.custom_fields or {}).get(field.code)
            if value in (None, "", []):
                continue
            shown = []
            for pk in value if isinstance(value, list) else [value]:
                if pk in visible:
                    url = model(pk=pk).get_absolute_url() if field.type == "link" else ""
                    shown.append((names.get(pk, f"#{pk}"), url))
                else:
                    from django.utils.translation import gettext

                    shown.append((gettext("hidden record"), ""))
            cells = obj.__dict__.setdefault("_cf_cells", {})
            cells[field.code] = {"value": ", ".join(name for name, _url in shown),
                                 "link": shown[0][1] if len(shown) == 1 else ""}


def values_for(obj):
    data = obj.custom_fields or {}
    return {FIELD_PREFIX + code: value for code, value in data.items()}


@dataclass(frozen=True)
class ImportableField:
    name: str
    code: str
    label: str
    type: str
    multiple: bool
    parse: object  # callable(text, locale=None) -> a value field.clean_value() accepts; ValidationError if bad


def importable_fields(entity_key):
    """The custom fields an import may fill (files are not imported)."""
    out = []
    for field in definitions(entity_key):
        if field.type == "file":
            continue
        out.append(ImportableField(field.name, field.code, field.label, field.type, field.multiple,
                                   _parser(field)))
    return out


def _parser(field):
    def parse(text, locale=None):
        if text is None:
            return None
        if isinstance(text, str):
            text = text.strip()
            if field.multiple and field.kind.can_be_multiple:
                parts = [part.strip() for part in text.replace("\n", ";").split(";")]
                return field.clean_value([part for part in parts if part])
        value = field.clean_value(text)
        return value

    return parse


__all__ = ["definitions", "definition", "by_name", "visible_definitions", "list_definitions",
           "filterable_definitions", "filter_queryset", "values_for", "prefetch_cells", "importable_fields", "ImportableField",
           "invalidate", "is_custom", "code_of"]
