"""`export`: the product's CSV and XLSX export of every seeded contact against PostgreSQL COPY TO (the limit).

The product export goes through the same service as the list's Export menu (`records_export`: scope checks,
count, audit entry; rows read as tuples in chunks, the channels joined per chunk; formula-safe writers), once
as the superuser and once as the marketer (reads and exports everything through the role matrix: the scope
filters run too).
"""

import tempfile
import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import QueryDict
from django.test.utils import override_settings

from crm_site.export import ExportRefused

from ..baselines import copy_out
from ..harness import count_queries, median_seconds, peak_rss_mb, reset_peak_rss, work_seconds
from .seed import CONTACT_COLUMNS

NAME = "export"
OWN_DATA = True  # ensure_seeded() tops its base up: with --keepdb a rerun must not seed `scale` contacts more


def _exporter(username, file_format):
    """A callable exporting every contact `username` may export; returns the number of rows written."""
    from crm_site.export import records_export
    from crm_site.export_formats import write_xlsx
    from crm_site.registry import registry

    user = get_user_model().objects.get(username=username)
    entity = registry["contact"]

    def run():
        from access.scopes import forget

        forget(user)  # a fresh request resolves the roles again
        result = records_export(user=user, entity=entity, file_format=file_format)
        if file_format == "csv":
            for _chunk in result.csv_chunks(language="ru"):
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
            try:
                count = export()
            except ExportRefused as refused:  # XLSX of more rows than a sheet holds (1M+): the product says no
                ctx.emit(NAME, f"{file_format}_{username}_rows_per_s", None, unit="rows/s", note=str(refused))
                continue
            reset_peak_rss()
            seconds = median_seconds(export, repeat, warmup=0)
            ctx.emit(NAME, f"{file_format}_{username}_rows_per_s", count / seconds if seconds else None,
                     unit="rows/s", baseline="COPY TO of the contact rows", baseline_value=copy_rate,
                     rows=count, peak_rss_mb=round(peak_rss_mb(), 1),
                     note="every field, the four channels, scope checks and formula escaping")
    ctx.emit(NAME, "csv_marketer_queries", count_queries(_exporter("marketer", "csv")), unit="queries",
             note="per export, for the whole base: 2,000 records a chunk")
    run_segment(ctx)


# ---------------------------------------------------------------------------
# Issue 15's export goals: a 100k-row segment with phones, emails and a custom field, through the user's path.

SEGMENT_ROWS = 100_000
SEGMENT_USER = "marketer"  # a role with the export right (not the superuser): the scope filters run too


def ensure_custom_field():
    """The `car` custom field every bench contact carries (lists.prepare_custom_fields), defined as a text custom
    field so that it is exported as a column of its own. Idempotent: one row in customfields_customfield."""
    from crm_site.customfields.models import CustomField
    from crm_site.customfields.registry import invalidate

    from .lists import prepare_custom_fields

    prepare_custom_fields()
    _field, created = CustomField.objects.get_or_create(entity="contact", code="car",
                                                        defaults={"label": "Car", "type": "text"})
    if created:
        invalidate()


def segment_bound(rows):
    """The id of the `rows`-th live contact: `id <= bound` is the segment (the first `rows` by id)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM contacts_contact WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET %s",
                       [rows - 1])
        found = cursor.fetchone()
    return found[0] if found else None


def _segment_export(user, bound, file_format):
    """The rows the user's list (the same selector as the list, the export view and the background task; the
    list order) narrowed to `id <= bound`, checked, counted and logged by records_export."""
    from access.scopes import forget
    from crm_site import selectors
    from crm_site.export import records_export
    from crm_site.registry import registry

    forget(user)
    entity = registry["contact"]
    listed = selectors.entity_list(user=user, entity=entity, params=QueryDict())
    queryset = listed.queryset if bound is None else listed.queryset.filter(pk__lte=bound)
    return records_export(user=user, entity=entity, file_format=file_format, queryset=queryset,
                          details={"bench": "segment"})


def stream_csv(user, bound):
    """Stream the CSV as the view does; returns (rows, bytes, seconds to the first chunk holding rows, seconds)."""
    start = time.perf_counter()
    export = _segment_export(user, bound, "csv")
    first = None
    size = 0
    for number, chunk in enumerate(export.csv_chunks(language="ru")):
        if number == 1:  # chunk 0 is the BOM and the header, sent before any row is read
            first = time.perf_counter() - start
        size += len(chunk)
    return export.count, size, first, time.perf_counter() - start, export.header


def copy_segment(bound):
    """PostgreSQL COPY (SELECT …) TO STDOUT of the same rows and columns: the contact's fields, the names its
    foreign keys point to, the custom field, and phones/emails/messengers/web aggregated per contact."""
    from django.contrib.contenttypes.models import ContentType

    from contacts.models import Contact

    content_type = ContentType.objects.get_for_model(Contact).pk
    channels = ", ".join(
        f"string_agg(value, '; ' ORDER BY is_primary DESC, position, id) FILTER (WHERE channel = '{name}') "
        f"AS {name}" for name in ("phone", "email", "messenger", "web"))
    sql = (
        "COPY (SELECT c.id, c.last_name, c.first_name, c.middle_name, c.honorific, c.position, c.birthday, "
        "t.name_ru, s.name_ru, g.tags, c.address, c.comment, trim(u.first_name || ' ' || u.last_name), d.name, "
        "c.opened, c.created_at, trim(b.first_name || ' ' || b.last_name), c.updated_at, c.custom_fields->>'car', "
        "k.companies, m.phone, m.email, m.messenger, m.web "
        "FROM contacts_contact c "
        "LEFT JOIN auth_user u ON u.id = c.owner_id LEFT JOIN auth_user b ON b.id = c.created_by_id "
        "LEFT JOIN access_department d ON d.id = c.department_id "
        "LEFT JOIN crm_site_clienttype t ON t.id = c.type_id LEFT JOIN crm_site_source s ON s.id = c.source_id "
        f"LEFT JOIN (SELECT object_id, {channels} FROM crm_site_communication WHERE content_type_id = "
        f"{content_type} AND object_id <= {bound} GROUP BY object_id) m ON m.object_id = c.id "
        "LEFT JOIN (SELECT ct.contact_id, string_agg(tg.name, '; ') AS tags FROM contacts_contact_tags ct "
        f"JOIN crm_site_tag tg ON tg.id = ct.tag_id WHERE ct.contact_id <= {bound} GROUP BY 1) g "
        "ON g.contact_id = c.id "
        "LEFT JOIN (SELECT cc.contact_id, string_agg(co.name, '; ' ORDER BY cc.id) AS companies "
        "FROM contacts_contactcompany cc JOIN companies_company co ON co.id = cc.company_id "
        f"WHERE cc.contact_id <= {bound} GROUP BY 1) k ON k.contact_id = c.id "
        f"WHERE c.deleted_at IS NULL AND c.id <= {bound} ORDER BY c.created_at DESC, c.id DESC) "
        "TO STDOUT WITH (FORMAT csv)"
    )
    size = rows = 0
    start = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for chunk in copy:
                size += len(chunk)
                rows += bytes(chunk).count(b"\n")
    return rows, size, time.perf_counter() - start


def run_segment(ctx):
    ensure_custom_field()
    user = get_user_model().objects.get(username=SEGMENT_USER)
    rows = min(SEGMENT_ROWS, ctx.scale)
    bound = segment_bound(rows)
    scaled = "" if rows == SEGMENT_ROWS else f" (scaled down to {rows:,}: the base is smaller than 100k)"

    copy_rows, copy_bytes, copy_seconds = copy_segment(bound)
    copy_rate = copy_rows / copy_seconds
    ctx.emit(NAME, "segment_copy_out_rows_per_s", copy_rate, unit="rows/s", rows=copy_rows, mb=round(copy_bytes / 1e6, 1),
             note="COPY (SELECT …) TO STDOUT: the segment's columns with joined names and aggregated channels"
                  + scaled)

    stream_csv(user, bound)  # warm: caches, role resolution, the plan
    results = []
    for _ in range(max(1, min(ctx.repeat, 3))):
        before = work_seconds()
        count, size, first, seconds, header = stream_csv(user, bound)
        after = work_seconds()
        results.append((seconds, first, (after - before) if before is not None and after is not None else None))
    results.sort()
    seconds, first, work = results[len(results) // 2]
    ctx.emit(NAME, "segment_csv_rows_per_s", count / seconds, unit="rows/s", baseline="COPY TO of the same rows",
             baseline_value=copy_rate, goal=">= 0.25", rows=count, seconds=round(seconds, 2),
             work_seconds=None if work is None else round(work, 2), mb=round(size / 1e6, 1),
             columns=len(header), note=f"as {SEGMENT_USER}: the list selector narrowed to the first {count:,} ids, "
                                       f"records_export, Export.csv_chunks; phones, emails, custom field `car`" + scaled)
    ctx.emit(NAME, "segment_csv_first_byte_s", max(r[1] for r in results), unit="s", goal="<= 1", goal_on="value",
             note="slowest of the runs: the first chunk holding rows (after the check, count and audit entry); "
                  "the BOM and header go out before")

    # Memory: streaming the segment, then the whole base (1M at scale 1M), each from a reset high-water mark.
    # DEBUG off as in production: with DEBUG on, Django keeps the SQL of the last 9,000 queries (each with 2,000
    # ids), which alone grows the process by tens of MB over a 1M-row export.
    if ctx.scale >= 1_000_000:
        peaks = {}
        with override_settings(DEBUG=False):
            for label, limit in (("100k", bound), ("all", None)):
                connection.queries_log.clear()
                reset_peak_rss()
                start_rss = peak_rss_mb()
                streamed = stream_csv(user, limit)[0]
                peaks[label] = (peak_rss_mb(), start_rss, streamed)
        ctx.emit(NAME, "segment_csv_peak_rss_all_vs_100k", peaks["all"][0], unit="MB",
                 baseline=f"peak RSS streaming {peaks['100k'][2]:,} rows", baseline_value=peaks["100k"][0],
                 goal="<= 1.2", rows=peaks["all"][2], rss_before_mb=round(peaks["all"][1], 1),
                 rss_before_100k_mb=round(peaks["100k"][1], 1),
                 note="process peak RSS (VmHWM) streaming every live contact vs the 100k segment, DEBUG off")
    else:
        ctx.emit(NAME, "segment_csv_peak_rss_all_vs_100k", None, unit="MB", goal="<= 1.2",
                 note=f"skipped: the goal compares 1M rows with 100k, this base has {ctx.scale:,}")

    from crm_site.export_formats import write_xlsx

    start = time.perf_counter()
    before = work_seconds()
    export = _segment_export(user, bound, "xlsx")
    with tempfile.TemporaryFile(suffix=".xlsx") as file:
        write_xlsx(header=export.header, rows=export.rows(), file=file, title="Contacts")
        size = file.tell()
    seconds = time.perf_counter() - start
    after = work_seconds()
    ctx.emit(NAME, "segment_xlsx_seconds", seconds, unit="s", goal="<= 60", goal_on="value", rows=export.count,
             work_seconds=None if before is None or after is None else round(after - before, 2),
             mb=round(size / 1e6, 1), note=f"as {SEGMENT_USER}, the same segment and columns as the CSV" + scaled)
