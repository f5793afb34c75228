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


def _staff(name, role="Sales manager", department=None):
    person = make_user(name, department=department or make_department(f"{name} desk"), is_staff=True)
    assign_role(role, user=person)
    return person


def _admin_form(response):
    """The POST a browser would send back for an admin change page: the form's and inlines' current values."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({key: str(value) for key, value in formset.management_form.initial.items()})
        forms.extend(formset.forms)
        for key in ("TOTAL_FORMS", "INITIAL_FORMS"):
            data[f"{formset.prefix}-{key}"] = str(formset.management_form.initial.get(key, 0))
    for form in forms:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            if value in (None, False, ""):
                continue
            key = form.add_prefix(name)
            if value is True:
                data[key] = "on"
            elif isinstance(value, (list, tuple)):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(getattr(value, "pk", value))
    return data


def test_staff_change_form_applies_field_rules_and_saves_through_the_services(plain_static, client):
    from access.models import FieldRule
    from timeline.models import Entry

    staff = _staff("deskman")
    FieldRule.objects.create(role=Role.objects.get(name="Sales manager"), entity="contact", field="position",
                             mode=FieldRule.HIDDEN)
    FieldRule.objects.create(role=Role.objects.get(name="Sales manager"), entity="contact", field="phone",
                             mode=FieldRule.READ_ONLY)
    obj = make_record("contact", staff, last_name="Formov", position="Secret post", phones=["+7 495 101-20-30"])
    colleague = make_user("deskmate", department=staff.departments.first())
    client.force_login(staff)
    url = reverse("admin:contacts_contact_change", args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    form = page.context["adminform"].form
    assert "position" not in form.fields and "Secret post" not in body
    assert "owner" not in form.fields and "opened" not in form.fields  # protected: read-only for a manager
    phone_inline = next(i for i in page.context["inline_admin_formsets"] if getattr(i.opts, "channel", "") == "phone")
    assert not phone_inline.has_change_permission and not phone_inline.has_add_permission
    data = _admin_form(page)
    data.update({"first_name": "Changed", "position": "Typed anyway", "owner": str(colleague.pk), "opened": "on"})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    obj.refresh_from_db()
    assert obj.first_name == "Changed" and obj.position == "Secret post"
    assert obj.owner == staff and not obj.opened
    assert obj.communications.get(channel="phone").value == "+7 495 101-20-30"
    assert Entry.objects.filter(kind="changed", links__object_id=obj.pk).exists()  # the domain event was recorded


def test_staff_cannot_open_or_read_the_history_of_records_out_of_reach(plain_static, client):
    staff = _staff("peeker")
    theirs = make_record("contact", make_user("owner2"), last_name="Hiddenov")
    client.force_login(staff)
    response = client.get(reverse("admin:contacts_contact_change", args=[theirs.pk]))
    assert "Hiddenov" not in response.content.decode()
    assert response.status_code in (302, 404)
    assert client.get(reverse("admin:contacts_contact_history", args=[theirs.pk])).status_code == 404
    version = theirs.history.first().history_id
    response = client.get(reverse("admin:contacts_contact_simple_history", args=[theirs.pk, version]))
    assert response.status_code == 404


def test_admin_history_leaves_out_hidden_fields_and_never_reverts(plain_static, client, admin_user):
    from access.models import FieldRule

    staff = _staff("historian")
    FieldRule.objects.create(role=Role.objects.get(name="Sales manager"), entity="contact", field="position",
                             mode=FieldRule.HIDDEN)
    obj = make_record("contact", staff, position="First secret")
    obj.position = "Second secret"
    obj.save()
    client.force_login(staff)
    page = client.get(reverse("admin:contacts_contact_history", args=[obj.pk]))
    assert page.status_code == 200
    assert "secret" not in page.content.decode().lower()
    version = obj.history.order_by("history_id").first().history_id
    url = reverse("admin:contacts_contact_simple_history", args=[obj.pk, version])
    page = client.get(url)
    assert page.status_code == 200 and "First secret" not in page.content.decode()
    client.force_login(admin_user)
    assert "Second secret" in client.get(reverse("admin:contacts_contact_history", args=[obj.pk])).content.decode()
    assert client.post(url, {"last_name": "Reverted"}).status_code == 403
    obj.refresh_from_db()
    assert obj.position == "Second secret"


def test_admin_save_that_moves_a_record_out_of_reach_is_rolled_back(plain_static, client):
    root = make_department("Admin root")
    boss = _staff("adminboss", role="Head of sales", department=root)
    outsider = make_user("faraway", department=make_department("Far"))
    obj = make_record("contact", boss, last_name="Keptov")
    client.force_login(boss)
    url = reverse("admin:contacts_contact_change", args=[obj.pk])
    data = _admin_form(client.get(url))
    data.update({"owner": str(outsider.pk), "last_name": "Lostov"})
    response = client.post(url, data)
    assert response.status_code == 403
    obj.refresh_from_db()
    assert obj.owner == boss and obj.last_name == "Keptov"


def test_admin_foreign_keys_offer_and_name_only_readable_records(plain_static, client):
    staff = _staff("dealer")
    foreign_company = make_record("company", make_user("rival"), name="Rival Holdings")
    deal = make_record("deal", staff, company=foreign_company)
    client.force_login(staff)
    url = reverse("admin:deals_deal_change", args=[deal.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Rival Holdings" not in page.content.decode()
    client.force_login(make_user("boss", superuser=True))
    assert "Rival Holdings" in client.get(url).content.decode()
    client.force_login(staff)
    data = _admin_form(page)
    data["title"] = "Renamed deal"
    response = client.post(url, data)
    assert response.status_code == 200  # the company it points at can't be chosen by this user
    assert "company" in response.context["adminform"].form.errors
    deal.refresh_from_db()
    assert deal.title != "Renamed deal"


def test_field_rules_are_picked_from_the_entities_fields_and_channels(admin_client):
    from access.models import FieldRule

    role = Role.objects.get(name="Read-only auditor")
    page = admin_client.get(reverse("admin:access_role_change", args=[role.pk]))
    body = page.content.decode()
    assert 'value="contact.phone"' in body and 'value="company.tax_id"' in body and 'value="deal.amount"' in body

    def post(*targets):
        data = grid_post(role, **{"field_rules-TOTAL_FORMS": str(len(targets))})
        for index, target in enumerate(targets):
            data[f"field_rules-{index}-target"] = target
            data[f"field_rules-{index}-mode"] = FieldRule.HIDDEN
        return admin_client.post(reverse("admin:access_role_change", args=[role.pk]), data)

    assert post("contact.no_such_field").status_code == 200  # not a choice: refused with the form shown again
    assert post("contact.phone", "contact.phone").status_code == 200  # the same field twice
    assert not FieldRule.objects.filter(role=role).exists()
    response = post("contact.phone", "company.tax_id")
    assert response.status_code == 302
    assert set(FieldRule.objects.filter(role=role).values_list("entity", "field")) == {
        ("contact", "phone"), ("company", "tax_id")}
    assert AuditLog.objects.filter(action=AuditLog.ROLE_CHANGED, details__field_rules__isnull=False).exists()
    response = admin_client.post(reverse("admin:access_fieldrule_add"),
                                 {"role": role.pk, "target": "contact.phone", "mode": FieldRule.READ_ONLY})
    assert response.status_code == 200 and "already has a rule" in response.content.decode()


def test_admin_link_rows_go_through_the_link_services(plain_static, client):
    from dedup.models import MatchKey
    from timeline.models import Entry

    staff = _staff("linker")
    contact = make_record("contact", staff, last_name="Linkov")
    company = make_record("company", staff, name="Linked Works")
    foreign = make_record("company", make_user("stranger2"), name="Foreign Works")
    client.force_login(staff)
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    page = client.get(url)
    data = _admin_form(page)
    prefix = next(i.formset.prefix for i in page.context["inline_admin_formsets"] if i.formset.model.__name__ ==
                  "ContactCompany")
    data.update({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-0-company": str(foreign.pk), f"{prefix}-0-position": "CEO"})
    response = client.post(url, data)
    assert response.status_code == 200 and not contact.companies.exists()  # not a company this user may read
    data[f"{prefix}-0-company"] = str(company.pk)
    response = client.post(url, data)
    assert response.status_code == 302
    assert list(contact.companies.all()) == [company]
    assert Entry.objects.filter(kind="linked", links__object_id=contact.pk).exists()
    from django.contrib.contenttypes.models import ContentType

    contact_type = ContentType.objects.get_for_model(contact)
    assert MatchKey.objects.filter(content_type=contact_type, object_id=contact.pk, kind="company").exists()


def test_a_read_only_link_to_an_unreadable_record_is_not_named_in_the_admin(plain_static, client):
    from access.models import FieldRule

    staff = _staff("readonlylinker")
    FieldRule.objects.create(role=Role.objects.get(name="Sales manager"), entity="deal", field="company",
                             mode=FieldRule.READ_ONLY)
    foreign = make_record("company", make_user("rival3"), name="Secret Holdings")
    deal = make_record("deal", staff, company=foreign)
    client.force_login(staff)
    page = client.get(reverse("admin:deals_deal_change", args=[deal.pk]), headers={"accept-language": "en"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Secret Holdings" not in body and "hidden record" in body
    assert "company" not in page.context["adminform"].form.fields


def test_a_raw_id_that_is_not_a_number_is_refused_not_a_crash(plain_static, client):
    staff = _staff("typo")
    deal = make_record("deal", staff)
    client.force_login(staff)
    url = reverse("admin:deals_deal_change", args=[deal.pk])
    data = _admin_form(client.get(url))
    data["company"] = "abc"
    response = client.post(url, data)
    assert response.status_code == 200 and "company" in response.context["adminform"].form.errors
