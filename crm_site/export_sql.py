"""CSV export on PostgreSQL: each chunk of records becomes its CSV cells in one SQL statement.

The export's rows (`export.export_rows`) are typed values that the writers format one cell at a time in
Python. For CSV on PostgreSQL the same cells are made by the database instead: per chunk of ids (in the list's
order, from a server-side cursor over the checked queryset) ONE statement returns every column as the text the
CSV writer would have written — names of linked records (with the same access rules: "hidden record", "in the
recycle bin"), channels, tags and links joined, dates and date-times in the export's time zone, numbers with the
reader's decimal separator, booleans and choices by their labels, formula-safe texts — so Python only hands the
rows to `csv.writer`. The columns are the export's own (`export_columns`: field rules already applied).

A column the database cannot give byte for byte (a custom field whose value is not a plain text, say) comes back
as its JSON beside the row and is finished in Python with the export's own cell function; an export with a column
of a kind not covered here (a link or user custom field, a model whose name has no SQL form) is written the
portable way. The tests compare both ways cell for cell, entity by entity.
"""

import json
from operator import itemgetter

from django.contrib.auth.models import AbstractUser
from django.db import connections, transaction
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    IntegerField,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from access.scopes import READ

from .display import entity_foreign_keys
from .export_formats import DANGEROUS_START, csv_cell_function
from .validation import CONTROL_CHARS

# Characters Python's str.strip() removes (get_full_name() strips): btrim() is given the same set.
_WHITESPACE = "".join(char for char in map(chr, range(0x3001)) if char.isspace())
_CONTROL_CODES = [code for code in range(128) if CONTROL_CHARS.match(chr(code))]
_SUSPECT_CODES = sorted({ord(char) for char in DANGEROUS_START} | set(_CONTROL_CODES))
# PostgreSQL's regular expressions read \xhh escapes themselves (text holds no NUL: code 0 is left out).
_FORMULA_PATTERN = "^([" + "".join(f"\\x{code:02x}" for code in _CONTROL_CODES if code) + "]*[=+@\\t\\r-])"


class Unsupported(Exception):
    """A column with no exact SQL form: the export is written the portable way."""


def _safe(sql, simple=False):
    """formula_safe() of a text, in SQL. In the portable path a text starting with a formula start or a control
    character goes through formula_safe() (controls removed, then an apostrophe before a formula start), and the
    control characters of every written block are removed afterwards; together: an apostrophe in front exactly
    when the text is `[controls]*[formula start]...`. Here the database adds that apostrophe (before the controls,
    which the written block then loses as in the portable path). `simple` (a column, cheap to name twice): the
    regular expression runs only on texts whose first character is suspect; otherwise `sql` is named once, so
    that neither its parameters nor its work are repeated."""
    replaced = f"regexp_replace({sql}, '{_FORMULA_PATTERN}', '''\\1')"
    if not simple:
        return replaced
    suspect = ", ".join(map(str, _SUSPECT_CODES))
    return f"(CASE WHEN ascii({sql}) IN ({suspect}) THEN {replaced} ELSE {sql} END)"


def _ready(text):
    """A constant text as the CSV writer gets it (formula-safe), to pass as a parameter."""
    return csv_cell_function(False)(str(text))


class _Builder:
    """Collects the statement's select list and its parameters, in order."""

    def __init__(self, connection):
        self.connection = connection
        self.qn = connection.ops.quote_name
        self.columns = []  # SQL of each select item
        self.params = []
        self.aliases = 0

    def alias(self):
        self.aliases += 1
        return f"x{self.aliases}_"

    def col(self, alias, column):
        return f"{alias}.{self.qn(column)}"

    def add(self, sql, params=()):
        self.columns.append(sql)
        self.params.extend(params)


def name_sql(model, alias, qn, language, user_names=False):
    """(SQL, params) giving exactly str(record) of `model` (`user_names`: a user's full name or login, as the
    export shows a user), or raise Unsupported. A model whose str() is one of its text fields says so with
    `STR_COLUMN = "name"`; the others here are the project's own (lists by language, users, contacts). Each form here is checked against str() by the tests."""
    from contacts.models import Contact
    from deals.models import Stage

    from .models import Currency, EditableList

    def col(name):
        return f"{alias}.{qn(name)}"

    if issubclass(model, AbstractUser) and user_names and model.get_full_name is AbstractUser.get_full_name \
            and model.USERNAME_FIELD == "username":
        return (f"COALESCE(NULLIF(btrim(COALESCE({col('first_name')}, '') || ' ' || COALESCE({col('last_name')}, ''), "
                f"%s), ''), {col('username')})", [_WHITESPACE])
    if model is Currency:  # str(): the ISO code in capitals (codes are ASCII slugs)
        return f"upper({col('code')})", []
    if (issubclass(model, EditableList) and model.__str__ is EditableList.__str__) or model is Stage:
        code = (language or "en")[:2]
        local = f"name_{code}"
        if local == "name_en" or not any(field.name == local for field in model._meta.concrete_fields):
            return col("name_en"), []
        return f"COALESCE(NULLIF({col(local)}, ''), {col('name_en')})", []
    if model is Contact:
        parts = ", ".join(f"NULLIF({col(name)}, '')" for name in ("last_name", "first_name", "middle_name"))
        return f"COALESCE(NULLIF(concat_ws(' ', {parts}), ''), %s)", [str(_("(no name)"))]
    if getattr(model, "STR_COLUMN", None):  # a model whose str() is one text field says which
        return col(model._meta.get_field(model.STR_COLUMN).column), []
    raise Unsupported(model._meta.label)


def _readable_sql(user, model, outer, connection):
    """(SQL, params) of EXISTS(the record `outer` (an SQL id) is in model.objects.visible_to(user, READ))."""
    readable = model.objects.visible_to(user, READ).filter(pk=RawSQL(outer, ())).values("pk")
    sql, params = readable.query.get_compiler(connection=connection).as_sql()
    return f"EXISTS ({sql})", list(params)


def _readable_name_sql(user, model, outer, connection, language):
    """(SQL, params) of a subquery: the name of the record `outer` (an SQL id) when it is in
    model.objects.visible_to(user, READ), else no row (NULL). One index look-up."""
    qn = connection.ops.quote_name
    name, params = name_sql(model, qn(model._meta.db_table), qn, language)
    readable = (model.objects.visible_to(user, READ).filter(pk=RawSQL(outer, ())).order_by()
                .annotate(export_name=RawSQL(name, params)).values_list("export_name"))
    sql, params = readable.query.get_compiler(connection=connection).as_sql()
    return f"({sql})", list(params)


def _ordering(model, alias, qn):
    order = []
    for name in model._meta.ordering or ["pk"]:
        if not isinstance(name, str):
            raise Unsupported("ordering")
        descending = name.startswith("-")
        name = name.lstrip("-")
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        if field.is_relation:
            raise Unsupported("ordering")
        order.append(f"{alias}.{qn(field.column)}{' DESC' if descending else ''}")
    return ", ".join(order)


class Plan:
    """The per-chunk statement of one export: its SQL with one %s for each use of the chunk's ids
    (`ids_at`: where they go among `params`), the number of columns, and the cells finished in Python
    (`fixes`: [(column index, index of its JSON in the row, custom field code, reader, cell function)])."""

    def __init__(self, sql, params, ids_at, width, fixes):
        self.sql, self.params, self.ids_at, self.width, self.fixes = sql, params, ids_at, width, fixes

    def parameters(self, ids):
        # The ids as one array literal, made in C: the driver's list adapter checks each element in Python.
        ids = "{" + ",".join(map(str, ids)) + "}"
        params = list(self.params)
        for at in self.ids_at:  # positions in the full list: restored in order, each lands where it was
            params.insert(at, ids)
        return params


IDS = object()  # stands for the chunk's ids among a statement's parameters


def build_plan(*, user, entity, columns, db, language, zone, decimal_comma):
    """The statement giving `columns`' CSV cells for a chunk of ids; raises Unsupported.

    One row per record: the record's own columns; the names its foreign keys point to from LEFT JOINs (a few
    users, types or departments for thousands of rows: hashed once per statement); the many-to-many names,
    the card's links and the channels from subqueries grouped per record over the chunk's ids (set-based, as
    PostgreSQL's COPY of the same rows would join them), each with the access rule of the list it stands for.
    """
    from django.contrib.contenttypes.models import ContentType

    from .customfields.types import FieldType
    from .export import _custom_reader
    from .models import Communication

    connection = connections[db]
    model = entity.model
    build = _Builder(connection)
    qn = build.qn
    table = "t"
    key = build.col(table, model._meta.pk.column)
    zone_name = zone.key if hasattr(zone, "key") else None
    if zone_name is None:
        raise Unsupported("time zone")
    fields = [column.field for column in columns if column.kind == "field"]
    linked = {field.name for field in entity_foreign_keys(model, [f.name for f in fields if f.many_to_one])}
    fixes = []
    hidden = []  # (SQL, params) of the JSON of the cells finished in Python
    joins = []  # (SQL, params) after FROM, in order
    cell = csv_cell_function(decimal_comma)
    yes, no = _ready(_("yes")), _ready(_("no"))
    hidden_record, in_bin = _ready(_("hidden record")), _ready(_("in the recycle bin"))

    def add_safe(sql, params=(), simple=True):
        """A text column, formula-safe; `simple`: `sql` is cheap to compute twice (a column, a join's name)."""
        build.add(_safe(sql, simple=simple), list(params) * (3 if simple else 1))

    def grouped(alias, sql, params):
        """LEFT JOIN (sql: selects `k` the record's id and `v` the text, restricted to the chunk) ON k = id."""
        joins.append((f" LEFT JOIN ({sql}) {alias} ON {alias}.k = {key}", params))
        add_safe(f"{alias}.v")

    for index, column in enumerate(columns):
        if column.kind == "id":
            build.add(key)
        elif column.kind == "channel":
            add_safe(f"ch.{qn('c_' + column.name)}")
        elif column.kind == "custom":
            definition = column.field
            kind = type(definition.kind)
            if definition.type in ("link", "user"):
                raise Unsupported("custom link")
            value = f"{table}.{qn('custom_fields')} -> %s"
            plain = (not column.part and kind.export_cell is FieldType.export_cell
                     and kind.export_one is FieldType.export_one and kind.display_one is FieldType.display_one)
            if plain:  # str(value) of a JSON string is the string itself: the database gives it
                add_safe(f"(CASE WHEN jsonb_typeof({value}) = 'string' THEN {table}.{qn('custom_fields')} ->> %s "
                         f"END)", [definition.code, definition.code], simple=False)
                hidden.append((f"(CASE WHEN jsonb_typeof({value}) NOT IN ('string', 'null') THEN ({value})::text "
                               f"END)", [definition.code, definition.code]))
            else:  # numbers, dates, choices, money: the export's own cell function, in Python
                build.add("NULL")
                hidden.append((f"({value})::text", [definition.code]))
            fixes.append((index, len(hidden) - 1, definition.code, _custom_reader(column, 0)))
        elif column.kind == "relation":
            relation = column.field
            through, target = relation.through_model, relation.target_model
            link = build.alias()
            from_column = build.col(link, through._meta.get_field(relation.from_field).column)
            to_column = build.col(link, through._meta.get_field(relation.to_field).column)
            # The linked record's name as a subquery per link (an index look-up; NULL, so left out by string_agg,
            # when the user may not read it): a join would let the planner hash the whole target table.
            name, name_params = _readable_name_sql(user, target, to_column, connection, language)
            grouped(build.alias(), (
                f"SELECT {from_column} AS k, string_agg({name}, '; ' ORDER BY "
                f"{build.col(link, through._meta.pk.column)}) AS v FROM {qn(through._meta.db_table)} {link} "
                f"WHERE {from_column} = ANY(%s::bigint[]) GROUP BY {from_column}"),
                [*name_params, IDS])
        else:
            field = column.field
            if field.many_to_many:
                through = field.remote_field.through
                related = field.related_model
                link, other = build.alias(), build.alias()
                source = build.col(link, through._meta.get_field(field.m2m_field_name()).column)
                target = build.col(link, through._meta.get_field(field.m2m_reverse_field_name()).column)
                name, name_params = name_sql(related, other, qn, language)
                grouped(build.alias(), (
                    f"SELECT {source} AS k, string_agg({name}, '; ' ORDER BY {_ordering(related, other, qn)}) AS v "
                    f"FROM {qn(through._meta.db_table)} {link} JOIN {qn(related._meta.db_table)} {other} "
                    f"ON {build.col(other, related._meta.pk.column)} = {target} WHERE {source} = ANY(%s::bigint[]) "
                    f"GROUP BY {source}"), [*name_params, IDS])
            elif field.many_to_one:
                related = field.related_model
                other = build.alias()
                name, name_params = name_sql(related, other, qn, language, user_names=True)
                other_key = build.col(other, related._meta.pk.column)
                if field.name in linked:
                    # A record (a big table): a subquery per row, an index look-up, never a hash of the table. As
                    # display.restricted_value(): the name only when readable, else where it is.
                    readable, readable_params = _readable_sql(user, related, other_key, connection)
                    deleted = (f"{build.col(other, 'deleted_at')} IS NOT NULL"
                               if any(f.name == "deleted_at" for f in related._meta.concrete_fields) else "FALSE")
                    build.add(f"(SELECT CASE WHEN {readable} THEN {_safe(name)} WHEN {deleted} THEN %s ELSE %s END "
                              f"FROM {qn(related._meta.db_table)} {other} WHERE {other_key} = "
                              f"{build.col(table, field.column)})",
                              [*readable_params, *name_params, in_bin, hidden_record])
                else:  # users, departments, types: a few rows, each named once per statement and hashed
                    named = build.alias()
                    joins.append((f" LEFT JOIN (SELECT {other_key} AS k, {_safe(name)} AS v FROM "
                                  f"{qn(related._meta.db_table)} {other} OFFSET 0) {named} ON {named}.k = "
                                  f"{build.col(table, field.column)}", name_params))
                    build.add(f"{named}.v")
            else:
                sql = build.col(table, field.column)
                if field.choices:
                    if not isinstance(field, CharField):
                        raise Unsupported("choices")
                    cases, params = [], []
                    for value, label in field.flatchoices:
                        cases.append("WHEN %s THEN %s")
                        params += [value, str(label)]
                    add_safe(f"NULLIF(CASE {sql} {' '.join(cases)} ELSE {sql} END, '')", params, simple=False)
                elif isinstance(field, BooleanField):
                    build.add(f"(CASE WHEN {sql} THEN %s WHEN NOT {sql} THEN %s END)", [yes, no])
                elif isinstance(field, DateTimeField):  # local time, as the portable path's localtime()
                    build.add(f"to_char({sql} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI:SS')", [zone_name])
                elif isinstance(field, DateField):
                    build.add(f"to_char({sql}, 'YYYY-MM-DD')")
                elif isinstance(field, DecimalField):
                    build.add(f"replace(({sql})::text, '.', ',')" if decimal_comma else f"({sql})::text")
                elif isinstance(field, IntegerField):
                    build.add(sql)
                elif isinstance(field, (CharField, TextField)):
                    add_safe(sql)
                else:
                    raise Unsupported(type(field).__name__)
    channel_names = [column.name for column in columns if column.kind == "channel"]
    if channel_names:
        content_type = ContentType.objects.db_manager(db).get_for_model(model).pk
        comm = Communication._meta
        aggregates = ", ".join(
            f"string_agg({qn('value')}, '; ' ORDER BY {qn('is_primary')} DESC, {qn('position')}, "
            f"{qn(comm.pk.column)}) FILTER (WHERE {qn('channel')} = %s) AS {qn('c_' + name)}" for name in channel_names)
        joins.append((
            f" LEFT JOIN (SELECT {qn('object_id')} AS k, {aggregates} FROM {qn(comm.db_table)} WHERE "
            f"{qn('content_type_id')} = %s AND {qn('object_id')} = ANY(%s::bigint[]) AND {qn('channel')} IN "
            f"({', '.join(['%s'] * len(channel_names))}) GROUP BY {qn('object_id')}) ch ON ch.k = {key}",
            [*channel_names, content_type, IDS, *channel_names]))
    for sql, params in hidden:
        build.add(sql, params)
    # The chunk's records by their ids (an index scan for the array), the key last; Python puts them in the
    # list's order.
    sql = (f"SELECT {', '.join(build.columns)}, {key} FROM {qn(model._meta.db_table)} {table}"
           f"{''.join(sql for sql, _params in joins)} WHERE {key} = ANY(%s::bigint[])")
    params = [*build.params, *(param for _sql, params in joins for param in params), IDS]
    ids_at = [at for at, param in enumerate(params) if param is IDS]
    params = [param for param in params if param is not IDS]
    return Plan(sql, params, ids_at, len(columns), [
        (index, len(columns) + at, code, reader, cell) for index, at, code, reader in fixes])


def csv_blocks(*, user, entity, queryset, columns, language, decimal_comma, chunk_sizes):
    """Lists of CSV-ready rows (tuples of texts, ints and None), a chunk at a time; raises Unsupported before
    reading any row when a column has no SQL form."""
    zone = timezone.get_current_timezone()
    db = queryset.db
    with translation.override(language):
        plan = build_plan(user=user, entity=entity, columns=columns, db=db, language=language, zone=zone,
                          decimal_comma=decimal_comma)
    ids = queryset.select_related(None).prefetch_related(None).values_list("pk", flat=True).iterator(
        chunk_size=max(chunk_sizes[1], 2000))
    return _blocks(ids, plan, db, chunk_sizes, language)


def _blocks(ids, plan, db, chunk_sizes, language):
    from itertools import chain, islice, repeat

    # The cells without the JSON and the key at the end (itemgetter of one index gives the value, not a tuple).
    strip = itemgetter(*range(plan.width)) if plan.width > 1 else itemgetter(slice(0, 1))
    key = plan.width + len(plan.fixes)
    sizes = chain([chunk_sizes[0]], repeat(chunk_sizes[1]))
    with translation.override(language):
        while chunk := list(islice(ids, next(sizes))):
            with transaction.atomic(using=db):
                found = {row[key]: row for row in _run(connections[db], plan, chunk)}
            rows = [found[pk] for pk in chunk if pk in found]  # the list's order (a record gone meanwhile: left out)
            if plan.fixes:
                yield [_fixed(row, plan.fixes) if _needs_fix(row, plan.fixes) else strip(row) for row in rows]
            else:
                yield list(map(strip, rows))


def _run(connection, plan, chunk):
    """The plan's rows for `chunk` (inside a transaction). No JIT: the planner's estimate for thousands of index
    look-ups would have each statement compiled first, which takes longer than running it."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(plan.sql, plan.parameters(chunk))
        return cursor.fetchall()


def _needs_fix(row, fixes):
    for _index, at, _code, _reader, _cell in fixes:
        if row[at] is not None:
            return True
    return False


def _fixed(row, fixes):
    cells = list(row[:len(row) - len(fixes) - 1])
    for index, at, code, reader, cell in fixes:
        if row[at] is not None:
            cells[index] = cell(reader(({code: json.loads(row[at])},), None))
    return tuple(cells)
