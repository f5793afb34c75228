"""Keyset (cursor) pagination, stable under inserts: the cursor holds the last row's sort value and id, the next
page starts strictly after them. Sorting by a column that may be empty falls back to the newest first."""

import base64
import datetime
import json

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination

DEFAULT_PAGE_SIZE = 50
DEFAULT_ORDER = ("created_at", True)


def _never_null(model, path):
    parts = path.split("__")
    for index, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if getattr(field, "null", True) or field.many_to_many or (field.is_relation and field.one_to_many):
            return False
        if index < len(parts) - 1:
            if not field.is_relation:
                return False
            model = field.related_model
    return True


def sort_order(entity, sort, hidden=()):
    """(expression, descending) for `sort` (a list panel's sort key, "-" for descending)."""
    key = (sort or "").lstrip("-")
    if key in entity.sort_fields and key not in hidden and _never_null(entity.model, entity.sort_fields[key]):
        return entity.sort_fields[key], sort.startswith("-")
    return DEFAULT_ORDER


class _CursorEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()  # full microseconds (DjangoJSONEncoder keeps milliseconds only)
        return super().default(o)


def encode_cursor(values):
    return base64.urlsafe_b64encode(json.dumps(values, cls=_CursorEncoder).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63 or not isinstance(value, (str, int, float, bool)):
            raise ValueError
        return value, pk
    except (ValueError, TypeError, UnicodeError):
        raise ValidationError({"cursor": [_("The cursor is not valid.")]}) from None


def page_size(request, maximum):
    raw = request.query_params.get("page_size", "")
    if raw == "":
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValidationError({"page_size": [_("Give a page size from 1 to %(max)s.") % {"max": maximum}]})
    return int(raw)


def keyset_page(queryset, *, expression, descending, cursor, size, fence=False):
    """(rows, next cursor or None) of one page. `fence` (a searched or filtered list PostgreSQL expects few
    rows of, crm_site.lists.selectors.few_rows): the page's keys are read fenced, never by walking the sort
    order's index looking for the matches (crm_site.lists.selectors.fenced_keys)."""
    queryset = queryset.annotate(_sort_key=F(expression))
    sign = "-" if descending else ""
    queryset = queryset.order_by(f"{sign}_sort_key", f"{sign}pk")
    if cursor:
        value, pk = decode_cursor(cursor)
        lookup = "lt" if descending else "gt"
        try:
            queryset = queryset.filter(Q(**{f"_sort_key__{lookup}": value}) | Q(_sort_key=value, **{f"pk__{lookup}": pk}))
        except (ValueError, TypeError, DjangoValidationError) as error:
            raise ValidationError({"cursor": [_("The cursor is not valid.")]}) from error
    def read():
        if not fence:
            return list(queryset[: size + 1])
        from crm_site.lists.selectors import fenced_keys

        keys = fenced_keys(queryset, "_sort_key", descending, size + 1, pk_descending=descending)
        found = {row.pk: row for row in queryset.filter(pk__in=[pk for _key, pk in keys]).order_by()}
        return [found[pk] for _key, pk in keys if pk in found]

    if not cursor:
        rows = read()
    else:
        try:
            with transaction.atomic():
                rows = read()
        except DataError as error:  # a cursor value the column's type cannot hold
            raise ValidationError({"cursor": [_("The cursor is not valid.")]}) from error
    following = None
    if len(rows) > size:
        rows = rows[:size]
        following = encode_cursor([rows[-1]._sort_key, rows[-1].pk])
    return rows, following


class KeysetPagination(BasePagination):
    """For the schema: what a list answers and which parameters it takes."""

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "required": ["results", "next"], "properties": {
            "next": {"type": "string", "nullable": True, "description": "cursor of the next page (an export)"},
            "results": schema}}

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "From `next`. Pages beyond the first are an export: they need the export right."},
            {"name": "page_size", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        ]
