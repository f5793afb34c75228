"""`dashboard`: the start page (counts and latest records of every entity) for a manager and the superuser,
against the raw SQL of the same counts."""

from django.db import connection

from crm_site.registry import registry

from ..harness import count_queries, median_seconds
from .listing import _client, page_fetcher

NAME = "dashboard"


def run(ctx):
    ctx.ensure_seeded()
    admin, manager = _client("admin"), _client("manager1")

    def page(client):
        return page_fetcher(client, "/")

    def raw_counts():
        with connection.cursor() as cursor:
            for entity in registry:
                table = entity.model._meta.db_table
                cursor.execute(f"SELECT count(*) FROM {table} WHERE deleted_at IS NULL")
                cursor.fetchone()
                cursor.execute(
                    f"SELECT id FROM {table} WHERE deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 5"
                )
                cursor.fetchall()

    admin_s = median_seconds(page(admin), ctx.repeat)
    manager_s = median_seconds(page(manager), ctx.repeat)
    raw_s = median_seconds(raw_counts, ctx.repeat)
    ctx.emit(NAME, "superuser_page_ms", admin_s * 1000, unit="ms", baseline="raw SQL counts and latest rows",
             baseline_value=raw_s * 1000)
    ctx.emit(NAME, "manager_page_ms", manager_s * 1000, unit="ms", baseline="superuser's dashboard",
             baseline_value=admin_s * 1000, goal="<= 1.5")
    ctx.emit(NAME, "manager_page_queries", count_queries(page(manager)), unit="queries",
             baseline="superuser's dashboard", baseline_value=count_queries(page(admin)),
             note="constant in the number of records")
