"""The writers of the demo rows: `writer_for(connection)` picks PostgreSQL COPY (pgcopy.py) where it can,
simple-history's bulk helpers (`OrmWriter`) anywhere else. Both keep the audit history complete.

A writer is used as: `first_ids = begin(layout, users, scale=N)` (inside the caller's transaction), then
`prepare(slice_)` (in the generator thread) and `write(slice_)` per slice, then `finish()`.
"""

from datetime import datetime

from django.db import models
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .pgcopy import PostgresCopyWriter


def _parse_moments(values, names):
    """The generator's ISO 8601 moments as datetimes (for the ORM)."""
    for name in names:
        if isinstance(values[name], str):
            values[name] = datetime.fromisoformat(values[name])
    return values


class OrmWriter:
    """Any database: simple-history's bulk helpers, batch by batch (keeps audit history complete)."""

    fast = False
    label = "ORM bulk_create_with_history"
    batch_size = 500

    def __init__(self, connection):
        self.connection = connection

    def begin(self, layout, users, scale=0):
        self.layout = layout
        self.users = users
        self.timings = {}
        first_ids = {}
        for spec in layout.tables:
            if spec.explicit_ids:
                top = spec.model._base_manager.aggregate(top=models.Max("pk"))["top"] or 0
                first_ids[spec.key] = top + 1
        return first_ids

    def prepare(self, slice_):
        return None

    def write(self, slice_):
        from contextlib import ExitStack

        with ExitStack() as stack:
            for spec in self.layout.tables:
                rows = slice_.rows.get(spec.key)
                if not rows:
                    continue
                model = spec.model
                stack.enter_context(_explicit_timestamps(model))
                moments = [n for n in spec.fields if isinstance(model._meta.get_field(n), models.DateTimeField)]
                objs = [model(**_parse_moments(dict(zip(spec.fields, row, strict=True)), moments)) for row in rows]
                if not spec.audited:
                    model._base_manager.bulk_create(objs, batch_size=self.batch_size)
                    continue
                state = self.layout.states.get(spec.key)
                finals = []
                for obj in objs:
                    if spec.crm:
                        obj._history_user = self.users.get(obj.owner_id)
                        obj._history_date = obj.created_at
                    if state is not None:
                        initial = state.values(obj.__dict__)
                        changed = {k: v for k, v in initial.items() if getattr(obj, k) != v}
                        if any(k in state.tracked for k in changed):
                            finals.append((obj, {k: getattr(obj, k) for k in changed}))
                            for k, v in initial.items():
                                setattr(obj, k, v)
                bulk_create_with_history(objs, model, batch_size=self.batch_size)
                if finals:
                    names = sorted({k for _obj, values in finals for k in values})
                    changed_objs = []
                    for obj, values in finals:
                        for k, v in values.items():
                            setattr(obj, k, v)
                        obj._history_date = obj.updated_at
                        obj._history_user = self.users.get(obj.updated_by_id)
                        changed_objs.append(obj)
                    fields = [model._meta.get_field(n[:-3] if n.endswith("_id") else n).name for n in names]
                    bulk_update_with_history(changed_objs, model, fields, batch_size=self.batch_size)

    def finish(self):
        """Explicit ids were written: move the databases' sequences past them (a no-op on SQLite)."""
        from django.core.management.color import no_style

        statements = self.connection.ops.sequence_reset_sql(no_style(), [spec.model for spec in self.layout.tables])
        if statements:
            with self.connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


class _explicit_timestamps:
    """Let bulk_create keep the generated created_at/updated_at (auto_now/auto_now_add would overwrite them)."""

    def __init__(self, model):
        self.fields = [f for f in model._meta.concrete_fields if getattr(f, "auto_now", False)
                       or getattr(f, "auto_now_add", False)]
        self.saved = []

    def __enter__(self):
        for f in self.fields:
            self.saved.append((f, f.auto_now, f.auto_now_add))
            f.auto_now = f.auto_now_add = False
        return self

    def __exit__(self, *exc):
        for f, auto_now, auto_now_add in self.saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add
        return False


def writer_for(connection, *, rebuild_indexes=None):
    """The fast COPY path on PostgreSQL (psycopg 3), simple-history's bulk helpers elsewhere.

    `rebuild_indexes` (PostgreSQL only): True/False forces dropping and rebuilding the non-unique indexes;
    None decides from the size of the load.
    """
    if connection.vendor == "postgresql" and getattr(connection.Database, "__name__", "") == "psycopg":
        return PostgresCopyWriter(connection, rebuild_indexes=rebuild_indexes)
    return OrmWriter(connection)
