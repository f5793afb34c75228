"""The names a record is found by through its relations, copied onto its own row (PostgreSQL).

The quick search finds a contact by the name of a company they are linked to. Asked as "the contacts linked to
the companies whose name matches", PostgreSQL reads each such contact by primary key: `Бел` names 793 companies,
2,456 contacts, half of a searched list's 21 ms at a million contacts. With the names on the contact's own row
(`search_<relation>`, e.g. `contacts_contact.search_companies`: the linked records' names, apart by SEPARATOR) under a
trigram index, that part of the search is one more index condition on the row, ORed with the name columns'.

The database keeps the copies current, so no write path can forget them (the services, bulk SQL and COPY, merges
moving links, the admin):
- links inserted, deleted or moved (one statement at a time, its transition tables) recompute their records';
- a linked record renamed recomputes those of the records linked to it;
- new records are written with theirs (`initial_copies`: no rewrite), and a bulk load that turns triggers off
  (the demo generator's COPY writer) refreshes those of the links it added (`refresh_after_load`).
Made after every `migrate` (post_migrate, idempotent) for each relation of every registered entity whose other
side has a `name`, as the search indexes are (`crm_site.lists.indexes`); a column added then is filled from the
links at once. The column is not a field of the model: Django never reads or writes it, history and forms don't
see it. SQLite (the demo) has no copies: the search asks the link table there.
"""

from django.db import connection as default_connection

from ..pgddl import trigger_unless_exists

SEPARATOR = "\x1f"  # between two names: never typed, no word of a trigram, nothing COPY text must escape


def enabled(connection=None):
    return (connection or default_connection).vendor == "postgresql"


def name_relations(entity):
    """The entity's relations whose other side has a `name` (a contact's companies), as the search uses them."""
    return [relation for relation in entity.relations
            if "name" in {field.name for field in relation.target_model._meta.get_fields()}]


def column_for(relation):
    return f"search_{relation.name}"[:63]


def _parts(connection, entity, relation):
    quote = connection.ops.quote_name
    through = relation.through_model._meta
    target = relation.target_model._meta
    return {
        "table": quote(entity.model._meta.db_table),
        "column": quote(column_for(relation)),
        "through": quote(through.db_table),
        "from": quote(through.get_field(relation.from_field).column),
        "to": quote(through.get_field(relation.to_field).column),
        "target": quote(target.db_table),
        "name": quote(target.get_field("name").column),
        "prefix": f"crm_names_{entity.model._meta.db_table}_{relation.name}"[:50],
    }


def _recompute(p, ids):
    """UPDATE the copies of the records whose ids `ids` (a SELECT of one column) lists, where they change."""
    return f"""
        UPDATE {p['table']} r SET {p['column']} = x.names
        FROM (SELECT i.id, coalesce((SELECT string_agg(t.{p['name']}, chr(31) ORDER BY t.id)
                                     FROM {p['through']} l JOIN {p['target']} t ON t.id = l.{p['to']}
                                     WHERE l.{p['from']} = i.id), '') AS names
              FROM ({ids}) AS i (id) WHERE i.id IS NOT NULL) AS x
        WHERE r.id = x.id AND r.{p['column']} IS DISTINCT FROM x.names"""


def statements(connection, entity, relation):
    p = _parts(connection, entity, relation)
    prefix = p["prefix"]
    new_ids, old_ids = f"SELECT DISTINCT {p['from']} FROM new_links", f"SELECT DISTINCT {p['from']} FROM old_links"
    return [
        f"""CREATE OR REPLACE FUNCTION {prefix}_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {_recompute(p, new_ids)};
    ELSIF TG_OP = 'DELETE' THEN {_recompute(p, old_ids)};
    ELSE {_recompute(p, f"{new_ids} UNION {old_ids}")};
    END IF;
    RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {prefix}_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('{p['through']}') IS NULL THEN  -- the links' app migrated back: nothing to keep
        RETURN NULL;
    END IF;
    {_recompute(p, f"SELECT {p['from']} FROM {p['through']} WHERE {p['to']} = NEW.id")};
    RETURN NULL;
END $$""",
        trigger_unless_exists(f"{prefix}_ins", p["through"], f"""AFTER INSERT ON {p['through']} REFERENCING NEW TABLE AS new_links
            FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_links()"""),
        trigger_unless_exists(f"{prefix}_del", p["through"], f"""AFTER DELETE ON {p['through']} REFERENCING OLD TABLE AS old_links
            FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_links()"""),
        trigger_unless_exists(f"{prefix}_upd", p["through"], f"""AFTER UPDATE ON {p['through']}
            REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links FOR EACH STATEMENT
            EXECUTE FUNCTION {prefix}_links()"""),
        trigger_unless_exists(f"{prefix}_ren", p["target"], f"""AFTER UPDATE OF {p['name']} ON {p['target']} FOR EACH ROW
            WHEN (OLD.{p['name']} IS DISTINCT FROM NEW.{p['name']}) EXECUTE FUNCTION {prefix}_renamed()"""),
    ]


def index_name(entity, relation):
    return f"{entity.model._meta.db_table}_{column_for(relation)}_trgm"[:63]


def column_statements(connection, entity, relation):
    """The column and its index (ALTER TABLE and CREATE INDEX lock the table: run only when one is missing)."""
    p = _parts(connection, entity, relation)
    return [f"ALTER TABLE {p['table']} ADD COLUMN IF NOT EXISTS {p['column']} text NOT NULL DEFAULT ''",
            f"CREATE INDEX IF NOT EXISTS {connection.ops.quote_name(index_name(entity, relation))} "
            f"ON {p['table']} USING gin ((UPPER({p['column']})) gin_trgm_ops)"]


def backfill_statement(connection, entity, relation):
    p = _parts(connection, entity, relation)
    return _recompute(p, f"SELECT DISTINCT {p['from']} FROM {p['through']}")


def initial_copies(entity, links):
    """[(column, values)] of new records' copies, from the links they are created with (`links`: per record,
    {relation name: [(relation, target, extra)]}, as the write services resolve them): COPY writes them with
    the rows, so the links' trigger finds them current and rewrites no row (an import of 10,000 contacts with
    their companies spent a sixth of its time rewriting them). The same text the trigger would write: the
    names in the order of the targets' ids, apart by SEPARATOR. Nothing elsewhere than PostgreSQL."""
    if not enabled():
        return []
    out = []
    for relation in name_relations(entity):
        values = []
        for record_links in links:
            targets = {target.pk: target for _relation, target, _extra in (record_links or {}).get(relation.name, ())}
            values.append(SEPARATOR.join(targets[pk].name for pk in sorted(targets) if targets[pk].name is not None))
        out.append((column_for(relation), values))
    return out


def demo_copies(specs):
    """For a bulk load of the demo generator's tables (`specs`: its TableSpecs), each name relation whose three
    tables it writes, so the load can COPY the records with their copies: [(entity key, index of its id, column,
    link key, index of the link's record id, of its target id, target key, index of the target's id, of its
    name)]."""
    from crm_site.registry import registry

    by_model = {spec.model: spec for spec in specs}
    out = []
    for entity in registry:
        for relation in name_relations(entity):
            own, link, target = (by_model.get(m) for m in (entity.model, relation.through_model,
                                                           relation.target_model))
            if own is None or link is None or target is None or "name" not in target.fields:
                continue
            from_name = relation.through_model._meta.get_field(relation.from_field).attname
            to_name = relation.through_model._meta.get_field(relation.to_field).attname
            if from_name not in link.fields or to_name not in link.fields or "id" not in own.fields:
                continue
            out.append((own.key, own.fields.index("id"), column_for(relation), link.key, link.fields.index(from_name),
                        link.fields.index(to_name), target.key, target.fields.index("id"), target.fields.index("name")))
    return out


def refresh_after_load(connection, tables, high_water):
    """After a bulk load that turned the triggers off (crm_site.demo's COPY writer): the copies of the records
    whose links were added, the links above `high_water` ({table: (pk column, largest pk before the load)}) of
    the link tables in `tables`. Returns whether any was refreshed."""
    from crm_site.registry import registry

    if not enabled(connection):
        return False
    done = False
    with connection.cursor() as cursor:
        for entity in registry:
            for relation in name_relations(entity):
                through = relation.through_model._meta
                if through.db_table not in tables:
                    continue
                p = _parts(connection, entity, relation)
                above = int((high_water.get(through.db_table) or (None, 0))[1] or 0)
                cursor.execute(_recompute(p, f"SELECT DISTINCT {p['from']} FROM {p['through']} "
                                             f"WHERE {connection.ops.quote_name(through.pk.column)} > {above}"))
                done = True
    return done


def _has_column(cursor, connection, table, column):
    return any(c.name == column for c in connection.introspection.get_table_description(cursor, table))


def _indexes(cursor, connection, table):
    return set(connection.introspection.get_constraints(cursor, table))


def ensure_copies(sender=None, using="default", **kwargs):
    """The post_migrate handler: the columns, indexes, functions and triggers of every name relation; a column
    just added is filled from the links."""
    from django.db import connections

    from crm_site.registry import registry

    connection = connections[using]
    if not enabled(connection):
        return
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for entity in registry:
            for relation in name_relations(entity):
                table = entity.model._meta.db_table
                if relation.through_model._meta.db_table not in connection.introspection.table_names(cursor):
                    continue  # migrated back before the link table
                fresh = not _has_column(cursor, connection, table, column_for(relation))
                if fresh or index_name(entity, relation) not in _indexes(cursor, connection, table):
                    for statement in column_statements(connection, entity, relation):
                        cursor.execute(statement)
                for statement in statements(connection, entity, relation):
                    cursor.execute(statement)
                if fresh:
                    cursor.execute(backfill_statement(connection, entity, relation))
