"""`access`: a restricted sales manager's list against the superuser's list on the same data."""

from ..harness import count_queries, median_seconds
from .listing import _client

NAME = "access"


def run(ctx):
    ctx.ensure_seeded()
    admin, manager = _client("admin"), _client("manager1")

    def page(client):
        def fetch():
            response = client.get("/contacts/")
            assert response.status_code == 200

        return fetch

    admin_s = median_seconds(page(admin), ctx.repeat)
    manager_s = median_seconds(page(manager), ctx.repeat)
    ctx.emit(NAME, "manager_list_ms", manager_s * 1000, unit="ms", baseline="superuser's list",
             baseline_value=admin_s * 1000, goal="<= 1.5")
    ctx.emit(NAME, "manager_list_queries", count_queries(page(manager)), unit="queries",
             baseline="superuser's list", baseline_value=count_queries(page(admin)))
