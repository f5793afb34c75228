"""Values resolved for a user that this process keeps from one request to the next while the tables they rest on
are unchanged: what access.scopes resolves (roles, levels, departments, field rules, whether anything is shared
with the user) and the list's own settings and segments (crm_site.lists). Every page needs them and reading them
again cost five queries a request.

PostgreSQL keeps a counter per group of tables (`crm_epoch`: one row per name given to `register`): a statement
trigger on each table sets it, in the writing transaction, to the next value of one sequence — so a value is never
given twice, even when a transaction rolls back, and it becomes visible with the write it counts. A request reads
the counters once (one small query); a value this process resolved under the same counter is reused, so a change
still applies on the user's next request. Every write moves it: the ORM, bulk writes, updates, raw SQL.

Only what was resolved outside a transaction is kept for later requests: inside one it may rest on the
transaction's own uncommitted writes (it serves that request only). Elsewhere than PostgreSQL (the SQLite demo),
or before the counters exist (before `migrate`), nothing is kept across requests.

Whoever writes these tables with triggers off (`session_replication_role = replica`) calls `bump()` after.
"""

from django.db import connection as default_connection
from django.db import connections

from .pgddl import trigger_unless_exists

TABLE = "crm_epoch"
SEQUENCE = "crm_epoch_seq"
FUNCTION = "crm_bump_epoch"
COUNTERS = "_crm_counters"  # attribute of the user object: the counters this request read
_GROUPS = {}  # name -> callable giving the table names it watches
_STORE = {}  # (database alias, name, user id) -> (counter, {key: value}), this process's
_STORE_MAX = 20_000
_MADE = set()  # database aliases whose counters exist


def register(name, tables):
    """Watch the tables `tables()` names (called after the apps are loaded) under the counter `name`."""
    _GROUPS[name] = tables


def watched_tables(name):
    return list(_GROUPS[name]())


def cached(user, name, local, key, compute):
    """`local[key]`, else the value this process kept for `user` under the counter `name` at its current value,
    else `compute()` (kept for the next requests when resolved outside a transaction). `local` is the caller's
    per-request dict."""
    if key in local:
        return local[key]
    shared = _shared(user, name)
    if shared is not None and key in shared:
        local[key] = shared[key]
        return local[key]
    value = local[key] = compute()
    if shared is not None and not default_connection.in_atomic_block:
        shared[key] = value
    return value


def forget(user):
    """Read the counters again at the next look-up (after a write within the same request)."""
    user.__dict__.pop(COUNTERS, None)


def _shared(user, name):
    counters = user.__dict__.get(COUNTERS)
    if counters is None:
        counters = user.__dict__[COUNTERS] = _read_counters(user)
    value = counters.get(name)
    if value is None:
        return None
    key = (default_connection.alias, name, user.pk)
    found = _STORE.get(key)
    if found is None or found[0] != value:
        if len(_STORE) >= _STORE_MAX:
            _STORE.clear()
        found = _STORE[key] = (value, {})
    return found[1]


def _read_counters(user):
    """{name: value} of every counter, or {} when they are not kept (not PostgreSQL, not made yet, no saved
    user)."""
    connection = default_connection
    if connection.vendor != "postgresql" or not getattr(user, "pk", None):
        return {}
    with connection.cursor() as cursor:
        if connection.alias not in _MADE:  # once made, the table stays: one query a request after that
            cursor.execute(f"SELECT to_regclass('{TABLE}') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return {}
            _MADE.add(connection.alias)
        cursor.execute(f"SELECT name, n FROM {TABLE}")
        return dict(cursor.fetchall())


def bump(name=None, using="default"):
    """Move the counter `name` (every counter when None): after writing its tables with triggers off."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_regclass('{TABLE}') IS NOT NULL")
        if cursor.fetchone()[0]:
            where = "" if name is None else " WHERE name = %s"
            cursor.execute(f"UPDATE {TABLE} SET n = nextval('{SEQUENCE}'){where}", [] if name is None else [name])


def bump_for_tables(tables, using="default"):
    """Move the counters watching any of `tables` (a load that wrote them with triggers off)."""
    tables = set(tables)
    for name in _GROUPS:
        if tables & set(watched_tables(name)):
            bump(name, using)


def forget_all():
    _STORE.clear()


def trigger_name(name):
    return f"crm_epoch_{name}"


def statements(connection, name):
    quote = connection.ops.quote_name
    found = [
        f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}",
        f"CREATE TABLE IF NOT EXISTS {TABLE} (name text PRIMARY KEY, n bigint NOT NULL)",
        f"INSERT INTO {TABLE} (name, n) VALUES ('{name}', nextval('{SEQUENCE}')) ON CONFLICT (name) DO NOTHING",
        f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN UPDATE {TABLE} SET n = nextval('{SEQUENCE}') WHERE name = TG_ARGV[0]; RETURN NULL; END $$""",
    ]
    for table in watched_tables(name):
        found.append(trigger_unless_exists(
            trigger_name(name), quote(table),
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {quote(table)} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}('{name}')"))
    return found


def ensure_counters(sender=None, using="default", **kwargs):
    """The post_migrate handler: the counters, their sequence and function, a trigger on each watched table (every
    registered entity's grant tables too), made when missing."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        for name in _GROUPS:
            if not set(watched_tables(name)) <= existing:
                continue  # migrated back before some of them
            for statement in statements(connection, name):
                cursor.execute(statement)
