"""Reads of the lists: a user's columns and page size, their segments, a segment's records for an action,
capped counts and keyset pages. Every queryset comes from `crm_site.selectors.entity_list()`, so from
`visible_to(user, action)`."""

import base64
import datetime
import decimal
import json
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils.dateparse import parse_date, parse_datetime

from access.scopes import READ

from ..display import field_label
from ..registry import registry
from .models import ListSettings, Segment

COUNT_CAP = 1000  # a list counts at most this many rows (a capped count, never a full COUNT over millions)
PAGE_SIZES = (10, 20, 25, 50, 100)


def _entity(entity):
    return registry[entity] if isinstance(entity, str) else entity


# ---------------------------------------------------------------------------
# Columns


@dataclass
class ColumnDef:
    name: str
    label: object
    field: str = ""  # the field-rule name; hidden → not offered
    cell: object = None  # callable(obj) -> value, for columns that are not model fields (custom fields)
    default: bool = False  # shown until the user picks columns (a custom field "shown in lists by default")


_COLUMN_SOURCES = []


def register_column_source(source):
    """Add a callable(entity, user) -> iterable of ColumnDef: more columns a user may pick (custom fields)."""
    if source not in _COLUMN_SOURCES:
        _COLUMN_SOURCES.append(source)
    return source


LIST_SKIPPED = {"id", "custom_fields", "deleted_at", "deleted_by", "comment", "address", "legal_address"}


def available_columns(entity, user, hidden=()):
    """Every column the user may put on the list: the entity's default ones, its other plain fields, then the
    registered sources' columns (custom fields)."""
    entity = _entity(entity)
    model = entity.model
    found = {}
    for name in entity.list_columns:
        found[name] = ColumnDef(name, field_label(model, name), field=name)
    for field in model._meta.get_fields():
        if not getattr(field, "concrete", False) or field.name in LIST_SKIPPED or field.name in found:
            continue
        if field.many_to_many or field.one_to_many:
            continue
        found[field.name] = ColumnDef(field.name, field_label(model, field.name), field=field.name)
    for source in _COLUMN_SOURCES:
        for column in source(entity, user) or ():
            found.setdefault(column.name, column)
    return [column for name, column in found.items()
            if name not in hidden and (not column.field or column.field not in hidden)]


EPOCH = "lists"  # the counter of the tables below (crm_site.epochs): settings and segments kept across requests
KEPT = "_crm_lists_cache"  # attribute of the user object: this request's


def watched_tables():
    return [ListSettings._meta.db_table, Segment._meta.db_table]


def _kept(user, key, compute):
    """`compute()` once per request, and across requests while no list settings or segment changed (read-only
    values: a model instance here is shared by the requests that get it)."""
    from crm_site import epochs

    if user is None or not user.is_authenticated:
        return compute()
    return epochs.cached(user, EPOCH, user.__dict__.setdefault(KEPT, {}), key, compute)


def list_settings(user, entity):
    """The user's own settings for the entity's list, else the admin's default, else None."""
    entity = _entity(entity)

    def compute():
        rows = {row.user_id: row for row in ListSettings.objects.filter(Q(user=user) | Q(user__isnull=True),
                                                                        entity_key=entity.key)}
        return rows.get(user.pk) or rows.get(None)

    return _kept(user, ("settings", entity.key), compute)


def chosen_columns(user, entity, hidden=(), settings_row=None):
    """The columns (ColumnDef, in order) the user's list shows."""
    entity = _entity(entity)
    available = {column.name: column for column in available_columns(entity, user, hidden)}
    names = list(settings_row.columns) if settings_row is not None and settings_row.columns else []
    names = [name for name in names if name in available] or (
        [n for n in entity.list_columns if n in available] + [c.name for c in available.values() if c.default])
    return [available[name] for name in names]


def page_size(user, entity, requested=None, settings_row=None):
    size = requested
    if size in (None, ""):
        size = settings_row.page_size if settings_row is not None else settings.CRM_PAGE_SIZE
    try:
        size = int(size)
    except (TypeError, ValueError):
        size = settings.CRM_PAGE_SIZE
    return max(10, min(size, 100))


# ---------------------------------------------------------------------------
# Segments


def segments_for(user, entity):
    """The segments offered to `user` on `entity`'s list: their own and the shared ones."""
    entity = _entity(entity)
    return list(_kept(user, ("segments", entity.key), lambda: tuple(
        Segment.objects.filter(Q(owner=user) | Q(shared=True), entity_key=entity.key).order_by("name", "pk"))))


def segment_for_user(user, entity, segment_id):
    """One segment the user may use (their own or shared), or None."""
    entity = _entity(entity)
    if not str(segment_id).isdigit() or len(str(segment_id)) > 18 or user is None or not user.is_authenticated:
        return None
    return (Segment.objects.filter(Q(owner=user) | Q(shared=True), entity_key=entity.key, pk=int(segment_id))
            .first())


def segment_queryset(user, segment, action=READ):
    """The records of `segment` that `user` may `action` (read, export, edit, delete): the source of exports,
    bulk actions, reports and the API. A shared segment gives each viewer only their own scope: the segment
    stores filters, never records or rights."""
    from ..selectors import entity_list

    if segment.owner_id != user.pk and not segment.shared:
        return registry[segment.entity_key].model.objects.none()
    return entity_list(user=user, entity=segment.entity_key, params=segment.query_dict, action=action).queryset


def capped_count(queryset, cap=COUNT_CAP):
    """(count, capped): the number of rows up to `cap`; capped True when there are more."""
    count = queryset.order_by().values("pk")[: cap + 1].count()
    return min(count, cap), count > cap


# ---------------------------------------------------------------------------
# Keyset pages


def _encode(value):
    if isinstance(value, (datetime.datetime, datetime.date, decimal.Decimal)):
        return str(value)
    return value


def make_cursor(values):
    raw = json.dumps([_encode(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def read_cursor(cursor):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, TypeError):
        return None
    if not isinstance(values, list) or len(values) != 2 or not isinstance(values[1], int):
        return None
    return values


def _typed(model, expression, value):
    """The cursor's JSON value back as the column's type."""
    if value is None:
        return None
    field = _final_field(model, expression)
    from django.db import models

    if isinstance(field, models.DateTimeField):
        return parse_datetime(str(value))
    if isinstance(field, models.DateField):
        return parse_date(str(value))
    if isinstance(field, models.DecimalField):
        try:
            return decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            return None
    return value


def _final_field(model, expression):
    parts = expression.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    return model._meta.get_field(parts[-1])


def ordering_of(queryset):
    """(expression, descending) of the list's first ordering term and that the second one is -pk (the only
    shape the lists use), else None."""
    order = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if len(order) != 2 or order[1] not in ("-pk", "-id"):
        return None
    first = order[0]
    if not isinstance(first, str):
        return None
    return first.lstrip("-"), first.startswith("-")


FENCE_ROWS = 30_000  # a search or filter estimated to match at most this many rows is read whole (`fenced`)
ESTIMATES_KEPT = 512  # the row estimates few_rows() remembers, per process…
ESTIMATE_SECONDS = 300  # …and for how long
_estimates = {}  # (sql, params) -> (monotonic time, estimated rows)


def few_rows(queryset, limit=FENCE_ROWS):
    """Whether PostgreSQL estimates that `queryset` (a searched or filtered list) matches at most `limit` rows:
    then its pages are read `fenced`. One EXPLAIN (planning only, no rows read); False elsewhere than PostgreSQL.
    The estimate of a statement is remembered for ESTIMATE_SECONDS (a user paging through a filtered list, or
    coming back to it, asks the same again), so a page plans its statement once, not twice: it only chooses how
    the rows are read, never which rows, so an estimate a few minutes old reads the same page.

    Why: asked for the first rows in the list's order, PostgreSQL walks the order's index and checks each row
    against the search and the filters, expecting the matches spread evenly along it. When they are few, or
    gathered at the other end of the index (a manager's own records, a search's matches), the walk reads much
    of the table: a manager's quick search alone took 8-10 s at 1M contacts, where reading its 13,000 matches
    by the trigram indexes and sorting them takes a few tens of ms."""
    from django.core.exceptions import EmptyResultSet

    if connection.vendor != "postgresql" or queryset.query.is_empty():
        return False
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a condition that can match nothing (an empty id list): nothing to read at all
        return False
    return _estimated_rows(sql, params) <= limit


def _estimated_rows(sql, params):
    key, now = (sql, repr(params)), time.monotonic()
    known = _estimates.get(key)
    if known is not None and now - known[0] < ESTIMATE_SECONDS:
        return known[1]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    if len(_estimates) >= ESTIMATES_KEPT:
        _estimates.clear()  # a handful of lists are in use at a time: start again rather than keep an order
    _estimates[key] = (now, plan[0]["Plan"]["Plan Rows"])
    return _estimates[key][1]


def fenced_keys(queryset, expression, descending, limit, pk_descending=True):
    """The first `limit` (sort key, pk) of `queryset` in the order `expression` (descending or not), then the
    pk (descending unless `pk_descending` is False), read as `SELECT … FROM (<the rows> OFFSET 0) ORDER BY …
    LIMIT`: the subquery is planned to read every matching row (the search's and the filters' indexes,
    combined), so the order's index is never walked row by row; the matches are then sorted (a top-N sort).
    The same rows, in the same order, as `queryset.values_list(expression, "pk")[:limit]`."""
    inner = queryset.order_by().values_list(expression, "pk")
    compiler = inner.query.get_compiler(using=inner.db)
    sql, params = compiler.as_sql()
    direction, pk_direction = ("DESC" if descending else "ASC"), ("DESC" if pk_descending else "ASC")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({sql} OFFSET 0) AS fenced ORDER BY 1 {direction}, 2 {pk_direction} "
                       f"LIMIT %s", (*params, int(limit)))
        rows = cursor.fetchall()
    converters = compiler.get_converters([column for column, _sql, _alias in compiler.select])
    if converters:
        rows = compiler.apply_converters(rows, converters)
    return [tuple(row) for row in rows]


def fenced_cursor_page(queryset, size, *, cap=COUNT_CAP, after=None, before=None):
    """A keyset page (after or before a cursor) of a list read fenced, with the list's capped count, from one
    read of the matching rows (a `MATERIALIZED` CTE): (count, capped, page keys, next cursor, previous cursor),
    the same as `leading_keys` then `keyset_page` give, or None when this ordering or cursor cannot be paged by
    key (the caller then takes the usual way)."""
    shape = ordering_of(queryset)
    cursor = read_cursor(after or before or "")
    if shape is None or cursor is None or cursor[0] is None:
        return None
    expression, descending = shape
    key = _typed(queryset.model, expression, cursor[0])
    if key is None:
        return None
    backwards = bool(before)
    smaller = not descending if backwards else descending
    key_op, pk_op = ("<" if smaller else ">"), (">" if backwards else "<")
    order = "DESC" if descending != backwards else "ASC"
    pk_order = "ASC" if backwards else "DESC"
    inner = queryset.order_by().values_list(expression, "pk")
    compiler = inner.query.get_compiler(using=inner.db)
    sql, params = compiler.as_sql()
    statement = (
        f"WITH m (k, p) AS MATERIALIZED ({sql}) "
        f"SELECT c.n, page.k, page.p FROM (SELECT count(*) AS n FROM (SELECT 1 FROM m LIMIT %s) AS capped) AS c "
        f"LEFT JOIN LATERAL (SELECT k, p FROM m WHERE k {key_op} %s OR (k = %s AND p {pk_op} %s) "
        f"ORDER BY k {order}, p {pk_order} LIMIT %s) AS page ON true"
    )
    with connection.cursor() as db:
        db.execute(statement, (*params, cap + 1, key, key, cursor[1], size + 1))
        found = db.fetchall()
    count = found[0][0]
    rows = [(row[1], row[2]) for row in found if row[2] is not None]
    converters = compiler.get_converters([compiler.select[0][0]])
    if converters and rows:
        rows = [(converted[0], pk) for converted, (_key, pk) in
                zip(compiler.apply_converters([[k] for k, _pk in rows], converters), rows, strict=True)]
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if any(row_key is None for row_key, _pk in rows):
        return None
    first = make_cursor(list(rows[0])) if rows else None
    last = make_cursor(list(rows[-1])) if rows else None
    if backwards:
        next_cursor, prev_cursor = last, (first if more else None)
    else:
        next_cursor, prev_cursor = (last if more else None), first
    return min(count, cap), count > cap, rows, next_cursor, prev_cursor


def leading_keys(queryset, cap=COUNT_CAP, fence=False):
    """The list's first `cap` + 1 rows as (sort key, pk), in the list's order, or None when the ordering is not
    one keyset pages use. One scan gives both the capped count and, when the page lies among these rows (page 1,
    and any page of a list of at most `cap` rows), the page's ids: the count and the page no longer each repeat
    the filters' and the search's scan (`window_page`). `fence`: read them with `fenced_keys` (`few_rows`)."""
    shape = ordering_of(queryset)
    if shape is None:
        return None
    if fence:
        return fenced_keys(queryset, shape[0], shape[1], cap + 1)
    return [tuple(row) for row in queryset.values_list(shape[0], "pk")[: cap + 1]]


def window_page(keys, size, *, cap=COUNT_CAP, number=1, after=None, before=None):
    """The page (as `keyset_page` or the numbered page would give it) read from `leading_keys`: (page keys,
    has_next, next cursor, previous cursor), or None when the page reaches past the rows `keys` holds (a deep
    page of a long list: the caller runs its own query) or a key is empty (paged by number)."""
    complete = len(keys) <= cap  # every row of the list is in `keys`
    cursor = after or before
    if cursor:
        values = read_cursor(cursor)
        position = next((i for i, (_key, pk) in enumerate(keys) if values and pk == values[1]), None)
        # The row must still hold the cursor's key (else its place moved: the keyset query decides).
        if position is None or keys[position][0] is None or make_cursor(list(keys[position])) != cursor:
            return None
        if before:
            start = max(0, position - size)
            rows, more = keys[start:position], start > 0
        else:
            start = position + 1
            if not complete and start + size >= len(keys):
                return None
            rows = keys[start: start + size]
            more = start + size < len(keys)
    else:
        start = (number - 1) * size
        if not complete and start + size >= len(keys):
            return None
        rows = keys[start: start + size]
        more = start + size < len(keys)
    if any(key is None for key, _pk in rows) and cursor:
        return None
    first = make_cursor(list(rows[0])) if rows and rows[0][0] is not None else None
    last = make_cursor(list(rows[-1])) if rows and rows[-1][0] is not None else None
    if before:
        return rows, last is not None, last, (first if more else None)
    return rows, more, (last if more else None), (first if after else None)


def keyset_page(queryset, size, *, after=None, before=None, fence=False):
    """A page of `queryset` after (or before) a cursor: `WHERE (key, pk) < (…)` on the index instead of an
    OFFSET that reads every earlier row. Returns (rows, next cursor or None, previous cursor or None), or None
    when this ordering or cursor cannot be paged by key (a value that may be empty): the caller then pages by
    number. `fence`: the page's keys are read with `fenced_keys` (few matching rows, `few_rows`), then its
    records by primary key."""
    shape = ordering_of(queryset)
    if shape is None:
        return None
    expression, descending = shape
    cursor = read_cursor(after or before or "")
    if (after or before) and (cursor is None or cursor[0] is None):
        return None
    backwards = bool(before)
    qs = queryset.annotate(_key=F(expression))
    if cursor is not None:
        key, pk = _typed(queryset.model, expression, cursor[0]), cursor[1]
        if key is None:
            return None
        # Forward in a "key desc, pk desc" list: rows with a smaller key, or the same key and a smaller pk.
        smaller = not descending if backwards else descending
        key_op = "lt" if smaller else "gt"
        pk_op = "gt" if backwards else "lt"
        # The bound `key <= …` (or `>=`) repeats what the OR implies: it is what an index on the key can start at.
        qs = qs.filter(Q(**{f"{expression}__{key_op}e": key}),
                       Q(**{f"{expression}__{key_op}": key}) | Q(**{expression: key, f"pk__{pk_op}": pk}))
    if backwards:
        qs = qs.order_by(f"{'' if descending else '-'}{expression}", "pk")
    if fence:
        keys = fenced_keys(qs, expression, descending != backwards, size + 1, pk_descending=not backwards)
        found = {row.pk: row for row in qs.filter(pk__in=[pk for _key, pk in keys]).order_by()}
        rows = [found[pk] for _key, pk in keys if pk in found]
    else:
        rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if any(row._key is None for row in rows):
        return None
    first_cursor = make_cursor([rows[0]._key, rows[0].pk]) if rows else None
    last_cursor = make_cursor([rows[-1]._key, rows[-1].pk]) if rows else None
    if backwards:
        next_cursor, prev_cursor = last_cursor, (first_cursor if more else None)
    else:
        next_cursor = last_cursor if more else None
        prev_cursor = first_cursor if cursor is not None else None
    return rows, next_cursor, prev_cursor
