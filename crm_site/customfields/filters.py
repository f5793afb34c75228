"""Filtering records by a custom field, over the JSON column: containment (@>) for equality (the column's GIN
index), the field's number or ISO text for ranges (`expressions`, an expression index when the field is filterable:
`indexes`)."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError


def filter_queryset(queryset, field, lookup, value):
    """`queryset` narrowed to records whose field `field` matches (`lookup` one of field.lookups)."""
    if lookup not in field.kind.lookups:
        raise ValidationError(f"unknown lookup {lookup!r} for a {field.type} field")
    if lookup in ("gte", "lte", "gt", "lt"):
        expression = field.kind.range_expression(field)
        if expression is None:
            raise ValidationError(f"no range lookup for a {field.type} field")
        try:
            bound = field.kind.filter_value(field, value)
        except ValidationError:
            return queryset.none()
        if field.type in ("integer", "decimal", "money"):
            from decimal import Decimal

            bound = Decimal(str(bound))
        alias = f"_cf_{field.code}"
        return queryset.alias(**{alias: expression}).filter(**{f"{alias}__{lookup}": bound})
    return queryset.filter(field.kind.filter_q(field, lookup, value))


class CustomFieldFilter(django_filters.Filter):
    """A django-filter Filter over one custom field: `custom_field`, `lookup` (default "exact"; "in" takes a
    comma-separated or repeated value)."""

    field_class = forms.CharField

    def __init__(self, *args, custom_field, lookup="exact", **kwargs):
        kwargs.setdefault("field_name", custom_field.name)
        super().__init__(*args, **kwargs)
        self.custom_field = custom_field
        self.cf_lookup = lookup

    def filter(self, qs, value):
        if value in (None, "", [], ()):
            return qs
        if self.cf_lookup == "in" and isinstance(value, str):
            value = [part for part in value.split(",") if part]
        return filter_queryset(qs, self.custom_field, self.cf_lookup, value)
