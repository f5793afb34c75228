"""Demo data for `manage.py seed_demo`: the shared core that each app's demo generator plugs into.

Each app describes its own demo records in its `demo.py` (a registered `Generator`, see generators.py);
the core knows none of them. Here:
- users.py: the demo departments, users and roles; owners.py: how records are shared among them;
- pools.py, numbers.py, fake.py: entity-agnostic names, places, phones, tax ids, money and the seeded
  random stream they are drawn from;
- registry.py: `register` / `after_seed` and their discovery in the apps' `demo` modules;
- generators.py: the `Generator` base and `DemoRun`, which drives the generators;
- tables.py, writers.py, pgcopy.py: the tables a generator fills and the writers (COPY on PostgreSQL,
  simple-history's bulk helpers elsewhere), both with complete audit history;
- seed.py: `seed_demo_data()`, everything in one transaction.
"""

from .generators import DemoRun, Generator, Slice
from .owners import Owner, OwnerSchedule, demo_owners, owner_quotas
from .pgcopy import PostgresCopyWriter
from .registry import after_seed, discover, register
from .seed import SeedResult, existing_units, run_after_seed, scale_generator, seed_demo_data, summary, tables
from .tables import CRM_FIELDS, InitialState, Layout, TableSpec
from .users import (
    DEMO_ROLES,
    DEMO_USERS,
    MARKETING,
    SALES,
    SALES_KYIV,
    SALES_MOSCOW,
    demo_users_exist,
    ensure_demo_users,
)
from .writers import OrmWriter, writer_for

__all__ = [
    "CRM_FIELDS", "DEMO_ROLES", "DEMO_USERS", "MARKETING", "SALES", "SALES_KYIV", "SALES_MOSCOW", "DemoRun",
    "Generator", "InitialState", "Layout", "OrmWriter", "Owner", "OwnerSchedule", "PostgresCopyWriter",
    "SeedResult", "Slice", "TableSpec", "after_seed", "demo_owners", "demo_users_exist", "discover",
    "ensure_demo_users", "existing_units", "owner_quotas", "register", "run_after_seed", "scale_generator",
    "seed_demo_data", "summary", "tables", "writer_for",
]
