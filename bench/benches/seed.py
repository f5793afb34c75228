"""`seed`: the demo generator's write speed against PostgreSQL COPY of the same rows."""


from django.db import connection

from ..baselines import copy_in, copy_out
from ..harness import peak_rss_mb, reset_peak_rss, stopwatch

NAME = "seed"
CONTACT_COLUMNS = ["id", "last_name", "first_name", "middle_name", "position", "owner_id", "department_id",
                   "opened", "created_at", "updated_at", "custom_fields"]


def run_seed(ctx):
    """The demo generator's writer: what `seed_demo --contacts N` spends its time on at any N.

    The command's extras (demo users, timeline activity on the latest records, match keys up to 50k
    contacts) are fixed costs or left to `rebuild_match_keys` at scale, so they stay out of the projection.
    """
    from contacts.models import Contact
    from crm_site import demo

    before = Contact.all_objects.count()
    users = demo.ensure_demo_users("demo")
    reset_peak_rss()
    with stopwatch() as timing:
        demo.seed_demo_data(users=users, scale=ctx.scale, seed=ctx.seed)
    created = Contact.all_objects.count() - before
    ctx.state.update({"seed_seconds": timing["seconds"], "seed_contacts": created, "seed_rss": peak_rss_mb()})
    return created, timing["seconds"]


def run(ctx):
    if "seed_seconds" not in ctx.state:
        run_seed(ctx)
        ctx.state["seeded"] = True
    seconds, created = ctx.state["seed_seconds"], max(ctx.state["seed_contacts"], 1)
    data, rows, _out_seconds = copy_out("contacts_contact", CONTACT_COLUMNS)
    copy_seconds = copy_in("contacts_contact", CONTACT_COLUMNS, data) if rows else 0
    ctx.emit(
        NAME, "contacts_per_s", created / seconds, unit="contacts/s",
        baseline="PostgreSQL COPY of the contact rows alone", baseline_value=rows / copy_seconds if rows else None,
        note="seed writes contacts with phones, emails, companies, links, leads, deals and full history",
    )
    ctx.emit(
        NAME, "projected_1m_contacts_s", seconds * 1_000_000 / created, unit="s", goal="<= 600", goal_on="value",
        note="linear projection of this run's writer to seed_demo --contacts 1000000 (pessimistic below 50k "
             "contacts: a big load also drops and rebuilds its indexes)",
    )
    ctx.emit(NAME, "peak_rss_mb", ctx.state["seed_rss"], unit="MB")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_historicalcontact")
        history_rows = cursor.fetchone()[0]
    ctx.emit(NAME, "history_rows_per_contact", history_rows / max(rows, 1), unit="rows", goal=">= 1", goal_on="value")
