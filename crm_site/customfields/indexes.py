"""Expression indexes for the custom fields marked filterable (PostgreSQL).

A filter on a custom field reads one expression: the field's number or ISO text for a range (`expressions`), its
upper-cased text for "contains" (Django's `icontains`). An index on exactly that expression lets PostgreSQL answer
the filter — and a sort by the field — at a million records; equality and "any of" are answered by the column's
GIN index already (migration 0002). Each field type says which indexes a filterable field of it gets
(`FieldType.index_expressions`).

Which of these indexes exist follows the definitions: `sync()` builds the missing ones with CREATE INDEX
CONCURRENTLY (the table stays readable and writable while it is built) and drops those of fields that are no longer
filterable, were removed, or changed type. It runs in a Celery task after an admin saves or deletes a field, after
`migrate`, and as `manage.py custom_field_indexes`; never inside a web request. No table is altered: the values stay
in the `custom_fields` column. An index's name carries a digest of its definition, so a changed definition is a new
index and the old one is dropped.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.db import connections, transaction

logger = logging.getLogger(__name__)

PREFIX = "cfx_"
_LOCK = 0x6366_7831  # pg_advisory_lock key: one sync at a time across processes


@dataclass(frozen=True)
class Spec:
    name: str
    table: str
    field: str  # entity:code, for messages
    using: str  # btree / gin
    expression: str

    def create_sql(self, quote):
        return (f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(self.name)} ON {quote(self.table)} "
                f"USING {self.using} ({self.expression})")


def specs_for(field, model, quote):
    """The indexes a filterable field `field` of `model` gets."""
    table = model._meta.db_table
    column = quote("custom_fields")
    out = []
    for using, expression in field.kind.index_expressions(field, column):
        digest = hashlib.sha1(f"{table}|{using}|{expression}".encode()).hexdigest()[:10]
        name = f"{PREFIX}{digest}_{table}_{field.code}"[:63]
        out.append(Spec(name=name, table=table, field=f"{field.entity}:{field.code}", using=using,
                        expression=expression))
    return out


def _filterable(connection):
    """(field, its specs) of every filterable field of a registered entity."""
    from crm_site.registry import registry

    from .models import CustomField

    quote = connection.ops.quote_name
    for field in CustomField.objects.filter(filterable=True).order_by("entity", "pk"):
        if field.entity in registry and field.type in _types():
            yield field, specs_for(field, registry[field.entity].model, quote)


def wanted_specs(connection):
    return {spec.name: spec for _field, specs in _filterable(connection) for spec in specs}


def _types():
    from .types import TYPES

    return TYPES


def existing_indexes(cursor):
    """{name: (table, valid)} of this module's indexes."""
    cursor.execute(
        "SELECT c.relname, t.relname, i.indisvalid FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE c.relname LIKE %s", [PREFIX.replace("_", r"\_") + "%"])
    return {name: (table, valid) for name, table, valid in cursor.fetchall()}


def field_states(using="default"):
    """{field pk: "built" / "being built"} of the filterable fields that get indexes (for the admin's list)."""
    from django.utils.translation import gettext

    connection = connections[using]
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        have = existing_indexes(cursor)
    states = {}
    for field, specs in _filterable(connection):
        if specs:
            built = all(have.get(spec.name, (None, False))[1] for spec in specs)
            states[field.pk] = gettext("built") if built else gettext("being built")
    return states


@dataclass
class SyncResult:
    created: list
    dropped: list
    failed: list  # [(index name, error text)]


def sync(*, using="default", rebuild=False, dry_run=False):
    """Make the expression indexes match the filterable fields; returns a SyncResult. A no-op on other databases.
    `rebuild`: drop and build every one again (after a change of the SQL functions' bodies)."""
    connection = connections[using]
    result = SyncResult([], [], [])
    if connection.vendor != "postgresql":
        return result
    if connection.in_atomic_block:
        raise RuntimeError("custom field indexes are built outside a transaction (CREATE INDEX CONCURRENTLY)")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK])
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # the "contains" indexes' operator class
            wanted = wanted_specs(connection)
            have = existing_indexes(cursor)
            for name, (_table, valid) in sorted(have.items()):
                if name not in wanted or rebuild or not valid:  # an invalid one is a build that failed half-way
                    result.dropped.append(name)
                    if not dry_run:
                        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}")
            for name, spec in wanted.items():
                if name in have and name not in result.dropped:
                    continue
                result.created.append(name)
                if dry_run:
                    continue
                try:
                    cursor.execute(spec.create_sql(quote))
                except Exception as error:  # a failed build leaves an invalid index: the next sync retries it
                    logger.warning("custom field index %s (%s) failed: %s", name, spec.field, error)
                    result.failed.append((name, str(error)))
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])
    return result


def schedule_sync():
    """After the current transaction commits, sync in a worker (the admin's save does not wait for a build)."""
    from .tasks import sync_field_indexes

    def send():
        try:
            sync_field_indexes.delay()
        except Exception:  # no broker: `manage.py custom_field_indexes` or the next migrate builds them
            logger.exception("could not queue the custom field index sync")

    transaction.on_commit(send)


def sync_after_migrate(sender=None, using="default", **kwargs):
    from .models import CustomField

    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    if CustomField._meta.db_table not in connection.introspection.table_names():
        return  # migrated back to before the custom fields: nothing to index
    result = sync(using=using)
    for name, error in result.failed:
        logger.warning("custom field index %s was not built: %s", name, error)
