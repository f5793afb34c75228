"""Tests of what runs on PostgreSQL only (the product's database; SQLite is the demo's): the REST API and
webhooks (their pages are built as JSON by the database), the lists' fenced reads (a PostgreSQL planner fence),
JSON containment filters and the database-kept copies of the timeline. `make test` without DATABASE_URL runs
on SQLite and skips them; CI runs everything on PostgreSQL."""

import pytest
from django.db import connection

only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only (the product's database)")
