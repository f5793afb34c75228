"""`access`: a restricted sales manager's list against the superuser's list on the same data.

Before measuring, the base is made realistic for access control (once; later runs reuse it): the contacts
not owned by the two demo managers are spread over 20 departments (one bench user each), and 1,000 guardian
grants (fewer on tiny bases: scale / 20) share other people's contacts, a third of them with manager1.
The department spread is set with plain SQL on owner/department: bench set-up data, not a user's edit.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction

from ..harness import count_queries, median_seconds
from .listing import _client

NAME = "access"
DEPARTMENTS = 20
GRANTS = 1000


@transaction.atomic
def prepare(scale):
    """Departments, their users, the spread and the grants; returns the number of grants."""
    from access.models import Department, Membership
    from contacts.models import Contact, ContactUserGrant

    users = get_user_model().objects
    parent, _ = Department.objects.get_or_create(name="Bench company", parent=None)
    people = []
    for index in range(DEPARTMENTS):
        department, _ = Department.objects.get_or_create(name=f"Bench department {index + 1}", parent=parent)
        person, created = users.get_or_create(username=f"bench{index + 1}", defaults={"first_name": "Bench"})
        if created:
            Membership.objects.create(user=person, department=department, is_primary=True)
        people.append((person.pk, department.pk))
    managers = list(users.filter(username__in=["manager1", "manager2"]).values_list("pk", flat=True))
    manager1 = users.get(username="manager1")
    wanted = max(1, min(GRANTS, scale // 20))
    existing = ContactUserGrant.objects.count()
    if existing >= wanted:
        return existing
    owners = ", ".join(f"({i}, {user_id}, {dept_id})" for i, (user_id, dept_id) in enumerate(people))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE contacts_contact c SET owner_id = o.user_id, department_id = o.dept_id "
            f"FROM (VALUES {owners}) AS o(slot, user_id, dept_id) "
            f"WHERE o.slot = c.id % {DEPARTMENTS} AND c.owner_id NOT IN ({', '.join(map(str, managers))})"
        )
    permission = Permission.objects.get(content_type__app_label="contacts", codename="view_contact")
    shared = list(Contact.objects.exclude(owner_id__in=managers).order_by("?").values_list("pk", flat=True)[:wanted])
    grantees = [manager1.pk] + [pk for pk, _dept in people]
    ContactUserGrant.objects.bulk_create(
        [ContactUserGrant(user_id=manager1.pk if i % 3 == 0 else grantees[1 + i % DEPARTMENTS],
                          permission=permission, content_object_id=pk) for i, pk in enumerate(shared)],
        ignore_conflicts=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    return ContactUserGrant.objects.count()


def run(ctx):
    ctx.ensure_seeded()
    grants = prepare(ctx.scale)
    admin, manager = _client("admin"), _client("manager1")

    def page(client):
        def fetch():
            response = client.get("/contacts/")
            assert response.status_code == 200

        return fetch

    admin_s = median_seconds(page(admin), ctx.repeat)
    manager_s = median_seconds(page(manager), ctx.repeat)
    ctx.emit(NAME, "manager_list_ms", manager_s * 1000, unit="ms", baseline="superuser's list",
             baseline_value=admin_s * 1000, goal="<= 1.5",
             note=f"{DEPARTMENTS} departments, {grants} guardian grants")
    ctx.emit(NAME, "manager_list_queries", count_queries(page(manager)), unit="queries",
             baseline="superuser's list", baseline_value=count_queries(page(admin)))
