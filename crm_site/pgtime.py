"""PostgreSQL timestamps loaded by psycopg's compiled loader.

Django loads every `timestamptz` with a subclass of psycopg's pure-Python loader, only to give the values its
own time zone: about 20 µs a value, 10 ms for the 500 keys a searched list sorts, more than the rest of an
export's cells. When the connection's time zone is UTC (Django sets it so with USE_TZ) psycopg's compiled loader
(psycopg[binary]) gives the same aware datetimes; `CrmSiteConfig.ready` connects `use_compiled_timestamps` to
`connection_created`, which Django sends once the connection's time zone is set. The loader keeps Django's
`timezone` attribute, which Django compares to decide whether a cursor needs a loader of its own.
"""

import datetime

_LOADER = None


def _compiled_loader():
    """A loader class in Django's shape (its `timezone`) whose `load` is the compiled loader's, or False when
    psycopg has no compiled build (its class is final: it cannot be subclassed)."""
    global _LOADER
    if _LOADER is None:
        import psycopg
        from psycopg.adapt import Loader
        from psycopg.pq import Format

        compiled = psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, Format.TEXT)
        if compiled is None or compiled.__module__.startswith("psycopg."):
            _LOADER = False
        else:
            class UtcTimestamptzLoader(Loader):
                timezone = datetime.UTC

                def __init__(self, oid, context=None):
                    super().__init__(oid, context)
                    self.load = compiled(oid, context).load  # rows are loaded by this bound method

                def load(self, data):  # replaced per instance above
                    raise NotImplementedError

            _LOADER = UtcTimestamptzLoader
    return _LOADER


def use_compiled_timestamps(sender, connection, **kwargs):
    if connection.vendor != "postgresql" or connection.timezone != datetime.UTC:
        return
    raw = connection.connection
    if getattr(raw, "adapters", None) is None or raw.info.parameter_status("TimeZone") != "UTC":
        return
    loader = _compiled_loader()
    if loader:
        import psycopg

        raw.adapters.register_loader(psycopg.postgres.types["timestamptz"].oid, loader)
