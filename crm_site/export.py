"""Export of entity records: who may, which rows, which columns, and the audit entry. One service for every
entity and every caller (the list's export link now; saved segments, vCard or a Celery task later).

- Rows: the records in both the user's read scope and export scope, never in the bin (`export_queryset`).
- Columns: ID, the entity's user-facing fields, custom fields (later), then the channels, minus whatever the
  user's roles hide (`export_columns`).
- Values stay typed here (int, Decimal, date, naive local datetime, str); the writers in `export_formats`
  turn them into CSV text or XLSX cells. A link to a record the user may not open prints "hidden record".
- `records_export()` checks, counts and writes the audit entry before a single row is produced.
- CSV on PostgreSQL (`Export.csv_chunks()`): the database makes the same cells itself, a chunk per statement
  (`export_sql`), whenever it can make every column byte for byte.
"""

from dataclasses import dataclass
from decimal import Decimal
from itertools import chain, islice, repeat

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.models import BooleanField, DateTimeField, Q
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from access.scopes import EXPORT, READ, scope_q

from .display import entity_foreign_keys

FORMATS = ("csv", "xlsx", "vcf")
CHUNK_SIZE = 2000  # records per round trip; related names, channels and access checks: once per chunk
FIRST_CHUNK_SIZE = 500  # a small first chunk (a CSV write, CSV_ROWS_PER_WRITE): the download starts sooner
SQL_CHUNK_SIZE = 5000  # records per statement when PostgreSQL makes the CSV cells (export_sql): its planning
# (a dozen joins) is paid once per chunk
XLSX_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header
CHANNEL_SEPARATOR = "; "
# Shown on every entity (CRMObject), whatever its card lists.
BASE_FIELDS = ("owner", "department", "opened", "created_at", "updated_at")
# Internal: the bin's own columns, and the JSON column custom fields live in (they get columns of their own).
SKIPPED_FIELDS = {"id", "custom_fields", "deleted_at", "deleted_by"}


class ExportRefused(Exception):
    """The export cannot be made as asked (e.g. more rows than Excel holds); the message says why."""


@dataclass(frozen=True)
class Column:
    name: str  # field name, channel ("phone", "email", "messenger", "web") or "id"
    label: str
    kind: str  # "id" | "field" | "relation" | "channel" | "custom"
    field: object = None  # the model field, the registry Relation of a "relation" column, or the CustomField
    part: str = ""  # a money custom field is two columns: "amount" (a number) and "currency"


# ---------------------------------------------------------------------------
# Columns


def _model_field(model, name):
    """The concrete or forward many-to-many field `name`, or None (properties, reverse and generic relations)."""
    try:
        field = model._meta.get_field(name)
    except Exception:
        return None
    if field.auto_created and not field.concrete:
        return None
    if field.concrete or (field.many_to_many and not field.auto_created):
        return field
    return None


def custom_field_columns(*, user, entity, hidden):
    """Columns of the entity's custom fields the user may see (`kind="custom"`), typed: numbers, dates and
    date-times stay numbers and dates; a money field is an amount column and a currency column."""
    from .customfields.registry import definitions

    columns = []
    for definition in definitions(entity.key):
        if definition.name in hidden:
            continue
        label = capfirst(str(definition.label))
        if definition.type == "money":
            columns.append(Column(definition.name, label, "custom", definition, part="amount"))
            columns.append(Column(definition.name + "__currency", _("%(field)s (currency)") % {"field": label},
                                  "custom", definition, part="currency"))
        else:
            columns.append(Column(definition.name, label, "custom", definition))
    return columns


def export_columns(*, user, entity):
    """ID, the entity's fields (card sections, then list columns, then the base fields), custom fields, and
    the channels; without the fields and channels the user's roles hide. Headers are translated verbose names."""
    from access.fields import hidden_fields

    from .forms import CHANNEL_LABELS

    model = entity.model
    hidden = hidden_fields(user, entity.key)
    names = [name for _title, names in entity.card_sections for name in names]
    names += [*entity.list_columns, *BASE_FIELDS]
    columns = [Column("id", _("ID"), "id")]
    seen = set()
    for name in names:
        if name in seen or name in SKIPPED_FIELDS or name in hidden:
            continue
        seen.add(name)
        field = _model_field(model, name)
        if field is not None and field.many_to_many and hasattr(field.related_model, "entity"):
            continue  # links to other records: the relation columns below, filtered by access
        if field is not None:  # list columns may be properties (full_name) or channels (phone): not fields
            columns.append(Column(name, capfirst(str(field.verbose_name)), "field", field))
    columns += custom_field_columns(user=user, entity=entity, hidden=hidden)
    # The card's links (a contact's companies, a deal's contacts): the linked records the user may read.
    columns += [Column(relation.name, capfirst(str(relation.label)), "relation", relation)
                for relation in entity.relations if relation.name not in hidden]
    if entity.has_channels:
        columns += [Column(str(channel), capfirst(str(label)), "channel")
                    for channel, label in CHANNEL_LABELS.items() if channel not in hidden]
    return columns


# ---------------------------------------------------------------------------
# Rows


def export_queryset(*, user, entity, queryset=None):
    """The records `user` may export: read scope AND export scope, never in the bin.

    `queryset` (e.g. the list's search, filters and sort) only narrows: both scopes are applied again here, so
    no caller can widen them. PermissionDenied when the user may export nothing of this entity.
    """
    model = entity.model
    export_scope = scope_q(user, model, EXPORT)
    if export_scope is None:
        raise PermissionDenied
    queryset = model.objects.all() if queryset is None else queryset
    return queryset.alive().visible_to(user, READ).filter(export_scope)


def export_rows(*, user, entity, queryset, columns, chunk_size=CHUNK_SIZE):
    """Lists of typed values, one per record, in `columns` order.

    The records are read as tuples (`values_list`: no model instance per record) in chunks with a server-side
    cursor, only the exported columns. Per chunk, whatever its size: one query per foreign key column for its
    distinct targets (a few responsible users or types for thousands of rows: far fewer objects than a join),
    one for the channels, one per many-to-many column and one per linked entity for the access check. On
    PostgreSQL the channels come back joined per record and channel (`string_agg`) and the chunk's ids go as one
    array parameter (`= ANY(%s)`) instead of 2,000 placeholders; other databases (SQLite for the demo) get the
    same values from the plain queries (`SQL_AGGREGATES`). The language and time zone active now are used for
    every chunk, also when a streaming response reads the rows after the view has returned.
    """
    model = entity.model
    fields = [column.field for column in columns if column.kind == "field"]
    foreign_keys = [field for field in fields if field.many_to_one]
    linked = {field.name for field in entity_foreign_keys(model, [f.name for f in foreign_keys])}
    channels = [column.name for column in columns if column.kind == "channel"]
    relations = [column.field for column in columns if column.kind == "relation"]
    many_fields = [field for field in fields if field.many_to_many]
    custom = [column.field for column in columns if column.kind == "custom"]
    id_fields = [field for field in custom if field.type in ("link", "user")]
    # A record is a tuple: its pk, each exported column (a foreign key's id), then the custom fields' JSON.
    selected = ["pk", *(field.attname for field in fields if field.concrete and not field.many_to_many)]
    if custom:
        selected.append("custom_fields")
    position = {name: index for index, name in enumerate(selected)}
    records = (queryset.select_related(None).prefetch_related(None).values_list(*selected)
               .iterator(chunk_size=chunk_size))
    among = _among_for(queryset.db)
    cells = [_cell_reader(column, linked, position) for column in columns]
    language, zone = translation.get_language(), timezone.get_current_timezone()
    custom_at = position.get("custom_fields")

    def generate():
        sizes = chain([min(FIRST_CHUNK_SIZE, chunk_size)], repeat(chunk_size))
        while chunk := list(islice(records, next(sizes))):
            with translation.override(language):
                pks = [row[0] for row in chunk]
                custom_values = [row[custom_at] or {} for row in chunk] if custom_at is not None else []
                data = _ChunkData(
                    names={field.name: _target_names(user, field, {row[position[field.attname]] for row in chunk},
                                                     among, linked=field.name in linked)
                           for field in foreign_keys},
                    channels=_channel_values(model, pks, channels, among) if channels else {},
                    many={
                        **{field.name: _many_values(field, pks, among) for field in many_fields},
                        **{relation.name: _linked_values(user, relation, pks, among) for relation in relations},
                    },
                    choices={field.name: {key: str(label) for key, label in field.flatchoices}
                             for field in fields if field.choices},
                    zone=zone,
                    custom_names={field.code: _custom_names(user, field, custom_values) for field in id_fields},
                    yes_no=(_("yes"), _("no")),
                )
                rows = [[cell(row, data) for cell in cells] for row in chunk]
            yield from rows

    return generate()


# Whether PostgreSQL gets the aggregated queries (joined channels, array parameters); off, it gets the portable
# ones every database runs. A switch for the tests: both ways must give the same rows.
SQL_AGGREGATES = True


def _any_of(column, values):
    """`column = ANY(%s)`, the values as one array parameter (`field__any`, crm_site.lookups): an IN list of
    2,000 placeholders costs more to build, quote and parse than the query takes to run."""
    return Q(**{f"{column}__any": values})


def _aggregates(db):
    return SQL_AGGREGATES and connections[db].vendor == "postgresql"


def _among_for(db):
    """A function (column, values) -> the filter `column IN values`, in the form the database reads fastest."""
    if _aggregates(db):
        return _any_of
    return lambda column, values: Q(**{f"{column}__in": values})


@dataclass
class _ChunkData:
    """What the cells of one chunk need beyond the records' tuples, each read in one query."""

    names: dict  # {foreign key: {target id: name, or "hidden record" / "in the recycle bin" for a linked record}}
    channels: dict  # {channel: {pk: values joined}}
    many: dict  # {field name: {pk: [names]}}
    choices: dict  # {field name: {value: label}}
    zone: object
    custom_names: dict = None  # {custom field code: {id: name}} of link and user fields ("hidden record")
    yes_no: tuple = ("yes", "no")


def _cell_reader(column, linked, position):
    """A function (record tuple, chunk data) -> the column's typed value, chosen once per column, not per cell."""
    name = column.name
    if column.kind == "id":
        return lambda row, data: row[0]
    if column.kind == "channel":
        return lambda row, data: data.channels[name].get(row[0], "")
    if column.kind == "relation":
        return lambda row, data: CHANNEL_SEPARATOR.join(data.many[name].get(row[0], ()))
    if column.kind == "custom":
        return _custom_reader(column, position["custom_fields"])
    field = column.field
    if field.many_to_many:
        return lambda row, data: CHANNEL_SEPARATOR.join(data.many[name].get(row[0], ()))
    at = position[field.attname]
    if field.choices:
        return lambda row, data: data.choices[name].get(row[at], row[at]) or None
    if field.many_to_one:  # a linked record's name is already "hidden record" when out of reach (_target_names)
        return lambda row, data: data.names[name].get(row[at])
    if isinstance(field, BooleanField):
        def yes_no(row, data):
            value = row[at]
            return None if value is None else data.yes_no[0] if value else data.yes_no[1]

        return yes_no
    if isinstance(field, DateTimeField):
        def local_time(row, data):
            value = row[at]  # spreadsheets know no time zones: local time, as the screens show
            # (timezone.localtime() without its checks: the database gives aware date-times, USE_TZ)
            return None if value is None else value.astimezone(data.zone).replace(tzinfo=None)

        return local_time
    return lambda row, data: row[at]


def _custom_reader(column, at):
    definition, code = column.field, column.field.code

    if column.part:
        def money(row, data):
            value = (row[at] or {}).get(code)
            if not isinstance(value, dict):
                return None
            if column.part == "amount":
                return Decimal(value.get("amount") or "0")
            return str(value.get("currency") or "").upper() or None

        return money
    if definition.type in ("link", "user"):
        def names(row, data):
            value = (row[at] or {}).get(code)
            if value in (None, "", []):
                return None
            found = data.custom_names[code]
            return CHANNEL_SEPARATOR.join(found.get(pk, _("hidden record")) for pk in
                                          (value if isinstance(value, list) else [value]))

        return names

    def typed(row, data):
        value = (row[at] or {}).get(code)
        try:
            return definition.export_cell(value)
        except Exception:  # a value stored under an older definition: as it is
            return str(value)

    return typed


def _custom_names(user, definition, values):
    """{id: name} of the records (readable by `user`) or users a link/user custom field names in the chunk
    (`values`: the chunk's custom field dicts)."""
    ids = set()
    for custom in values:
        value = custom.get(definition.code)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int):
                ids.add(item)
    if not ids:
        return {}
    if definition.type == "user":
        return definition.kind.names(definition, ids)
    model = definition.kind.model(definition)
    return {obj.pk: str(obj) for obj in model.objects.visible_to(user, READ).filter(pk__in=ids)}


def _target_names(user, field, ids, among, linked=False):
    """{target id: name} of a foreign key's distinct targets in a chunk, in one query (users by full name).

    `linked` (a registered entity): a target the user may not open reads "in the recycle bin" when it is there,
    else "hidden record", as display.restricted_value() shows it; one more query, for the readable ones. The
    base manager, so a target in the bin is still found.
    """
    ids = ids - {None}
    if not ids:
        return {}
    related = field.related_model
    targets = related._base_manager.filter(among("pk", ids))
    if linked and getattr(related, "STR_FIELDS", None):
        targets = targets.only(*related.STR_FIELDS, "deleted_at")
    if not linked:
        return {target.pk: (target.get_full_name() or target.get_username()) if isinstance(target, AbstractBaseUser)
                else str(target) for target in targets}
    readable = set(related.objects.visible_to(user, READ).filter(among("pk", ids)).values_list("pk", flat=True))
    return {target.pk: str(target) if target.pk in readable
            else _("in the recycle bin") if getattr(target, "deleted_at", None) is not None else _("hidden record")
            for target in targets}


def _channel_values(model, pks, channels, among):
    """{channel: {pk: the record's values of that channel, joined}}, primary first then by position, as on the
    card; PostgreSQL joins them itself (one row per record and channel)."""
    from django.contrib.contenttypes.models import ContentType

    from .models import Communication

    values = {channel: {} for channel in channels}
    comms = Communication.objects.filter(among("object_id", pks), content_type=ContentType.objects.get_for_model(model),
                                         channel__in=channels)
    order = ("-is_primary", "position", "pk")
    if among is _any_of:
        from django.contrib.postgres.aggregates import StringAgg

        joined = (comms.order_by().values("object_id", "channel")
                  .annotate(joined=StringAgg("value", CHANNEL_SEPARATOR, order_by=order))
                  .values_list("object_id", "channel", "joined"))
        for pk, channel, text in joined:
            values[channel][pk] = text
        return values
    lists = {}
    for pk, channel, value in comms.order_by("channel", *order).values_list("object_id", "channel", "value"):
        lists.setdefault((channel, pk), []).append(value)
    for (channel, pk), items in lists.items():
        values[channel][pk] = CHANNEL_SEPARATOR.join(items)
    return values


def _linked_values(user, relation, pks, among):
    """{pk: [names]} of the records linked through `relation` that `user` may read (as the card lists them)."""
    # Two queries: the links, then each distinct readable target once (many contacts share a company).
    pairs = list(
        relation.through_model.objects.filter(among(f"{relation.from_field}_id", pks)).order_by("pk")
        .values_list(f"{relation.from_field}_id", f"{relation.to_field}_id")
    )
    wanted = {target for _pk, target in pairs}
    if not wanted:
        return {}
    targets = relation.target_model.objects.visible_to(user, READ).filter(among("pk", wanted))
    # Only the columns its name is made of, when the model says which (`STR_FIELDS`): a company row is wide, and
    # loading it whole was most of an export's time for contacts with companies.
    if getattr(relation.target_model, "STR_FIELDS", None):
        targets = targets.only(*relation.target_model.STR_FIELDS)
    names = {target.pk: str(target) for target in targets}
    values = {}
    for pk, target in pairs:
        if target in names:
            values.setdefault(pk, []).append(names[target])
    return values


def _many_values(field, pks, among):
    through = field.remote_field.through
    source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
    ordering = [f"{target}__{name}" for name in field.related_model._meta.ordering or ["pk"]]
    values = {}
    for link in through.objects.filter(among(f"{source}_id", pks)).select_related(target).order_by(*ordering):
        values.setdefault(getattr(link, f"{source}_id"), []).append(str(getattr(link, target)))
    return values


# ---------------------------------------------------------------------------
# The service


def vcard_kind(entity):
    """"person" or "organization" when the entity's records export as vCards (contacts, companies), else "".
    Another entity says so in its registry entry: meta={"vcard": "person"}."""
    if entity.meta.get("vcard"):
        return entity.meta["vcard"]
    return {"contact": "person", "company": "organization"}.get(entity.key, "")


def formats_for(entity):
    return [name for name in FORMATS if name != "vcf" or vcard_kind(entity)]


@dataclass
class Export:
    """A checked, counted and logged export: its rows are produced on demand by a writer."""

    user: object
    entity: object
    queryset: object
    columns: list
    count: int
    file_format: str

    @property
    def header(self):
        return [column.label for column in self.columns]

    def rows(self):
        return export_rows(user=self.user, entity=self.entity, queryset=self.queryset, columns=self.columns)

    def csv_chunks(self, language=None, on_rows=None):
        """The CSV file as chunks of UTF-8 bytes (as export_formats.csv_chunks() of rows()). On PostgreSQL the
        database makes the cells, a chunk of records per statement (`export_sql`), when it can make every column
        byte for byte; else, and on other databases, the rows are formatted in Python. `on_rows(n)`: called with
        the number of rows written so far, after each chunk (a background job's progress)."""
        from . import export_sql
        from .export_formats import csv_chunks, csv_ready_chunks, uses_decimal_comma

        names_language = translation.get_language()
        if _aggregates(self.queryset.db):
            try:
                blocks = export_sql.csv_blocks(
                    user=self.user, entity=self.entity, queryset=self.queryset, columns=self.columns,
                    language=names_language, decimal_comma=uses_decimal_comma(language),
                    chunk_sizes=(FIRST_CHUNK_SIZE, SQL_CHUNK_SIZE))
            except export_sql.Unsupported:
                pass
            else:
                return csv_ready_chunks(header=self.header, blocks=_counted(blocks, on_rows), language=language)
        rows = self.rows()
        return csv_chunks(header=self.header, rows=_counted_rows(rows, on_rows) if on_rows else rows,
                          language=language)

    @property
    def filename(self):
        return f"{self.entity.url_prefix}-{timezone.localdate().isoformat()}.{self.file_format}"


def _counted(blocks, on_rows):
    done = 0
    for rows in blocks:
        yield rows
        done += len(rows)
        if on_rows:
            on_rows(done)


def _counted_rows(rows, on_rows, every=CHUNK_SIZE):
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % every == 0:
            on_rows(done)
    on_rows(done)


def records_export(*, user, entity, file_format, queryset=None, request=None, details=None):
    """Check the rights, count the rows and log the export (who, when, what, how many) before any row is read.

    PermissionDenied without an export right on the entity; ValueError for an unknown format; ExportRefused
    when the rows do not fit the format. Nothing is logged when refused.
    """
    from access.audit import audit_log
    from access.models import AuditLog

    if file_format not in FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    if file_format == "vcf" and not vcard_kind(entity):
        raise ExportRefused(_("These records cannot be exported as vCards."))
    queryset = export_queryset(user=user, entity=entity, queryset=queryset)
    count = queryset.count()
    if file_format == "xlsx" and count > XLSX_MAX_ROWS:
        raise ExportRefused(
            _("%(count)s records do not fit in an Excel sheet (at most %(limit)s rows): narrow the list down "
              "with search or filters, or export as CSV.") % {"count": count, "limit": XLSX_MAX_ROWS}
        )
    audit_log(AuditLog.EXPORT, user=user, request=request, model=entity.model, count=count,
              details={"format": file_format, **(details or {})})
    return Export(user=user, entity=entity, queryset=queryset, columns=export_columns(user=user, entity=entity),
                  count=count, file_format=file_format)
