"""DDL the database-kept copies share (timeline.link_copies, crm_site.lists.related_names): PostgreSQL only."""


def trigger_unless_exists(name, table, definition):
    """SQL that creates trigger `name` on `table` unless the table has it: run after every migrate, it must not take
    the table's lock (CREATE and DROP TRIGGER wait for every running query on it, and block the queries behind
    them) when there is nothing to do. A changed definition is a migration's job."""
    return f"""
DO $do$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{name}' AND tgrelid = '{table}'::regclass) THEN
        CREATE TRIGGER {name} {definition};
    END IF;
END $do$;
"""
