"""`list`: the contacts list page (first page, search by phone) against the raw SQL for the same page."""

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from ..harness import count_queries, median_seconds

NAME = "list"


def _client(username):
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def page_fetcher(client, url):
    """A callable that GETs `url` and insists on a 200, for median_seconds() and count_queries()."""

    def fetch():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return fetch


def run(ctx):
    ctx.ensure_seeded()
    client = _client("admin")

    def page():
        response = client.get("/contacts/")
        assert response.status_code == 200, response.status_code

    def raw_page():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.*, u.username FROM contacts_contact c JOIN auth_user u ON u.id = c.owner_id "
                "WHERE c.deleted_at IS NULL ORDER BY c.created_at DESC, c.id DESC LIMIT 25"
            )
            cursor.fetchall()
            cursor.execute("SELECT count(*) FROM contacts_contact WHERE deleted_at IS NULL")
            cursor.fetchone()

    page_s = median_seconds(page, ctx.repeat)
    raw_s = median_seconds(raw_page, ctx.repeat)
    ctx.emit(NAME, "contacts_page_ms", page_s * 1000, unit="ms", baseline="raw SQL of the same page and count",
             baseline_value=raw_s * 1000)
    queries = count_queries(page)
    ctx.emit(NAME, "contacts_page_queries", queries, unit="queries", goal="<= 12", goal_on="value",
             note="constant in the number of records")

    from crm_site.models import Communication

    phone = Communication.objects.filter(channel="phone").order_by("pk").values_list("value", flat=True).first()
    if phone:
        def search():
            response = client.get("/contacts/", {"q": phone})
            assert response.status_code == 200

        ctx.emit(NAME, "search_by_phone_ms", median_seconds(search, ctx.repeat) * 1000, unit="ms",
                 baseline="first page without search", baseline_value=page_s * 1000)
