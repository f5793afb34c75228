"""Baselines measured beside the product: PostgreSQL COPY in and out, django-import-export, all-pairs rapidfuzz."""

import csv
import io
import time

from django.db import connection


def copy_out(table, columns, where=""):
    """COPY the rows out as CSV; returns (csv_text, rows, seconds)."""
    sql = f"COPY (SELECT {', '.join(columns)} FROM {table} {where}) TO STDOUT WITH (FORMAT csv)"
    buffer = io.BytesIO()
    start = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for chunk in copy:
                buffer.write(chunk)
    seconds = time.perf_counter() - start
    data = buffer.getvalue()
    return data, data.count(b"\n"), seconds


def copy_in(table, columns, data):
    """COPY CSV rows into a temporary staging table shaped like `table`; returns seconds."""
    staging = f"bench_staging_{table}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {staging}")
        # Only the copied columns, without NOT NULL constraints of the others (COPY would fill them with NULL).
        cursor.execute(f"CREATE TEMP TABLE {staging} AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA")
        start = time.perf_counter()
        with cursor.cursor.copy(f"COPY {staging} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(data)
        seconds = time.perf_counter() - start
        cursor.execute(f"DROP TABLE {staging}")
    return seconds


def import_export_contacts(rows, owner):
    """A plain django-import-export ModelResource import (defaults) of contact rows; returns (imported, seconds).

    Runs inside a transaction that is rolled back, so the base is unchanged.
    """
    import tablib
    from django.db import transaction
    from import_export import resources

    from contacts.models import Contact

    class ContactResource(resources.ModelResource):
        class Meta:
            model = Contact
            fields = ("id", "last_name", "first_name", "middle_name", "position", "owner")

    dataset = tablib.Dataset(headers=["id", "last_name", "first_name", "middle_name", "position", "owner"])
    for last, first, middle, position in rows:
        dataset.append(["", last, first, middle, position, owner.pk])
    resource = ContactResource()
    start = time.perf_counter()
    with transaction.atomic():
        result = resource.import_data(dataset, dry_run=False, raise_errors=True)
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    return result.totals.get("new", 0), seconds


def all_pairs_rapidfuzz(names, threshold=85, chunk=500):
    """Naive all-pairs `process.cdist` in chunks (uint8 scores); returns (pairs, pairs_above, seconds)."""
    import numpy as np
    from rapidfuzz import fuzz, process

    start = time.perf_counter()
    above = 0
    for offset in range(0, len(names), chunk):
        block = process.cdist(
            names[offset : offset + chunk], names, scorer=fuzz.token_sort_ratio, dtype=np.uint8,
            score_cutoff=threshold, workers=-1,
        )
        above += int(np.count_nonzero(block))
    seconds = time.perf_counter() - start
    pairs = len(names) * len(names)
    # Pairs above threshold, counted once each and without self-pairs.
    return pairs, max(0, (above - len(names)) // 2), seconds


def read_csv_rows(data, limit=None):
    reader = csv.reader(io.StringIO(data.decode()))
    rows = []
    for row in reader:
        rows.append(row)
        if limit and len(rows) >= limit:
            break
    return rows
