"""Copies of a record's read scope and of an entry's kind, dates and people on each timeline link (PostgreSQL).

Who may read an entry follows its linked records (owner, department, "open to everyone", not in the bin), and the
dashboard counts activities over a whole year of entries. Checking every entry's records by primary key costs
seconds at a million records; with the copies on the link the check is an index-only read of the links.

The database keeps the copies current, so no write path can forget them (the services, bulk SQL, COPY, merges
moving links, the admin, a raw UPDATE):
- a link written or moved (INSERT, or UPDATE of its entry, content type or record) takes its record's and its
  entry's values (`timeline_link_copy`, BEFORE, per row; a link to no record shows nothing);
- a record whose owner, department, "open" flag or bin state changes updates its links
  (`timeline_record_scope_changed`, AFTER, per changed row), a record deleted for good marks them not live;
- an entry whose kind, creation time, author, state, done time or responsible changes updates its links.

The migration adding the copies filled those of the links then written and made the triggers; after every
`migrate` (post_migrate) `install_for_registry` (re)creates them for every registered entity, so an entity added
later is covered with no migration of the timeline, and fills the copies of that entity's links. A bulk load that
turns triggers off (`session_replication_role = replica`, the demo generator's writer: it writes no timeline
links) would have to call `backfill` for the links it wrote. `entity_link_q` is the read scope on the copies.
"""

from django.db.models import Q

from access.scopes import READ, scope_q
from crm_site.pgddl import trigger_unless_exists

# What the copies stand for on the record: scope_q's lookups, renamed to the link's columns.
RECORD_LOOKUPS = {"owner_id": "record_owner_id", "owner": "record_owner_id", "department_id": "record_department_id",
                  "department": "record_department_id", "opened": "record_opened", "pk": "object_id",
                  "id": "object_id"}
RECORD_COPIES = (("record_owner_id", "owner_id"), ("record_department_id", "department_id"),
                 ("record_opened", "opened"))
ENTRY_COPIES = (("entry_kind", "kind"), ("entry_created_at", "created_at"), ("entry_author_id", "author_id"),
                ("entry_state", "state"), ("entry_done_at", "done_at"), ("entry_responsible_id", "responsible_id"))


def enabled(connection=None):
    """Whether the database keeps the copies (PostgreSQL; the SQLite demo checks the records instead)."""
    if connection is None:
        from django.db import connection
    return connection.vendor == "postgresql"


# ---------------------------------------------------------------------------
# The read scope on the copies


def _renamed(q):
    """`q` with its lookups on the record renamed to the link's copies, or None if one has no copy."""
    children = []
    for child in q.children:
        if isinstance(child, Q):
            renamed = _renamed(child)
            if renamed is None:
                return None
            children.append(renamed)
            continue
        lookup, value = child
        field, _sep, rest = lookup.partition("__")
        if field not in RECORD_LOOKUPS:
            return None
        children.append((RECORD_LOOKUPS[field] + (f"__{rest}" if rest else ""), value))
    renamed = Q(*children, _connector=q.connector, _negated=q.negated)
    return renamed


def entity_link_q(user, model, content_type_id):
    """Q on EntryLink: a live link to a record of `model` that `user` may read. None when they may read none;
    NotImplemented when the scope reads something the link has no copy of (the caller checks the record)."""
    q = scope_q(user, model, READ)
    if q is None:
        return None
    renamed = _renamed(q)
    if renamed is None:
        return NotImplemented
    return Q(content_type_id=content_type_id, record_live=True) & renamed


# ---------------------------------------------------------------------------
# The triggers


def _link_copy_sql(entities):
    """The function filling a link's copies from its record (dispatched on the content type) and its entry."""
    record_columns = ", ".join(column for _copy, column in RECORD_COPIES)
    record_targets = ", ".join(f"NEW.{copy}" for copy, _column in RECORD_COPIES)
    branches = []
    for index, (content_type_id, table) in enumerate(entities):
        keyword = "IF" if index == 0 else "ELSIF"
        branches.append(f"""
    {keyword} NEW.content_type_id = {int(content_type_id)} THEN
        SELECT {record_columns}, deleted_at IS NULL INTO {record_targets}, NEW.record_live
        FROM {table} WHERE id = NEW.object_id;""")
    dispatch = "".join(branches) + "\n    END IF;" if branches else ""
    entry_columns = ", ".join(column for _copy, column in ENTRY_COPIES)
    entry_targets = ", ".join(f"NEW.{copy}" for copy, _column in ENTRY_COPIES)
    return f"""
CREATE OR REPLACE FUNCTION timeline_link_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.record_live := NULL;{dispatch}
    IF NEW.record_live IS NULL THEN  -- no such record (or not an entity): the link shows nothing
        NEW.record_owner_id := NULL; NEW.record_department_id := NULL;
        NEW.record_opened := false; NEW.record_live := false;
    END IF;
    SELECT {entry_columns} INTO {entry_targets} FROM timeline_entry WHERE id = NEW.entry_id;
    NEW.entry_kind := coalesce(NEW.entry_kind, ''); NEW.entry_state := coalesce(NEW.entry_state, '');
    RETURN NEW;
END $$;
""" + trigger_unless_exists("timeline_link_copy", "timeline_entrylink", """BEFORE INSERT OR UPDATE OF entry_id, content_type_id,
    object_id ON timeline_entrylink FOR EACH ROW EXECUTE FUNCTION timeline_link_copy()""")


def _record_sql(content_type_id, table):
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for _copy, column in RECORD_COPIES)
    columns = ", ".join(column for _copy, column in RECORD_COPIES)
    return trigger_unless_exists("timeline_scope_changed", table, f"""AFTER UPDATE OF {columns}, deleted_at ON {table} FOR EACH ROW
    WHEN ({changed} OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION timeline_record_scope_changed({int(content_type_id)})""") + trigger_unless_exists(
        "timeline_record_gone", table, f"""AFTER DELETE ON {table} FOR EACH ROW
    EXECUTE FUNCTION timeline_record_scope_changed({int(content_type_id)})""")


def _common_sql():
    record_set = ", ".join(f"{copy} = NEW.{column}" for copy, column in RECORD_COPIES)
    entry_set = ", ".join(f"{copy} = NEW.{column}" for copy, column in ENTRY_COPIES)
    entry_changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for _copy, column in ENTRY_COPIES)
    entry_columns = ", ".join(column for _copy, column in ENTRY_COPIES)
    return f"""
CREATE OR REPLACE FUNCTION timeline_record_scope_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE timeline_entrylink SET record_live = false
        WHERE content_type_id = TG_ARGV[0]::integer AND object_id = OLD.id AND record_live;
        RETURN OLD;
    END IF;
    UPDATE timeline_entrylink SET {record_set}, record_live = NEW.deleted_at IS NULL
    WHERE content_type_id = TG_ARGV[0]::integer AND object_id = NEW.id;
    RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION timeline_entry_copies_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE timeline_entrylink SET {entry_set} WHERE entry_id = NEW.id;
    RETURN NEW;
END $$;
""" + trigger_unless_exists("timeline_entry_copies_changed", "timeline_entry", f"""AFTER UPDATE OF {entry_columns} ON timeline_entry
    FOR EACH ROW WHEN ({entry_changed}) EXECUTE FUNCTION timeline_entry_copies_changed()""")


def install(connection, entities):
    """(Re)create the functions, and the triggers missing, for `entities` [(content type id, table)]
    (PostgreSQL only). CREATE OR REPLACE FUNCTION takes no lock on the tables."""
    if not enabled(connection):
        return
    quote = connection.ops.quote_name
    entities = [(content_type_id, quote(table)) for content_type_id, table in entities]
    with connection.cursor() as cursor:
        cursor.execute(_common_sql())
        cursor.execute(_link_copy_sql(entities))
        for content_type_id, table in entities:
            cursor.execute(_record_sql(content_type_id, table))


def backfill(connection, entities):
    """Fill the copies of the links written before the triggers: one UPDATE per entity, links to no record
    left showing nothing."""
    if not enabled(connection):
        return
    quote = connection.ops.quote_name
    record_set = ", ".join(f"{copy} = r.{column}" for copy, column in RECORD_COPIES)
    entry_set = ", ".join(f"{copy} = coalesce(e.{column}, '')" if copy in ("entry_kind", "entry_state")
                          else f"{copy} = e.{column}" for copy, column in ENTRY_COPIES)
    with connection.cursor() as cursor:
        for content_type_id, table in entities:
            cursor.execute(f"""
                UPDATE timeline_entrylink l SET {record_set}, record_live = r.deleted_at IS NULL, {entry_set}
                FROM {quote(table)} r, timeline_entry e
                WHERE l.content_type_id = %s AND r.id = l.object_id AND e.id = l.entry_id""", [content_type_id])


def install_for_registry(using="default", **kwargs):
    """The post_migrate handler: triggers for every registered entity; copies filled for the newly covered."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    from crm_site.registry import registry

    connection = connections[using]
    if not enabled(connection) or not _has_copies(connection):  # migrated back before the copies
        return
    entities = [(ContentType.objects.db_manager(using).get_for_model(entity.model).pk, entity.model._meta.db_table)
                for entity in registry]
    covered = installed_tables(connection)
    install(connection, entities)
    backfill(connection, [(content_type_id, table) for content_type_id, table in entities if table not in covered])


def _has_copies(connection):
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, "timeline_entrylink")
    return any(column.name == "record_live" for column in columns)


def _scope_trigger_tables(cursor):
    cursor.execute("SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                   "WHERE t.tgname = 'timeline_scope_changed'")
    return {row[0] for row in cursor.fetchall()}


def uninstall(connection):
    """Drop every trigger and function `install` made (the copies' migration, going back)."""
    if not enabled(connection):
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in _scope_trigger_tables(cursor):
            cursor.execute(f"DROP TRIGGER IF EXISTS timeline_scope_changed ON {quote(table)}; "
                           f"DROP TRIGGER IF EXISTS timeline_record_gone ON {quote(table)}")
        cursor.execute("DROP TRIGGER IF EXISTS timeline_link_copy ON timeline_entrylink; "
                       "DROP TRIGGER IF EXISTS timeline_entry_copies_changed ON timeline_entry; "
                       "DROP FUNCTION IF EXISTS timeline_link_copy(); "
                       "DROP FUNCTION IF EXISTS timeline_record_scope_changed(); "
                       "DROP FUNCTION IF EXISTS timeline_entry_copies_changed()")


def installed_tables(connection):
    """The tables whose scope changes reach the links (for the check that every registered entity is covered)."""
    if not enabled(connection):
        return set()
    with connection.cursor() as cursor:
        tables = _scope_trigger_tables(cursor)
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'timeline_link_copy'")
        row = cursor.fetchone()
    body = row[0] if row else ""
    return {table for table in tables if f'"{table}"' in body or f" {table} " in body}
