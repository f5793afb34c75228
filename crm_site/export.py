"""Export of entity records: who may, which rows, which columns, and the audit entry. One service for every
entity and every caller (the list's export link now; saved segments, vCard or a Celery task later).

- Rows: the records in both the user's read scope and export scope, never in the bin (`export_queryset`).
- Columns: ID, the entity's user-facing fields, custom fields (later), then the channels, minus whatever the
  user's roles hide (`export_columns`).
- Values stay typed here (int, Decimal, date, naive local datetime, str); the writers in `export_formats`
  turn them into CSV text or XLSX cells. A link to a record the user may not open prints "hidden record".
- `records_export()` checks, counts and writes the audit entry before a single row is produced.
"""

from dataclasses import dataclass
from decimal import Decimal
from itertools import chain, islice, repeat

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, DateTimeField
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from access.scopes import EXPORT, READ, scope_q

from .display import entity_foreign_keys, reachable_targets, restricted_value

FORMATS = ("csv", "xlsx", "vcf")
CHUNK_SIZE = 2000  # records per round trip; related names, channels and access checks: once per chunk
FIRST_CHUNK_SIZE = 500  # a small first chunk (a CSV write, CSV_ROWS_PER_WRITE): the download starts sooner
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

    Reads in chunks with a server-side cursor, loading only the exported columns. Per chunk, whatever its size:
    one query per foreign key column for its distinct targets (a few responsible users or types for thousands
    of rows: far fewer objects than a join), one for the channels, one per many-to-many column and one per
    linked entity for the access check. (Not prefetch_related: it builds a queryset per record, several times
    slower here.) The language and time zone active now are used for every chunk, also when a streaming
    response reads the rows after the view has returned.
    """
    fields = [column.field for column in columns if column.kind == "field"]
    foreign_keys = [field for field in fields if field.many_to_one]
    linked = {field.name for field in entity_foreign_keys(entity.model, [f.name for f in foreign_keys])}
    has_channels = any(column.kind == "channel" for column in columns)
    relations = [column.field for column in columns if column.kind == "relation"]
    custom = [column.field for column in columns if column.kind == "custom"]
    id_fields = [field for field in custom if field.type in ("link", "user")]
    loaded = [field.name for field in fields if field.concrete and not field.many_to_many]
    if custom:
        loaded.append("custom_fields")
    records = queryset.select_related(None).prefetch_related(None).only(*loaded).iterator(chunk_size=chunk_size)
    cells = [_cell_reader(column, linked) for column in columns]
    language, zone = translation.get_language(), timezone.get_current_timezone()

    def generate():
        sizes = chain([min(FIRST_CHUNK_SIZE, chunk_size)], repeat(chunk_size))
        while chunk := list(islice(records, next(sizes))):
            with translation.override(language):
                pks = [obj.pk for obj in chunk]
                data = _ChunkData(
                    names={field.name: _target_names(chunk, field, attach=field.name in linked)
                           for field in foreign_keys},
                    reachable=reachable_targets(user, chunk, linked),
                    channels=_channel_values(entity.model, pks) if has_channels else {},
                    many={
                        **{field.name: _many_values(field, pks) for field in fields if field.many_to_many},
                        **{relation.name: _linked_values(user, relation, pks) for relation in relations},
                    },
                    choices={field.name: {key: str(label) for key, label in field.flatchoices}
                             for field in fields if field.choices},
                    zone=zone,
                    custom_names={field.code: _custom_names(user, field, chunk) for field in id_fields},
                )
                rows = [[cell(obj, data) for cell in cells] for obj in chunk]
            yield from rows

    return generate()


@dataclass
class _ChunkData:
    """What the cells of one chunk need beyond the records, each read in one query."""

    names: dict  # {foreign key: {target id: name}}
    reachable: set  # {(foreign key, target id)} the user may open (display.reachable_targets)
    channels: dict  # {pk: {channel: [values]}}
    many: dict  # {field name: {pk: [names]}}
    choices: dict  # {field name: {value: label}}
    zone: object
    custom_names: dict = None  # {custom field code: {id: name}} of link and user fields ("hidden record")


def _cell_reader(column, linked):
    """A function (record, chunk data) -> the column's typed value, chosen once per column, not per cell."""
    name = column.name
    if column.kind == "id":
        return lambda obj, data: obj.pk
    if column.kind == "channel":
        return lambda obj, data: CHANNEL_SEPARATOR.join(data.channels.get(obj.pk, {}).get(name, ()))
    if column.kind == "relation":
        return lambda obj, data: CHANNEL_SEPARATOR.join(data.many[name].get(obj.pk, ()))
    if column.kind == "custom":
        return _custom_reader(column)
    field = column.field
    if field.many_to_many:
        return lambda obj, data: CHANNEL_SEPARATOR.join(data.many[name].get(obj.pk, ()))
    if field.choices:
        return lambda obj, data: data.choices[name].get(getattr(obj, name), getattr(obj, name)) or None
    if field.many_to_one and name in linked:
        def linked_record(obj, data):
            if getattr(obj, field.attname) is None:
                return None
            value, _link = restricted_value(obj, name, data.reachable)  # "hidden record" when out of reach
            return str(value)

        return linked_record
    if field.many_to_one:
        return lambda obj, data: data.names[name].get(getattr(obj, field.attname))
    if isinstance(field, BooleanField):
        def yes_no(obj, data):
            value = getattr(obj, name)
            return None if value is None else _("yes") if value else _("no")

        return yes_no
    if isinstance(field, DateTimeField):
        def local_time(obj, data):
            value = getattr(obj, name)  # spreadsheets know no time zones: local time, as the screens show
            return None if value is None else timezone.localtime(value, data.zone).replace(tzinfo=None)

        return local_time
    return lambda obj, data: getattr(obj, name)


def _custom_reader(column):
    definition, code = column.field, column.field.code

    if column.part:
        def money(obj, data):
            value = (obj.custom_fields or {}).get(code)
            if not isinstance(value, dict):
                return None
            if column.part == "amount":
                return Decimal(value.get("amount") or "0")
            return str(value.get("currency") or "").upper() or None

        return money
    if definition.type in ("link", "user"):
        def names(obj, data):
            value = (obj.custom_fields or {}).get(code)
            if value in (None, "", []):
                return None
            found = data.custom_names[code]
            return CHANNEL_SEPARATOR.join(found.get(pk, _("hidden record")) for pk in
                                          (value if isinstance(value, list) else [value]))

        return names

    def typed(obj, data):
        value = (obj.custom_fields or {}).get(code)
        try:
            return definition.export_cell(value)
        except Exception:  # a value stored under an older definition: as it is
            return str(value)

    return typed


def _custom_names(user, definition, chunk):
    """{id: name} of the records (readable by `user`) or users a link/user custom field names in the chunk."""
    ids = set()
    for obj in chunk:
        value = (obj.custom_fields or {}).get(definition.code)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int):
                ids.add(item)
    if not ids:
        return {}
    if definition.type == "user":
        return definition.kind.names(definition, ids)
    model = definition.kind.model(definition)
    return {obj.pk: str(obj) for obj in model.objects.visible_to(user, READ).filter(pk__in=ids)}


def _target_names(chunk, field, attach=False):
    """{target id: name} of a foreign key over the chunk, in one query (users by full name).

    `attach`: also cache each target on its record, for restricted_value(). The base manager, so a target in
    the bin is still found (and then hidden by the access check) instead of being fetched again row by row.
    """
    ids = {getattr(obj, field.attname) for obj in chunk} - {None}
    targets = field.related_model._base_manager.in_bulk(ids) if ids else {}
    if attach:
        for obj in chunk:
            target = targets.get(getattr(obj, field.attname))
            if target is not None:
                field.set_cached_value(obj, target)
    return {pk: (target.get_full_name() or target.get_username()) if isinstance(target, AbstractBaseUser)
            else str(target) for pk, target in targets.items()}


def _channel_values(model, pks):
    from django.contrib.contenttypes.models import ContentType

    from .models import Communication

    values = {}
    comms = (
        Communication.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id__in=pks)
        .order_by("channel", "-is_primary", "position", "pk")  # primary first, as on the card
        .values_list("object_id", "channel", "value")
    )
    for pk, channel, value in comms:
        values.setdefault(pk, {}).setdefault(channel, []).append(value)
    return values


def _linked_values(user, relation, pks):
    """{pk: [names]} of the records linked through `relation` that `user` may read (as the card lists them)."""
    # Two queries: the links, then each distinct readable target once (many contacts share a company).
    pairs = list(
        relation.through_model.objects.filter(**{f"{relation.from_field}__in": pks}).order_by("pk")
        .values_list(f"{relation.from_field}_id", f"{relation.to_field}_id")
    )
    targets = relation.target_model.objects.visible_to(user, READ)
    # Only the columns its name is made of, when the model says which (`STR_FIELDS`): a company row is wide, and
    # loading it whole was most of an export's time for contacts with companies.
    if getattr(relation.target_model, "STR_FIELDS", None):
        targets = targets.only(*relation.target_model.STR_FIELDS)
    visible = targets.in_bulk({target for _pk, target in pairs})
    names = {pk: str(target) for pk, target in visible.items()}
    values = {}
    for pk, target in pairs:
        if target in names:
            values.setdefault(pk, []).append(names[target])
    return values


def _many_values(field, pks):
    through = field.remote_field.through
    source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
    ordering = [f"{target}__{name}" for name in field.related_model._meta.ordering or ["pk"]]
    values = {}
    for link in through.objects.filter(**{f"{source}__in": pks}).select_related(target).order_by(*ordering):
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

    @property
    def filename(self):
        return f"{self.entity.url_prefix}-{timezone.localdate().isoformat()}.{self.file_format}"


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
