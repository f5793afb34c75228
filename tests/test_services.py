"""crm_site.services: the writes every screen shares (save with re-check, soft delete, links, channels)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contacts.models import Contact, ContactCompany
from crm_site import services
from crm_site.forms import channel_formsets, channels_input
from crm_site.models import Communication
from crm_site.registry import registry
from deals.models import DealContact, StageChange
from tests.factories import (
    add_channels,
    edit_data,
    make_company,
    make_contact,
    make_deal,
    make_record,
    post_data,
    search_field,
    stage,
)

ENTITY_KEYS = [entity.key for entity in registry]

pytestmark = pytest.mark.django_db


_SAME = object()


def save_form(user, data, instance=None, key=None, form_user=_SAME):
    """What ObjectEditView does: bind the entity form and its channel formsets, then the write services
    (record_create / record_update) with what the form holds.

    `form_user=None` binds the form without the user's field rules (owner is protected for most roles), to
    test the services' own checks behind the form.
    """
    entity = registry[key] if key else type(instance).entity()
    instance = instance if instance is not None else entity.model()
    form = entity.form(data=data, instance=instance, user=user if form_user is _SAME else form_user)
    formsets = channel_formsets(instance, data) if entity.has_channels else []
    assert form.is_valid(), form.errors
    assert all(fs.is_valid() for fs in formsets), [fs.errors for fs in formsets]
    channels = channels_input(formsets) if entity.has_channels else None
    if instance.pk is None:
        return services.record_create(user=user, entity=entity, data=form.input_data(), channels=channels)
    return services.record_update(user=user, obj=instance, data=form.input_data(), channels=channels,
                                  version=form.cleaned_data.get("version"))


def state(obj):
    fresh = type(obj).all_objects.get(pk=obj.pk)
    values = {f.attname: getattr(fresh, f.attname) for f in type(obj)._meta.concrete_fields}
    values["channels"] = sorted(fresh.communications.values_list("channel", "normalized", "is_primary"))
    values["history"] = fresh.history.count()
    return values


# ---------------------------------------------------------------------------
# record_save


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_save_creates_with_author_and_history(key, user, department):
    channels = {"phones": ["8 (495) 123-45-67"]} if registry[key].has_channels else {}
    obj = save_form(user, post_data(key, user, **channels), key=key)
    assert obj.pk
    assert obj.created_by == user and obj.updated_by == user
    assert obj.department == department
    assert [h.history_type for h in obj.history.all()] == ["+"]
    if registry[key].has_channels:
        assert [p.normalized for p in obj.phones] == ["+74951234567"]


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_save_edit_writes_history(key, user):
    field = search_field(key)
    obj = make_record(key, user, **{field: "Before"})
    save_form(user, edit_data(obj, **{field: "After"}), instance=obj)
    latest, previous = obj.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_type == "~"
    assert {c.field for c in latest.diff_against(previous).changes} >= {field}
    assert getattr(latest, field) == "After" and getattr(previous, field) == "Before"


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_save_recheck_refuses_reassigning_out_of_reach(key, user, other_user):
    """NetBox's restrict-save-recheck: the saved record must stay within the user's reach."""
    field = search_field(key)
    obj = make_record(key, user, **{field: "Untouched"})
    if registry[key].has_channels:
        add_channels(obj, phones=["+7 495 000-00-01"])
    before = state(obj)
    extra = {"phones": ["+7 495 999-99-99"]} if registry[key].has_channels else {}
    data = edit_data(obj, owner=other_user.pk, **{field: "Changed"}, **extra)
    with pytest.raises(PermissionDenied):
        save_form(user, data, instance=type(obj).objects.get(pk=obj.pk), form_user=None)
    assert state(obj) == before


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_save_recheck_refuses_giving_away_edit_rights(key, user, colleague):
    """Handing a record to a colleague keeps it readable (same department) but no longer editable."""
    obj = make_record(key, user)
    before = state(obj)
    with pytest.raises(PermissionDenied):
        save_form(user, edit_data(obj, owner=colleague.pk), instance=type(obj).objects.get(pk=obj.pk),
                  form_user=None)
    assert state(obj) == before


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_save_refuses_creating_out_of_reach(key, user, other_user):
    model = registry[key].model
    count = model.all_objects.count()
    with pytest.raises(PermissionDenied):
        save_form(user, post_data(key, other_user), key=key, form_user=None)
    assert model.all_objects.count() == count


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_save_refuses_a_user_who_may_not_edit(key, user, colleague):
    obj = make_record(key, colleague)
    before = state(obj)
    with pytest.raises(PermissionDenied):
        save_form(
            user, edit_data(obj, **{search_field(key): "Nope"}), instance=type(obj).objects.get(pk=obj.pk)
        )
    assert state(obj) == before


def test_head_may_reassign_within_the_department(head, user, colleague, department):
    obj = make_record("contact", user)
    saved = save_form(head, edit_data(obj, owner=colleague.pk), instance=obj)
    assert saved.owner == colleague
    assert Contact.objects.get(pk=obj.pk).owner == colleague
    assert Contact.objects.get(pk=obj.pk).department == department


def test_superuser_may_reassign_anywhere(admin_user, user, other_user, other_department):
    obj = make_record("company", user)
    saved = save_form(admin_user, edit_data(obj, owner=other_user.pk), instance=obj)
    assert saved.department == other_department


def test_deal_save_records_stage_changes(user):
    deal = save_form(user, post_data("deal", user, stage=stage("new").pk), key="deal")
    [initial] = StageChange.objects.filter(deal=deal)
    assert (initial.from_stage, initial.to_stage, initial.changed_by) == (None, stage("new"), user)
    save_form(user, edit_data(deal, stage=stage("proposal").pk), instance=deal)
    latest = StageChange.objects.filter(deal=deal).first()
    assert (latest.from_stage, latest.to_stage) == (stage("new"), stage("proposal"))
    save_form(user, edit_data(deal, title="Renamed"), instance=deal)
    assert StageChange.objects.filter(deal=deal).count() == 2  # no stage change, no row


# ---------------------------------------------------------------------------
# Channels


def test_ensure_single_primary_picks_the_first_when_none(user):
    contact = make_contact(user)
    for position, value in enumerate(["+7 495 111-11-11", "+7 495 222-22-22"]):
        Communication(record=contact, channel="phone", value=value, position=position).save()
    Communication(record=contact, channel="email", value="a@example.com").save()
    services.ensure_single_primary(contact)
    flags = {(c.channel, c.normalized): c.is_primary for c in contact.communications.all()}
    assert flags == {
        ("phone", "+74951111111"): True,
        ("phone", "+74952222222"): False,
        ("email", "a@example.com"): True,
    }


def test_ensure_single_primary_keeps_the_first_marked(user):
    contact = make_contact(user)
    for position, (value, primary) in enumerate(
        [("+7 495 111-11-11", False), ("+7 495 222-22-22", True), ("+7 495 333-33-33", True)]
    ):
        Communication(
            record=contact, channel="phone", value=value, position=position, is_primary=primary
        ).save()
    services.ensure_single_primary(contact)
    assert [p.normalized for p in contact.communications.filter(is_primary=True)] == ["+74952222222"]


def test_record_add_channel_skips_duplicates_in_another_format(user):
    contact = make_contact(user, phones=["+7 495 123-45-67"])
    assert (
        services.record_add_channel(user=user, obj=contact, channel="phone", value="8 (495) 123-45-67")
        is None
    )
    assert services.record_add_channel(user=user, obj=contact, channel="phone", value="  ") is None
    added = services.record_add_channel(user=user, obj=contact, channel="phone", value="+380 44 123 4567")
    added.refresh_from_db()
    assert added.normalized == "+380441234567" and not added.is_primary
    assert contact.communications.filter(channel="phone").count() == 2
    email = services.record_add_channel(user=user, obj=contact, channel="email", value="X@Example.com")
    email.refresh_from_db()
    assert email.is_primary and email.normalized == "x@example.com"


# ---------------------------------------------------------------------------
# record_delete


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_delete_is_soft(key, user):
    obj = make_record(key, user)
    services.record_delete(user=user, obj=obj)
    model = type(obj)
    assert not model.objects.filter(pk=obj.pk).exists()
    binned = model.all_objects.get(pk=obj.pk)
    assert binned.deleted_at is not None and binned.deleted_by == user
    latest = binned.history.order_by("-history_date", "-history_id").first()
    assert latest.history_change_reason == "deleted"
    assert latest.deleted_at is not None


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_delete_refuses_others(key, user, colleague):
    obj = make_record(key, colleague)
    with pytest.raises(PermissionDenied):
        services.record_delete(user=user, obj=obj)
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_deleted_record_keeps_its_links_and_channels(user):
    company = make_company(user)
    contact = make_contact(user, phones=["+7 495 123-45-67"], companies=[company])
    services.record_delete(user=user, obj=contact)
    assert ContactCompany.objects.filter(contact_id=contact.pk).exists()
    assert Communication.objects.filter(object_id=contact.pk, channel="phone").exists()


# ---------------------------------------------------------------------------
# record_link / record_unlink


def companies_relation():
    return registry["contact"].relation("companies")


def test_record_link_writes_history_and_extra_fields(user):
    contact, company = make_contact(user), make_company(user)
    link = services.record_link(
        user=user, obj=contact, relation=companies_relation(), target=company, position="CFO", is_primary=True
    )
    assert (link.position, link.is_primary) == ("CFO", True)
    assert [h.history_type for h in link.history.all()] == ["+"]
    services.record_link(
        user=user, obj=contact, relation=companies_relation(), target=company, position="CEO"
    )
    link.refresh_from_db()
    assert link.position == "CEO"
    assert ContactCompany.objects.count() == 1
    assert link.history.first().history_type == "~"
    assert services.record_unlink(user=user, obj=contact, relation=companies_relation(), link_id=link.pk)
    assert ContactCompany.history.filter(id=link.pk, history_type="-").exists()


def test_record_link_keeps_one_primary_company_per_contact(user):
    contact = make_contact(user)
    first, second = make_company(user), make_company(user)
    relation = companies_relation()
    services.record_link(user=user, obj=contact, relation=relation, target=first, is_primary=True)
    services.record_link(user=user, obj=contact, relation=relation, target=second, is_primary=True)
    assert list(ContactCompany.objects.filter(is_primary=True).values_list("company", flat=True)) == [
        second.pk
    ]


def test_primary_company_is_per_contact_from_the_company_side(user):
    """Linking from the company card: another contact's primary company stays primary."""
    company, other_company = make_company(user), make_company(user)
    first, second = make_contact(user), make_contact(user)
    relation = registry["company"].relation("contacts")
    services.record_link(user=user, obj=company, relation=relation, target=first, is_primary=True)
    services.record_link(user=user, obj=other_company, relation=relation, target=second, is_primary=True)
    services.record_link(user=user, obj=company, relation=relation, target=second, is_primary=True)
    primaries = set(ContactCompany.objects.filter(is_primary=True).values_list("contact", "company"))
    assert primaries == {(first.pk, company.pk), (second.pk, company.pk)}


def test_record_link_refuses_invisible_targets(user, other_user):
    contact, hidden = make_contact(user), make_company(other_user)
    with pytest.raises(PermissionDenied):
        services.record_link(user=user, obj=contact, relation=companies_relation(), target=hidden)
    assert not ContactCompany.objects.exists()


def test_record_link_refuses_records_the_user_may_not_edit(user, colleague):
    contact, company = make_contact(colleague), make_company(user)
    with pytest.raises(PermissionDenied):
        services.record_link(user=user, obj=contact, relation=companies_relation(), target=company)
    link = ContactCompany.objects.create(contact=contact, company=company)
    with pytest.raises(PermissionDenied):
        services.record_unlink(user=user, obj=contact, relation=companies_relation(), link_id=link.pk)
    assert ContactCompany.objects.filter(pk=link.pk).exists()


def test_record_link_validates_extra_fields(user):
    contact, company = make_contact(user), make_company(user)
    with pytest.raises(ValidationError):
        services.record_link(
            user=user, obj=contact, relation=companies_relation(), target=company, position="x" * 500
        )
    assert not ContactCompany.objects.exists()


def test_deal_contact_link(user):
    deal, contact = make_deal(user), make_contact(user)
    relation = registry["deal"].relation("contacts")
    link = services.record_link(user=user, obj=deal, relation=relation, target=contact, role="Buyer")
    assert DealContact.objects.get(pk=link.pk).role == "Buyer"
    assert list(contact.deals.all()) == [deal]
    assert not services.record_unlink(user=user, obj=deal, relation=relation, link_id=link.pk + 1000)
    assert services.record_unlink(user=user, obj=deal, relation=relation, link_id=link.pk)
    assert not DealContact.objects.exists()
