"""Set-based INSERTs for the write services: COPY on PostgreSQL, bulk_create elsewhere.

Django's bulk_create prepares every value through the field API and, on PostgreSQL, sends the batch as UNNEST
arrays quoted in Python (the client-side cursor): about 10 µs a value, most of an import's write time. COPY
hands psycopg's C adapters plain values instead. Ids come from the table's own sequence first (one query per
batch), so the objects get their pks as with bulk_create. No signals are sent, as with bulk_create.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone
from django.utils.functional import Promise

# Fields whose Python value is what the column stores (psycopg adapts it as it is).
_PLAIN = (models.AutoField, models.BigAutoField, models.IntegerField, models.BooleanField, models.CharField,
          models.TextField, models.DateTimeField, models.DateField, models.DecimalField, models.FloatField,
          models.UUIDField, models.ForeignKey, models.DurationField)


def insert(model, objs, extra=()):
    """INSERT `objs` (instances of `model`, unsaved) and set their pks; returns them. `extra`: [(column, values
    in the order of objs)] for columns the database keeps beside the model's (PostgreSQL only)."""
    objs = list(objs)
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=1000)
    fields = model._meta.concrete_fields
    pk = model._meta.pk
    missing = [obj for obj in objs if obj.pk is None]
    if missing:
        for obj, value in zip(missing, _next_ids(model, len(missing)), strict=True):
            setattr(obj, pk.attname, value)
    converters = [_converter(field) for field in fields]
    extra = [(column, list(values)) for column, values in extra]
    copy_rows(model._meta.db_table, [field.column for field in fields] + [column for column, _values in extra],
              ([convert(obj) for convert in converters] + [values[index] for _column, values in extra]
               for index, obj in enumerate(objs)))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def insert_values(model, rows):
    """INSERT rows given as {attname: value} dicts, no instance built (fields left out get their defaults, as a
    new instance would); returns the new pks in order."""
    rows = list(rows)
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return [obj.pk for obj in model.objects.bulk_create([model(**row) for row in rows], batch_size=1000)]
    pk = model._meta.pk
    ids = _next_ids(model, len(rows))
    fields = [field for field in model._meta.concrete_fields if field is not pk]
    now = timezone.now()
    columns = []
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            default = (lambda: now), True
        elif field.has_default() and callable(field.default):
            default = field.default, True
        else:
            default = field.get_default(), False
        columns.append((field.attname, _value_encoder(field), default))

    def values():
        for pk_value, row in zip(ids, rows, strict=True):
            out = [pk_value]
            for attname, encode, (default, call) in columns:
                value = row[attname] if attname in row else (default() if call else default)
                out.append(value if encode is None or value is None else encode(value))
            yield out

    copy_rows(model._meta.db_table, [pk.column] + [field.column for field in fields], values())
    return ids


def copy_rows(table, columns, rows):
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _next_ids(model, count):
    pk = model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [connection.ops.quote_name(model._meta.db_table), pk.column, count])
        return [row[0] for row in cursor.fetchall()]


def _converter(field):
    """obj -> the value to COPY for `field` (auto_now fields stamped as bulk_create would)."""
    attname = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) or isinstance(
            field, models.FileField):
        return lambda obj: _encode(field, field.pre_save(obj, True))
    encode = _value_encoder(field)
    if encode is None:
        return lambda obj: getattr(obj, attname)

    def convert(obj):
        value = getattr(obj, attname)
        return None if value is None else encode(value)

    return convert


def _value_encoder(field):
    """None when the Python value goes to COPY as it is, else value -> its column's form."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder or DjangoJSONEncoder
        return lambda value: json.dumps(value, cls=encoder, ensure_ascii=False)
    if isinstance(field, (models.CharField, models.TextField)):
        return lambda value: str(value) if isinstance(value, Promise) else value
    if isinstance(field, _PLAIN) and not isinstance(field, models.FileField):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def _encode(field, value):
    if value is None:
        return None
    encode = _value_encoder(field)
    return value if encode is None else encode(value)
