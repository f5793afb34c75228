"""Custom fields: admin-defined fields of any registered entity, stored in the record's `custom_fields` JSON column.

The interface other parts call (lists, the import, the API, export, merge):

Names
    A custom field is named on every screen, in field rules, list columns, filters, sort keys, export columns and
    write-service data as ``"cf_" + code`` (`FIELD_PREFIX`), e.g. ``cf_car_model``; codes are ``[a-z][a-z0-9_]*``,
    so a name never collides with a model field. `is_custom(name)`, `code_of(name)`.

Definitions (`crm_site.customfields.models.CustomField`, cached per process, dropped on every save)
    ``definitions(entity_key)``                 every field of the entity, in card order
    ``definition(entity_key, name)``            one field by its name (``cf_x``) or code, or None
    ``visible_definitions(user, entity_key)``   without the fields the user's roles hide (access.fields)
    ``list_definitions(user, entity_key)``      those marked "shown in lists by default"
    ``filterable_definitions(user, entity_key)`` those marked "filterable"
    A definition has: ``name``, ``code``, ``label``, ``type`` (key), ``kind`` (its FieldType), ``multiple``,
    ``choices`` ([(value, label)] in order), ``target_entity`` (link fields), ``filterable``, ``show_in_list``,
    ``section`` / ``order`` (card), ``help_text``.

Per field (each delegates to its FieldType, one class per type in `crm_site.customfields.types`)
    ``field.form_field(user=None)``     a django.forms.Field (choices of a link restricted to what `user` reads)
    ``field.clean_value(value, user=None)`` any input (form value, JSON, import cell already parsed) -> the stored JSON
                                        value; ValidationError with the field's own message. Input rules
                                        (regex, min/max, phone/email format) included; None for empty.
    ``field.display(value)``            text as people read it (card, history, timeline)
    ``field.list_cell(obj, user=None)`` {"value": text, "link": url or ""} for a list/table cell
    ``field.export_cell(value)``        a typed value for CSV/XLSX (str, int, Decimal, date, naive datetime, None)
    ``field.lookups``                   the lookups its filter takes, e.g. ("exact", "in", "contains", "empty",
                                        "gte", "lte")
    ``field.filter_queryset(queryset, lookup, value)`` -> queryset narrowed over the JSON column; "exact"/"in" use
                                        JSON containment (``@>``, served by the GIN jsonb_path_ops index on
                                        PostgreSQL); ranges compare the field's number or ISO text
                                        (`expressions.NumberValue` / `DateText`: a value of another kind is left
                                        out, never an error); "empty" with value True/False. A filterable field's
                                        ranges and "contains" are served by expression indexes on PostgreSQL
                                        (`indexes`: built in the background, FieldType.index_expressions).
    ``field.filter(lookup="exact")``    the same as a django-filter Filter, named ``field.name``
    ``field.sort_expression()``         an expression to order_by (the range expression, else the JSON text)

Helpers
    ``filter_queryset(queryset, entity_key, name, lookup, value)``  the same, by name
    ``importable_fields(entity_key)``   [ImportableField(name, code, label, type, multiple, parse)] for a mapping
                                        screen; ``parse(text, locale=None)`` turns a file's cell into a value
                                        ``clean_value`` accepts. The import's target provider (dedup.importing.targets)
                                        is registered in AppConfig.ready().
    ``values_for(obj)``                 {name: stored value} of one record
    ``prefetch_cells(fields, objs, user)`` a list page's link/user cells in a few queries (call once per page,
                                        before list_cell, or each such cell costs a query or two)

Writing values
    Through the write services only (crm_site.services.record_create / record_update / the bulk variants):
    ``data={"cf_car_model": "Lada", "cf_last_service": "2026-05-01"}`` or, the same,
    ``data={"custom_fields": {"car_model": "Lada"}}`` (only the codes given change). They are cleaned, checked
    against field rules (hidden: refused, read-only: may not change), required (also "required from deal stage /
    lead status"), unique, defaults on create; history and the timeline's change entries name each field.
"""

FIELD_PREFIX = "cf_"


def is_custom(name):
    return isinstance(name, str) and name.startswith(FIELD_PREFIX)


def code_of(name):
    return name[len(FIELD_PREFIX):] if is_custom(name) else name


_SUBMODULES = {"registry", "models", "types", "filters", "signals", "apps", "admin", "views", "services", "layout",
               "export", "tasks", "vcard", "urls", "forms", "migrations", "changes"}


def __getattr__(attr):
    # The registry functions live in .registry (it imports models): loaded on first use, after apps are ready.
    if attr.startswith("__") or attr in _SUBMODULES:
        raise AttributeError(attr)
    import importlib

    return getattr(importlib.import_module(__name__ + ".registry"), attr)
