"""`export`: the product's CSV and XLSX export of every seeded contact against PostgreSQL COPY TO (the limit).

The product export goes through the same service as the list's Export menu (`records_export`: scope checks,
count, audit entry; rows read in chunks with prefetched channels; formula-safe writers), once as the superuser
and once as the marketer (reads and exports everything through the role matrix: the scope filters run too).
"""

import tempfile

from django.contrib.auth import get_user_model

from ..baselines import copy_out
from ..harness import count_queries, median_seconds, peak_rss_mb, reset_peak_rss
from .seed import CONTACT_COLUMNS

NAME = "export"


def _exporter(username, file_format):
    """A callable exporting every contact `username` may export; returns the number of rows written."""
    from crm_site.export import records_export
    from crm_site.export_formats import csv_chunks, write_xlsx
    from crm_site.registry import registry

    user = get_user_model().objects.get(username=username)
    entity = registry["contact"]

    def run():
        from access.scopes import forget

        forget(user)  # a fresh request resolves the roles again
        result = records_export(user=user, entity=entity, file_format=file_format)
        if file_format == "csv":
            for _chunk in csv_chunks(header=result.header, rows=result.rows(), language="ru"):
                pass
        else:
            with tempfile.TemporaryFile(suffix=".xlsx") as file:
                write_xlsx(header=result.header, rows=result.rows(), file=file)
        return result.count

    return run


def run(ctx):
    ctx.ensure_seeded()
    _data, rows, seconds = copy_out("contacts_contact", CONTACT_COLUMNS, "WHERE deleted_at IS NULL")
    copy_rate = rows / seconds
    ctx.emit(NAME, "copy_out_rows_per_s", copy_rate, unit="rows/s", note="PostgreSQL COPY TO: the physical limit")
    repeat = max(1, min(ctx.repeat, 3))
    for username in ("admin", "marketer"):
        for file_format in ("csv", "xlsx"):
            export = _exporter(username, file_format)
            count = export()
            reset_peak_rss()
            seconds = median_seconds(export, repeat, warmup=0)
            ctx.emit(NAME, f"{file_format}_{username}_rows_per_s", count / seconds if seconds else None,
                     unit="rows/s", baseline="COPY TO of the contact rows", baseline_value=copy_rate,
                     rows=count, peak_rss_mb=round(peak_rss_mb(), 1),
                     note="every field, the four channels, scope checks and formula escaping")
    ctx.emit(NAME, "csv_marketer_queries", count_queries(_exporter("marketer", "csv")), unit="queries",
             note="per export, for the whole base: 2,000 records a chunk")
