"""Admin: the role matrix grid, assignments, the read-only audit log, entity changelists restricted."""

import pytest
from django.urls import reverse

from access.forms import cell_name, grid_rows
from access.models import AuditLog, Level, Role, RoleAssignment
from access.scopes import ACTIONS
from tests.factories import assign_role, make_department, make_record, make_user

pytestmark = pytest.mark.django_db


def grid_post(role, **changes):
    data = {"name": role.name, "description": role.description, "is_default": "on" if role.is_default else "",
            "field_rules-TOTAL_FORMS": "0", "field_rules-INITIAL_FORMS": "0"}
    for key, _label in grid_rows():
        for action in ACTIONS:
            data[cell_name(key, action)] = str(role.level(key, action))
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_role_matrix_is_one_grid_and_saving_it_is_logged(admin_client):
    role = Role.objects.get(name="Sales manager")
    page = admin_client.get(reverse("admin:access_role_change", args=[role.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="role-matrix"' in body
    for key, _label in grid_rows():
        for action in ACTIONS:
            assert f'name="{cell_name(key, action)}"' in body
    response = admin_client.post(reverse("admin:access_role_change", args=[role.pk]),
                                 grid_post(role, **{cell_name("contact", "export"): str(Level.OWN)}))
    assert response.status_code == 302, response.content.decode()[:2000]
    role.refresh_from_db()
    assert role.level("contact", "export") == Level.OWN
    assert role.level("company", "export") == Level.NONE
    entry = AuditLog.objects.get(action=AuditLog.ROLE_CHANGED)
    assert entry.actor.username == "admin" and entry.details["after"]["contact"]["export"] == Level.OWN


def test_assignment_change_is_logged(admin_client):
    person = make_user("newbie")
    role = Role.objects.get(name="Marketer")
    response = admin_client.post(reverse("admin:access_roleassignment_add"), {"role": role.pk, "user": person.pk})
    assert response.status_code == 302
    assert RoleAssignment.objects.filter(role=role, user=person).exists()
    assert AuditLog.objects.filter(action=AuditLog.ASSIGNMENT_CHANGED).exists()


def test_audit_log_is_read_only_and_filterable(admin_client):
    AuditLog.objects.create(action=AuditLog.EXPORT, actor_name="someone", count=10)
    listing = admin_client.get(reverse("admin:access_auditlog_changelist"), {"action__exact": "export"})
    assert listing.status_code == 200 and "someone" in listing.content.decode()
    assert admin_client.get(reverse("admin:access_auditlog_changelist"), {"q": "someone"}).status_code == 200
    assert admin_client.get(reverse("admin:access_auditlog_add")).status_code == 403


def test_staff_changelist_shows_only_visible_records(plain_static, client):
    staff = make_user("staffer", department=make_department("Desk"), is_staff=True)
    assign_role("Sales manager", user=staff)
    mine = make_record("contact", staff, last_name="Mineov")
    make_record("contact", make_user("other"), last_name="Theirsov")
    client.force_login(staff)
    response = client.get(reverse("admin:contacts_contact_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Mineov" in body and "Theirsov" not in body
    assert mine.pk
