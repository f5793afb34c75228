"""PostgreSQL indexes behind the quick search and the custom-field filters, for every registered entity.

Made after `migrate` (post_migrate, idempotent `IF NOT EXISTS`), so an entity registered later gets them too:
- `pg_trgm` trigram GIN indexes on `UPPER(column)` of each local search field (Django's `icontains` is
  `UPPER(col::text) LIKE UPPER('%…%')`, which such an index serves), and on the normalised phones and emails
  (partial, per channel);
- a `jsonb_path_ops` GIN index on each entity's `custom_fields`, for containment (`@>`) filters;
- a partial B-tree on the live rows in the lists' default order, `(created_at DESC, id DESC) WHERE deleted_at IS
  NULL`, carrying the read-scope columns (owner, department, opened): a list without a selective filter reads
  its first page and its capped count (`leading_keys`) from this index alone, whatever the user's scope, and a
  keyset page past them starts at its cursor.
Nothing on SQLite (the demo database): the same queries run there, unindexed.
"""

from django.db import connection as default_connection


def index_statements(connection=None):
    from crm_site.models import Communication
    from crm_site.registry import registry

    connection = connection or default_connection
    quote = connection.ops.quote_name
    statements = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
    comm_table = Communication._meta.db_table
    for channel in ("phone", "email"):
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {quote(f'crm_comm_{channel}_trgm')} ON {quote(comm_table)} "
            f"USING gin ({quote('normalized')} gin_trgm_ops) WHERE {quote('channel')} = '{channel}'"
        )
    for entity in registry:
        model = entity.model
        table = model._meta.db_table
        for name in entity.search_fields:
            if "__" in name:
                continue  # another table's column: indexed with that entity
            column = model._meta.get_field(name).column
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {quote(f'{table}_{column}_trgm'[:63])} ON {quote(table)} "
                f"USING gin ((UPPER(({quote(column)})::text)) gin_trgm_ops)"
            )
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {quote(f'{table}_cf_gin'[:63])} ON {quote(table)} "
            f"USING gin ({quote('custom_fields')} jsonb_path_ops)"
        )
        column = {name: quote(model._meta.get_field(name).column)
                  for name in ("created_at", "deleted_at", "owner", "department", "opened")}
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {quote(f'{table}_live_order'[:63])} ON {quote(table)} "
            f"({column['created_at']} DESC, {quote(model._meta.pk.column)} DESC) "
            f"INCLUDE ({column['owner']}, {column['department']}, {column['opened']}) "
            f"WHERE {column['deleted_at']} IS NULL"
        )
    return statements


def ensure_indexes(sender=None, using="default", **kwargs):
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for statement in index_statements(connection):
            cursor.execute(statement)
