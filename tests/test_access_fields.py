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


def _without_channel(data, channel):
    return {key: value for key, value in data.items() if not key.startswith(f"ch-{channel}-")}


def test_read_only_phone_is_shown_as_text_and_any_change_is_refused(manager, plain_static):
    from crm_site.models import Communication

    rule("Sales manager", "contact", "phone", FieldRule.READ_ONLY)
    obj = make_record("contact", manager, phones=["+7 495 111-22-33"], emails=["keep@example.org"])
    client = client_for(manager)
    url = reverse("contact_edit", args=[obj.pk])
    page = client.get(url)
    phone_set = next(fs for fs in page.context["formsets"] if fs.channel == "phone")
    assert phone_set.read_only
    body = page.content.decode()
    assert "111-22-33" in body and 'name="ch-phone-0-value"' not in body and 'name="ch-phone-TOTAL_FORMS"' not in body
    phones = lambda: sorted(obj.communications.filter(channel="phone").values_list("value", flat=True))  # noqa: E731
    before = phones()
    comm = obj.communications.get(channel="phone")
    attempts = {
        "edited": edit_data(obj, **{"ch-phone-0-value": "+7 495 999-88-77"}),
        "added": edit_data(obj, phones=["+7 495 222-33-44"]),
        "deleted": edit_data(obj, delete=[comm]),
    }
    for name, data in attempts.items():
        response = client.post(url, data)
        assert response.status_code == 400, name
        assert "may not change" in response.content.decode(), name
        assert phones() == before, name
    # A browser doesn't send the read-only channel: the rest of the form saves, the phone stays.
    response = client.post(url, _without_channel(edit_data(obj, emails=["new@example.org"]), "phone"))
    assert response.status_code == 302
    assert phones() == before
    assert obj.communications.filter(channel=Communication.Channel.EMAIL, value="new@example.org").exists()
    # Sending it unchanged is no change either.
    assert client.post(url, edit_data(obj)).status_code == 302 and phones() == before


def test_read_only_email_cannot_be_given_to_a_new_record(manager, plain_static):
    rule("Sales manager", "contact", "email", FieldRule.READ_ONLY)
    model = registry["contact"].model
    count = model.objects.count()
    client = client_for(manager)
    response = client.post(reverse("contact_add"), post_data("contact", manager, emails=["sneaky@example.org"]))
    assert response.status_code == 400 and model.objects.count() == count
    response = client.post(reverse("contact_add"), _without_channel(post_data("contact", manager), "email"))
    assert response.status_code == 302 and model.objects.count() == count + 1


def test_hidden_field_values_are_left_out_of_timeline_change_entries(manager, admin_user, plain_static):
    rule("Sales manager", "contact", "position", FieldRule.HIDDEN)
    rule("Sales manager", "contact", "owner", FieldRule.HIDDEN)
    obj = make_record("contact", manager, position="Chief of secrets", middle_name="Old")
    admin = client_for(admin_user)
    response = admin.post(reverse("contact_edit", args=[obj.pk]),
                          edit_data(obj, position="Keeper of vaults", middle_name="Newer", owner=manager.pk))
    assert response.status_code == 302
    body = client_for(manager).get(obj.get_absolute_url()).content.decode()
    assert "Keeper of vaults" not in body and "Chief of secrets" not in body
    assert "Newer" in body  # the visible field of the same change still shows
    body = admin.get(obj.get_absolute_url()).content.decode()
    assert "Keeper of vaults" in body


def test_hidden_field_values_are_left_out_of_the_bin_item_history(manager, admin_user, plain_static):
    from crm_site.services import record_delete

    rule("Sales manager", "contact", "position", FieldRule.HIDDEN)
    obj = make_record("contact", manager, position="Chief of secrets")
    client_for(admin_user).post(reverse("contact_edit", args=[obj.pk]), edit_data(obj, position="Vault keeper"))
    record_delete(user=manager, obj=obj)
    response = client_for(manager).get(reverse("trash_item", args=["contact", obj.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Vault keeper" not in body and "Chief of secrets" not in body


def test_duplicate_warnings_ignore_hidden_channels_and_need_a_form_right(manager, plain_static):
    owner = make_user("stranger", department=make_department("Far away"))
    make_record("contact", owner, last_name="Zzyzx", phones=["+7 495 444-55-66"])
    data = {"ch-phone-0-value": "+7 495 444-55-66"}
    client = client_for(manager)
    url = reverse("dedup_check", args=["contact"])
    assert "stranger" in client.post(url, data).content.decode().lower()
    rule("Sales manager", "contact", "phone", FieldRule.HIDDEN)
    assert "stranger" not in client.post(url, data).content.decode().lower()
    auditor = make_user("auditor")
    assign_role("Read-only auditor", user=auditor)
    assert client_for(auditor).post(url, data).status_code == 403
