"""The fast demo writer for PostgreSQL: COPY each slice into its tables, history rows by INSERT ... SELECT."""

import itertools
import json
import time

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, models, transaction

from crm_site import epochs
from crm_site.lists import related_names

from .tables import missing_fields

_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_PLAIN_FIELDS = (models.IntegerField, models.AutoField, models.ForeignKey, models.BooleanField, models.CharField,
                 models.TextField, models.DateField, models.DecimalField)  # str(value) is valid COPY input
_NULL = {None: "\\N"}


def _copy_converter(f):
    if isinstance(f, models.BooleanField):
        return lambda v: "\\N" if v is None else ("t" if v else "f")
    if isinstance(f, models.JSONField):
        return lambda v: "\\N" if v is None else json.dumps(v, cls=DjangoJSONEncoder).translate(_COPY_ESCAPE)
    if isinstance(f, (models.DateTimeField, models.DateField)):
        return lambda v: "\\N" if v is None else v if isinstance(v, str) else v.isoformat()
    if isinstance(f, (models.CharField, models.TextField)):
        return lambda v: "\\N" if v is None else v.translate(_COPY_ESCAPE)
    return lambda v: "\\N" if v is None else str(v)


def _copy_text(rows, converters, suffix, plain):
    """COPY text of the rows.

    Quick way when every column is `plain`: str() of each value (None as \\N, booleans as True/False and
    datetimes as '2024-05-01 10:00:00+00:00' are valid input), all in C. It is kept only if counting tabs,
    newlines and backslashes proves that no value needed escaping; otherwise every value is converted and
    escaped one by one.
    """
    if plain and rows:
        get = _NULL.get
        tail = suffix + "\n"
        text = "".join(["\t".join(map(str, map(get, row, row))) + tail for row in rows])
        n = len(rows)
        nulls = sum(map(tuple.count, rows, itertools.repeat(None)))
        if (text.count("\n") == n and text.count("\t") == n * (len(converters) - 1 + suffix.count("\t"))
                and text.count("\\") == nulls + n * suffix.count("\\") and "\r" not in text):
            return text
    pairs = list(enumerate(converters))
    return "".join("\t".join([conv(row[i]) for i, conv in pairs]) + suffix + "\n" for row in rows)


class PostgresCopyWriter:
    """PostgreSQL: COPY each slice into its tables, then INSERT ... SELECT the history rows of the same ids.

    Runs inside the caller's transaction; the tables written are locked (EXCLUSIVE: reads go on, writes wait)
    so the ids handed out cannot collide, and the identity sequences are moved past them at the end.

    Where the time goes, measured (a scale of 20,000 ≈ 360,000 rows with history, 2 cores): foreign-key
    triggers (≈ 60 % of COPY), then B-tree inserts into the ~15 indexes of each table and history table.
    So, when the role may (superuser, or granted SET on the parameter), the foreign-key triggers are
    skipped with `session_replication_role = replica` and every foreign key of the new rows is checked
    instead by one anti-join per table at the end (`_check_references`, as ALTER TABLE ... VALIDATE does).
    A big load (`rebuild_indexes`: a scale of at least BULK_SCALE, and no smaller than the rows already in
    the table the scale counts)
    also drops the non-unique indexes of the tables it writes and rebuilds them at the end from their own
    definitions (sorting once is several times cheaper than inserting row by row); the tables are then
    locked ACCESS EXCLUSIVE (reads wait too) until the commit. Primary keys and unique indexes stay.
    """

    fast = True
    label = "PostgreSQL COPY"
    BULK_SCALE = 50_000

    def __init__(self, connection, *, rebuild_indexes=None):
        self.connection = connection
        self.rebuild_indexes = rebuild_indexes  # None: decided in begin() from the size of the load

    def begin(self, layout, users, scale=0):
        qn = self.connection.ops.quote_name
        self.specs = layout.tables
        self.states = layout.states
        self.layout = {}
        for spec in self.specs:
            model = spec.model
            missing = missing_fields(spec)
            columns = [model._meta.get_field(name).column for name in spec.fields] + [f.column for f, _v in missing]
            fields = [model._meta.get_field(name) for name in spec.fields]
            converters = [_copy_converter(f) for f in fields]
            plain = all(isinstance(f, _PLAIN_FIELDS) for f in fields)
            suffix = "".join("\t" + _copy_converter(f)(value) for f, value in missing)
            self.layout[spec.key] = (model._meta.db_table, columns, converters, suffix, plain)
        # The records' copies of their companies' names (crm_site.lists.related_names), written with the rows:
        # the link triggers are off, and an UPDATE afterwards cost a third of the load.
        self.name_copies = related_names.demo_copies(self.specs) if related_names.enabled(self.connection) else []
        self.known_names = {}
        self.names_incomplete = False  # a link to a record made before this load: finish() refreshes the copies
        for own_key, _id, column, *_rest in self.name_copies:
            table, columns, converters, suffix, plain = self.layout[own_key]
            spec_columns = len(converters)  # the spec's own columns; the missing fields' follow (the suffix)
            self.layout[own_key] = (table, columns[:spec_columns] + [column] + columns[spec_columns:],
                                    converters + [_copy_converter(models.TextField())], suffix, plain)
        self.encoding = self.connection.connection.info.encoding
        self.tables = [spec.model._meta.db_table for spec in self.specs]
        self.tables += [spec.model.history.model._meta.db_table for spec in self.specs if spec.audited]
        first_ids = {}
        with self.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SELECT set_config('synchronous_commit', 'off', true)")  # one commit, nothing lost
            if self.rebuild_indexes is None:
                cursor.execute(f"SELECT count(*) FROM {qn(layout.unit.model._meta.db_table)}")
                self.rebuild_indexes = scale >= max(self.BULK_SCALE, cursor.fetchone()[0])
            mode = "ACCESS EXCLUSIVE" if self.rebuild_indexes else "EXCLUSIVE"
            cursor.execute(f"LOCK TABLE {', '.join(qn(t) for t in self.tables)} IN {mode} MODE")
            self.skip_triggers = self._skip_foreign_key_triggers(cursor)
            self.high_water = {}  # table -> (primary key column, largest key before the load)
            for table in self.tables:
                pk = self._primary_key(cursor, table)
                cursor.execute(f"SELECT MAX({qn(pk)}) FROM {qn(table)}")
                self.high_water[table] = (pk, cursor.fetchone()[0] or 0)
            for spec in self.specs:
                if not spec.explicit_ids:
                    continue
                table = spec.model._meta.db_table
                cursor.execute(
                    f"SELECT GREATEST((SELECT MAX(id) FROM {qn(table)}), "
                    f"pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')), 0)",
                    [table],
                )
                first_ids[spec.key] = int(cursor.fetchone()[0]) + 1
            self.dropped_indexes = self._drop_indexes(cursor) if self.rebuild_indexes else []
        self.touched = set()
        self.timings = {}
        return first_ids

    def _skip_foreign_key_triggers(self, cursor):
        """Turn the per-row foreign-key triggers off for this transaction if the role may; True if done."""
        cursor.execute("SELECT current_setting('session_replication_role')")
        self.replication_role = cursor.fetchone()[0]
        try:
            with transaction.atomic(using=self.connection.alias):  # a savepoint: a refusal is not fatal
                cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
        except DatabaseError:
            return False
        return True

    @staticmethod
    def _primary_key(cursor, table):
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass AND i.indisprimary",
            [table],
        )
        return cursor.fetchone()[0]

    def _drop_indexes(self, cursor):
        """Drop the non-unique indexes of the written tables; returns their definitions to rebuild them."""
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY i.indexrelid",
            [self.tables],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        return indexes

    def prepare(self, slice_):
        """COPY text per table, encoded (runs in the generator thread)."""
        self._add_name_copies(slice_.rows)
        out = {}
        for key, rows in slice_.rows.items():
            if rows:
                _table, _columns, converters, suffix, plain = self.layout[key]
                out[key] = _copy_text(rows, converters, suffix, plain).encode(self.encoding)
        return out

    def _add_name_copies(self, rows):
        """Each record row of the slice with its copy of its targets' names, as the link trigger writes it. A
        target made before this load is not known here: `finish` then refreshes that record's copy."""
        for own_key, id_at, _column, link_key, from_at, to_at, target_key, target_id_at, name_at in self.name_copies:
            names = self.known_names.setdefault(target_key, {})
            for row in rows.get(target_key, ()):
                names[row[target_id_at]] = row[name_at]
            linked = {}
            for row in rows.get(link_key, ()):
                linked.setdefault(row[from_at], set()).add(row[to_at])
                if row[to_at] not in names:
                    self.names_incomplete = True
            rows[own_key] = [
                (*row, related_names.SEPARATOR.join(
                    name for name in (names.get(target) for target in sorted(linked.get(row[id_at], ())))
                    if name is not None))
                for row in rows.get(own_key, ())]

    def write(self, slice_):
        qn = self.connection.ops.quote_name
        texts = slice_.prepared if slice_.prepared is not None else self.prepare(slice_)
        with self.connection.cursor() as cursor:
            raw = cursor.cursor
            for spec in self.specs:
                text = texts.get(spec.key)
                if not text:
                    continue
                table, columns, *_rest = self.layout[spec.key]
                with raw.copy(f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN") as copy:
                    copy.write(text)
                self.touched.add(table)
                if spec.audited:
                    lo, hi = slice_.id_ranges[spec.key]
                    self._history(raw, spec, lo, hi)

    def finish(self):
        """Check the references the triggers skipped, rebuild the dropped indexes, move the sequences on."""
        qn = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            if self.skip_triggers:
                started = time.perf_counter()
                with _local_settings(cursor, work_mem="256MB"):
                    self._check_references(cursor)
                cursor.execute("SELECT set_config('session_replication_role', %s, true)", [self.replication_role])
                self.timings["reference check"] = time.perf_counter() - started
            if self.dropped_indexes:
                started = time.perf_counter()
                with _local_settings(cursor, maintenance_work_mem="512MB"):
                    for _name, definition in self.dropped_indexes:
                        cursor.execute(definition)
                self.timings[f"{len(self.dropped_indexes)} indexes rebuilt"] = time.perf_counter() - started
            if self.skip_triggers:  # the counters of the values kept across requests: their triggers were off
                epochs.bump_for_tables(self.touched, self.connection.alias)
            if self.skip_triggers and (self.names_incomplete or not self.name_copies):
                # The skipped triggers would have kept copies COPY could not write (links to records made before
                # this load). After the indexes are back: rows updated before CREATE INDEX make the index unusable
                # until the load commits.
                started = time.perf_counter()
                if related_names.refresh_after_load(self.connection, self.touched, self.high_water):
                    self.timings["companies' names copied"] = time.perf_counter() - started
            for spec in self.specs:
                table = spec.model._meta.db_table
                if table not in self.touched:
                    continue
                pk = spec.model._meta.pk.column
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST((SELECT MAX({qn(pk)}) FROM {qn(table)}), "
                    f"pg_sequence_last_value(pg_get_serial_sequence(%s, %s)), 1))",
                    [table, pk, table, pk],
                )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def _check_references(self, cursor):
        """Every foreign key of the rows added (the ones above the high-water mark) points at a row.

        One query per table, a hash anti-join per foreign key: what the skipped triggers would have checked.
        """
        qn = self.connection.ops.quote_name
        for table in self.tables:
            pk, high = self.high_water[table]
            cursor.execute(
                "SELECT c.conname, c.confrelid::regclass::text, "
                "ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a "
                "ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)::text[], "
                "ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a "
                "ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] "
                "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = %s::regclass ORDER BY c.conname",
                [table],
            )
            keys = cursor.fetchall()
            if not keys:
                continue
            joins, counts = [], []
            for n, (_name, target, columns, target_columns) in enumerate(keys):
                on = " AND ".join(f"r{n}.{qn(tc)} = t.{qn(c)}" for c, tc in zip(columns, target_columns, strict=True))
                joins.append(f"LEFT JOIN {target} r{n} ON {on}")
                present = " AND ".join(f"t.{qn(c)} IS NOT NULL" for c in columns)
                counts.append(f"count(*) FILTER (WHERE {present} AND r{n}.{qn(target_columns[0])} IS NULL)")
            cursor.execute(
                f"SELECT {', '.join(counts)} FROM {qn(table)} t {' '.join(joins)} WHERE t.{qn(pk)} > %s", [high]
            )
            broken = [(name, bad) for (name, *_rest), bad in zip(keys, cursor.fetchone(), strict=True) if bad]
            if broken:
                raise IntegrityError(f"seed_demo: rows of {table} point at missing rows: {broken}")

    def _history(self, cursor, spec, lo, hi):
        qn = self.connection.ops.quote_name
        model = spec.model
        history = model.history.model
        tracked = [f.column for f in history.tracked_fields]
        table, hist_table = qn(model._meta.db_table), qn(history._meta.db_table)
        extra = ["history_date", "history_type", "history_change_reason", "history_user_id"]
        known = set(tracked) | set(extra) | {"history_id"}
        more = [(f.column, f.get_default()) for f in history._meta.concrete_fields if f.column not in known]
        target = ", ".join(qn(c) for c in tracked + extra + [c for c, _v in more])
        params_more = [v for _c, v in more]
        tail = "".join(", %s" for _ in more)
        state = self.states.get(spec.key)
        overrides = state.sql if state else {}
        if spec.crm:
            date_sql, user_sql = "created_at", "created_by_id"
        elif any(f.column == "created_at" for f in model._meta.concrete_fields):
            date_sql, user_sql = "created_at", "NULL"
        else:
            date_sql, user_sql = "statement_timestamp()", "NULL"
        select = ", ".join(overrides.get(c, qn(c)) for c in tracked)
        cursor.execute(
            f"INSERT INTO {hist_table} ({target}) SELECT {select}, {date_sql}, '+', NULL, {user_sql}{tail} "
            f"FROM {table} WHERE id BETWEEN %s AND %s ORDER BY id",
            [*params_more, lo, hi],
        )
        if state:
            select = ", ".join(qn(c) for c in tracked)
            cursor.execute(
                f"INSERT INTO {hist_table} ({target}) SELECT {select}, updated_at, '~', NULL, updated_by_id{tail} "
                f"FROM {table} WHERE id BETWEEN %s AND %s AND ({state.changed_sql()}) ORDER BY id",
                [*params_more, lo, hi],
            )

    def analyze(self):
        qn = self.connection.ops.quote_name
        tables = set(self.touched)
        for spec in self.specs:
            if spec.audited and spec.model._meta.db_table in tables:
                tables.add(spec.model.history.model._meta.db_table)
        with self.connection.cursor() as cursor:
            for table in sorted(tables):
                cursor.execute(f"ANALYZE {qn(table)}")


class _local_settings:
    """Set PostgreSQL settings for the rest of the transaction, and put the previous values back on exit."""

    def __init__(self, cursor, **values):
        self.cursor, self.values, self.saved = cursor, values, {}

    def __enter__(self):
        for name, value in self.values.items():
            self.cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
            self.saved[name] = self.cursor.fetchone()[0]
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:  # after an error the transaction is aborted and rolled back anyway
            for name, value in self.saved.items():
                self.cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        return False

