"""A custom field's value as the range filters, the sort and the expression indexes read it.

On PostgreSQL these are calls of two SQL functions (migration 0004): `crm_cf_number(jsonb)` — a JSON number, or a
string of digits, as `numeric`; anything else NULL — and `crm_cf_date(jsonb)` — an ISO date or date-time string
(text, compared byte by byte: ISO strings sort as time does); anything else NULL. Both are immutable and never
fail, so an expression index can hold them and a value written past the write services (raw SQL, an old row) is
left out of a range instead of failing every query or write that touches it. The filter and the index use the
very same expression (`sql()`), which is how PostgreSQL matches them. Other databases (the SQLite demo) compare
the JSON values directly.
"""

import re

from django.db.models import DecimalField, F, Func, TextField
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,48}$")


def literal(code):
    if not _CODE.match(code):  # codes are validated on the model; never interpolate anything else
        raise ValueError(f"not a custom field code: {code!r}")
    return f"'{code}'"


def json_path(column, code, key=None):
    """`column -> 'code'` (-> 'key'), the JSON value the functions take."""
    path = f"({column} -> {literal(code)})"
    return f"({path} -> {literal(key)})" if key else path


class _CustomValue(Func):
    function = ""
    output_field = TextField()

    def __init__(self, code, key=None):
        super().__init__(F("custom_fields"))
        self.code, self.key = code, key

    def sql(self, column):
        return f"{self.function}({json_path(column, self.code, self.key)})"

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return self.sql(column), params

    def as_sql(self, compiler, connection, **extra):
        column = self.source_expressions[0]
        value = KeyTextTransform(self.key, KeyTransform(self.code, column)) if self.key else \
            KeyTextTransform(self.code, column)
        return compiler.compile(self.portable(value))

    def portable(self, value):
        return value


class NumberValue(_CustomValue):
    """An integer, decimal or money amount (`key="amount"`) field's number."""

    function = "crm_cf_number"
    output_field = DecimalField(max_digits=30, decimal_places=6)

    def portable(self, value):
        return Cast(value, DecimalField(max_digits=30, decimal_places=6))


class DateText(_CustomValue):
    """A date or date-time field's ISO text."""

    function = "crm_cf_date"

