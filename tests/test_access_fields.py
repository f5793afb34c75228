"""Field rules (hidden / read-only per role and entity), protected owner/opened, and the re-check after edit."""

import pytest
from django.test import Client
from django.urls import reverse

from access.models import FieldRule, Role
from crm_site.registry import registry
from tests.factories import (
    assign_role,
    edit_data,
    make_department,
    make_record,
    make_user,
    post_data,
    search_field,
)

pytestmark = pytest.mark.django_db
ENTITY_KEYS = registry.keys()


def snapshot(obj):
    fresh = type(obj).all_objects.get(pk=obj.pk)
    return {f.attname: getattr(fresh, f.attname) for f in type(obj)._meta.concrete_fields}


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def manager(db):
    person = make_user("mgr", department=make_department("Team A"))
    assign_role("Sales manager", user=person)
    return person


def rule(role_name, entity, field, mode):
    return FieldRule.objects.create(role=Role.objects.get(name=role_name), entity=entity, field=field, mode=mode)


def test_hidden_fields_are_absent_from_card_list_filters_form_and_history(manager, plain_static):
    rule("Sales manager", "contact", "position", FieldRule.HIDDEN)
    rule("Sales manager", "contact", "phone", FieldRule.HIDDEN)
    rule("Sales manager", "contact", "type", FieldRule.HIDDEN)
    obj = make_record("contact", manager, position="Secret position", phones=["+7 495 111-22-33"])
    obj.position = "Another secret"
    obj.save()
    client = client_for(manager)
    card = client.get(obj.get_absolute_url())
    body = card.content.decode()
    assert "Secret position" not in body and "Another secret" not in body and "111-22-33" not in body
    listing = client.get(reverse("contact_list"))
    names = [c["name"] for c in listing.context["columns"]]
    assert "position" not in names and "phone" not in names and "type" not in names
    assert "type" not in listing.context["filterset"].filters
    assert "111-22-33" not in listing.content.decode()
    form = client.get(reverse("contact_edit", args=[obj.pk]))
    assert "position" not in form.context["form"].fields
    assert all(fs.channel != "phone" for fs in form.context["formsets"])
    before = snapshot(obj)
    data = edit_data(obj, position="Typed in anyway")
    response = client.post(reverse("contact_edit", args=[obj.pk]), data)
    assert response.status_code == 400
    assert snapshot(obj) == before


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_read_only_field_is_disabled_and_a_change_is_refused(key, manager, plain_static):
    field = search_field(key)
    rule("Sales manager", key, field, FieldRule.READ_ONLY)
    obj = make_record(key, manager, **{field: "Frozen name"})
    client = client_for(manager)
    form = client.get(reverse(f"{key}_edit", args=[obj.pk])).context["form"]
    assert form.fields[field].disabled
    before = snapshot(obj)
    response = client.post(reverse(f"{key}_edit", args=[obj.pk]), edit_data(obj, **{field: "Thawed"}))
    assert response.status_code == 400
    assert any("may not change" in str(e) for e in response.context["form"].non_field_errors())
    assert snapshot(obj) == before
    # Leaving the field as it is (or out, as a browser does for a disabled input) saves the rest.
    response = client.post(reverse(f"{key}_edit", args=[obj.pk]), edit_data(obj, **{field: None}))
    assert response.status_code == 302


def test_most_permissive_field_rule_wins(manager, plain_static):
    rule("Sales manager", "company", "tax_id", FieldRule.HIDDEN)
    rule("Read-only auditor", "company", "tax_id", FieldRule.READ_ONLY)
    obj = make_record("company", manager, tax_id="7701234567")
    assert "7701234567" not in client_for(manager).get(obj.get_absolute_url()).content.decode()
    assign_role("Read-only auditor", user=manager)
    assert "7701234567" in client_for(manager).get(obj.get_absolute_url()).content.decode()


def test_read_only_stage_cannot_be_moved_on_the_board(manager, plain_static):
    from tests.factories import stage

    rule("Sales manager", "deal", "stage", FieldRule.READ_ONLY)
    deal = make_record("deal", manager)
    target = stage("negotiation") if deal.stage.code != "negotiation" else stage("new")
    response = client_for(manager).post(reverse("deal_move", args=[deal.pk]), {"stage": target.pk})
    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.stage != target


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_manager_may_not_reassign_or_open(key, manager, plain_static):
    colleague = make_user(department=manager.departments.first())
    obj = make_record(key, manager)
    client = client_for(manager)
    form = client.get(reverse(f"{key}_edit", args=[obj.pk])).context["form"]
    assert form.fields["owner"].disabled and form.fields["opened"].disabled
    before = snapshot(obj)
    for change in ({"owner": colleague.pk}, {"opened": "on"}):
        response = client.post(reverse(f"{key}_edit", args=[obj.pk]), edit_data(obj, **change))
        assert response.status_code == 400, change
        assert snapshot(obj) == before
    model = registry[key].model
    count = model.all_objects.count()
    response = client.post(reverse(f"{key}_add"), post_data(key, colleague))
    assert response.status_code == 400 and model.all_objects.count() == count


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_head_reassigns_inside_the_tree_but_not_out_of_it(key, plain_static):
    root = make_department("Sales root")
    team = make_department("Sales team", parent=root)
    boss = make_user("boss", department=root)
    assign_role("Head of sales", user=boss)
    worker = make_user("worker", department=team)
    outsider = make_user("outsider", department=make_department("Elsewhere"))
    obj = make_record(key, worker)
    client = client_for(boss)
    response = client.post(reverse(f"{key}_edit", args=[obj.pk]), edit_data(obj, owner=boss.pk, opened="on"))
    assert response.status_code == 302
    obj.refresh_from_db()
    assert obj.owner == boss and obj.opened
    # Giving it to another department would move it out of the head's edit scope: refused, nothing changes.
    before = snapshot(obj)
    response = client.post(reverse(f"{key}_edit", args=[obj.pk]),
                           edit_data(obj, owner=outsider.pk, **{search_field(key): "Moved"}))
    assert response.status_code == 400
    assert snapshot(obj) == before


def test_a_hidden_phone_or_email_cannot_be_found_by_searching(manager, plain_static):
    rule("Sales manager", "contact", "phone", FieldRule.HIDDEN)
    rule("Sales manager", "contact", "email", FieldRule.HIDDEN)
    obj = make_record("contact", manager, last_name="Скрытов", phones=["+7 495 777-66-55"],
                      emails=["hidden.person@example.org"])
    client = client_for(manager)
    for query in ("+7 495 777-66-55", "84957776655", "hidden.person@example.org"):
        listing = client.get(reverse("contact_list"), {"q": query})
        assert obj not in [row["object"] for row in listing.context["rows"]], query
        found = client.get(reverse("contact_autocomplete"), {"q": query}).json()["results"]
        assert obj.pk not in [r["id"] for r in found], query
    listing = client.get(reverse("contact_list"), {"q": "Скрытов"})  # the name is still searchable
    assert obj in [row["object"] for row in listing.context["rows"]]
    FieldRule.objects.all().delete()
    listing = client.get(reverse("contact_list"), {"q": "+7 495 777-66-55"})  # and the phone once visible
    assert obj in [row["object"] for row in listing.context["rows"]]
