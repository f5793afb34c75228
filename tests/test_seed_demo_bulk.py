"""The fast PostgreSQL writer of seed_demo: COPY text, foreign keys checked in bulk, indexes rebuilt after big loads.

The figures (contacts/s, projected time for 1,000,000 contacts) are in bench/benches/seed.py, not here.
"""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from contacts.models import Contact
from crm_site import demo
from crm_site.demo import pgcopy
from crm_site.models import Communication
from deals.models import Deal, StageChange

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY writer is PostgreSQL only")


def _layout(names):
    from django.db import models

    fields = [models.IntegerField(), models.CharField(), models.BooleanField(null=True), models.DateTimeField(null=True)]
    fields = dict(zip(("id", "name", "flag", "at"), fields, strict=True))
    chosen = [fields[n] for n in names]
    return [pgcopy._copy_converter(f) for f in chosen]


def test_copy_text_quick_path_matches_the_escaping_path_on_plain_values():
    converters = _layout(["id", "name", "flag", "at"])
    rows = [(1, "Иванов", True, "2024-05-01 10:00:00+00:00"), (2, "", None, None)]
    quick = pgcopy._copy_text(rows, converters, "\t{}", plain=True)
    assert quick == "1\tИванов\tTrue\t2024-05-01 10:00:00+00:00\t{}\n2\t\t\\N\t\\N\t{}\n"
    slow = pgcopy._copy_text(rows, converters, "\t{}", plain=False)
    assert slow == "1\tИванов\tt\t2024-05-01 10:00:00+00:00\t{}\n2\t\t\\N\t\\N\t{}\n"


@pytest.mark.parametrize("odd", ["tab\there", "two\nlines", "back\\slash", "\\N", "cr\rhere"])
def test_copy_text_escapes_values_that_need_it(odd):
    converters = _layout(["id", "name"])
    rows = [(1, "plain"), (2, odd), (3, None)]
    text = pgcopy._copy_text(rows, converters, "\t\\N", plain=True)
    lines = text.split("\n")
    assert len(lines) == 4 and lines[-1] == ""
    assert lines[1] == "2\t" + odd.translate(pgcopy._COPY_ESCAPE) + "\t\\N"
    assert lines[2] == "3\t\\N\t\\N"


def _seed_layout(users, scale):
    return demo.DemoRun(seed=1, scale=scale, owners=demo.demo_owners(users)).layout


def _session_settings():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role'), current_setting('work_mem'), "
                       "current_setting('maintenance_work_mem')")
        return cursor.fetchone()


@postgres_only
def test_fast_writer_leaves_the_session_as_it_found_it():
    before = _session_settings()
    assert before[0] == "origin"
    users = demo.ensure_demo_users()
    demo.seed_demo_data(users=users, scale=40, seed=5, rebuild_indexes=True)
    assert _session_settings() == before


@postgres_only
def test_a_broken_reference_is_caught_and_nothing_is_written(monkeypatch):
    """With the per-row triggers skipped, the bulk check still refuses a row pointing nowhere."""
    original = demo.DemoRun.__iter__

    def broken(self):
        for slice_ in original(self):
            first = slice_.rows["contact"][0]
            slice_.rows["contact"][0] = first[:15] + (10**9,) + first[16:]  # source_id of no source
            yield slice_

    monkeypatch.setattr(demo.DemoRun, "__iter__", broken)
    users = demo.ensure_demo_users()
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            demo.seed_demo_data(users=users, scale=40, seed=5)
    assert not Deal.all_objects.exists() and not Contact.all_objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        assert cursor.fetchone()[0] == "origin"


def _index_definitions():
    tables = [spec.model._meta.db_table for spec in demo.tables()]
    tables += [spec.model.history.model._meta.db_table for spec in demo.tables() if spec.audited]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisvalid FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) ORDER BY 1",
            [tables],
        )
        return cursor.fetchall()


@postgres_only
def test_big_load_rebuilds_exactly_the_indexes_it_dropped():
    before = _index_definitions()
    assert len(before) > 100
    users = demo.ensure_demo_users()
    result = demo.seed_demo_data(users=users, scale=60, seed=9, rebuild_indexes=True)
    assert _index_definitions() == before
    # The data is all there, with its history, and the indexes serve queries again.
    assert Contact.objects.count() == result.counts["contact"] >= 60
    assert Contact.history.count() == Contact.all_objects.count()
    assert Communication.history.filter(history_type="+").count() == Communication.objects.count()
    assert StageChange.objects.filter(from_stage__isnull=True).count() == Deal.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready")
        assert cursor.fetchone()[0] == 0  # every rebuilt index is valid and used by the planner
    last_name = Contact.objects.order_by("pk").values_list("last_name", flat=True).first()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Contact.all_objects.filter(last_name=last_name).explain()
    assert "Index" in plan, plan  # the rebuilt last-name index answers the lookup


@postgres_only
def test_auto_mode_keeps_the_indexes_of_a_small_load():
    users = demo.ensure_demo_users()
    writer = demo.writer_for(connection)
    with transaction.atomic():
        writer.begin(_seed_layout(users, 60), {u.pk: u for u in users.values()}, scale=60)
        assert writer.rebuild_indexes is False and writer.dropped_indexes == []
        writer.finish()
    big = demo.writer_for(connection)
    with transaction.atomic():
        big.begin(_seed_layout(users, 60), {u.pk: u for u in users.values()}, scale=demo.PostgresCopyWriter.BULK_SCALE)
        assert big.rebuild_indexes is True and big.dropped_indexes
        transaction.set_rollback(True)


@postgres_only
def test_a_role_that_may_not_skip_triggers_still_seeds_with_them():
    """Not a superuser: session_replication_role is refused, the foreign-key triggers stay and check."""
    role = f"seed_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        except Exception:  # noqa: BLE001 - no CREATEROLE here: nothing to test with
            pytest.skip("cannot create a role")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        users = demo.ensure_demo_users()
        cursor.execute(f"SET LOCAL ROLE {role}")
        try:
            writer = demo.writer_for(connection, rebuild_indexes=False)
            with transaction.atomic():
                writer.begin(_seed_layout(users, 40), {u.pk: u for u in users.values()}, scale=40)
                assert writer.skip_triggers is False
                transaction.set_rollback(True)
            result = demo.seed_demo_data(users=users, scale=40, seed=3, rebuild_indexes=False)
        finally:
            cursor.execute("RESET ROLE")
    assert result.counts["contact"] >= 40
    assert Contact.history.count() == Contact.objects.count()
