"""The tables a demo generator fills, described once for both writers.

A `TableSpec` lists the columns a generator fills, in the order of its row tuples; any other concrete field
of the model gets its default (so a field added later with a default needs no change here). Ids are
explicit, taken from counters the writer starts past the rows already there, so a generator can link rows
before they are written.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

CRM_FIELDS = ["id", "owner_id", "department_id", "opened", "created_at", "updated_at", "created_by_id",
              "updated_by_id"]


@dataclass
class TableSpec:
    key: str
    model_path: str
    fields: list
    audited: bool = True
    crm: bool = False  # a CRMObject: history date/user from created_at/created_by
    explicit_ids: bool = True
    label: str | None = None  # plural noun for seed_demo's summary; None: not counted there

    @property
    def model(self):
        from django.apps import apps

        return apps.get_model(self.model_path)


@dataclass
class InitialState:
    """How a record looked when it was created, for records seeded in a later state (moved on to another
    status or stage): its '+' history row carries these values and a '~' row (dated `updated_at`) the current
    ones.

    `values(row)` gives {attname: value} from a row dict (ORM writer), `sql` {column: SQL expression}
    (COPY writer); a '~' row is written where a `tracked` column differs from its initial value.
    """

    values: Callable
    sql: dict
    tracked: tuple

    def changed_sql(self):
        return " OR ".join(f"{column} <> {self.sql[column]}" for column in self.tracked)


@dataclass
class Layout:
    """What a writer needs to know of a seed: its tables in write order, the table the scale counts (the
    writer sizes its strategy by it) and the initial states by table key."""

    tables: list
    unit: TableSpec
    states: dict = field(default_factory=dict)


# Phones, e-mails and links of any record: the core's own table, filled through `Generator.channel()`.
CHANNELS = TableSpec(
    "communication", "crm_site.Communication",
    ["id", "content_type_id", "object_id", "channel", "kind", "value", "normalized", "is_primary", "position"],
    label="phones/e-mails/links",
)


def missing_fields(spec):
    """Concrete fields a spec does not fill, with their defaults."""
    model = spec.model
    filled = set(spec.fields)
    missing = []
    for f in model._meta.concrete_fields:
        if f.attname in filled or (not spec.explicit_ids and f.primary_key):
            continue
        missing.append((f, f.get_default()))
    return missing
