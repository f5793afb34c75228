"""trash.services: bulk delete, restore exactly as it was (with conflicts reported), purge after retention."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm

from access.models import AuditLog
from companies.models import Company
from contacts.models import Contact, ContactCompany
from crm_site import events, services
from crm_site.models import Communication, Tag
from crm_site.registry import registry
from deals.models import Deal, DealContact
from dedup.keys import keys_refresh
from dedup.models import MatchKey
from leads.models import Lead
from tests.factories import add_channels, make_company, make_contact, make_deal, make_lead, make_record
from timeline.models import Entry, EntryLink, Kind
from trash.constraints import live_unique
from trash.models import RetentionPolicy
from trash.services import (
    record_restore,
    records_delete,
    records_purge,
    records_restore,
    retention_days,
    trash_purge_expired,
)

pytestmark = pytest.mark.django_db
ENTITY_KEYS = [entity.key for entity in registry]
CHANGING_ON_RESTORE = {"updated_at", "updated_by_id"}


# ---------------------------------------------------------------------------
# A world with every kind of link, and a generic snapshot of a record and what points at it


def make_world(owner):
    company = make_company(owner, phones=["+7 495 111-22-33"], emails=["office@romashka.ru"],
                           custom_fields={"inn_checked": True, "segment": "B2B"})
    other_company = make_company(owner)
    contact = make_contact(owner, phones=["8 (916) 123-45-67"], emails=["ivanov@romashka.ru"],
                           companies=[company, other_company], custom_fields={"hobby": "рыбалка"})
    ContactCompany.objects.filter(contact=contact, company=company).update(position="Финансовый директор")
    contact.tags.set([Tag.objects.create(name="VIP")])
    lead = make_lead(owner, phones=["+380 44 123 4567"], converted_contact=contact, converted_company=company,
                     custom_fields={"utm": "spring"})
    deal = make_deal(owner, company=company, contacts=[contact], source_lead=lead, custom_fields={"priority": 2})
    add_channels(deal) if registry["deal"].has_channels else None
    world = {"company": company, "contact": contact, "lead": lead, "deal": deal}
    for entity in registry:  # an entity added later: a record of its own
        world.setdefault(entity.key, make_record(entity.key, owner))
    note = Entry.objects.create(kind=Kind.CALL, author=owner, body="Обсудили поставку")
    for record in world.values():  # one call on every card: the round trip must keep its links
        EntryLink.objects.create(entry=note, content_type=ContentType.objects.get_for_model(record),
                                 object_id=record.pk)
        keys_refresh(record)  # the factories bypass the services that keep duplicate keys current
    return world


def _row(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def _generic_link_models():
    """Models pointing at any record by content type + object id (phones, timeline entries...)."""
    found = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if {"content_type", "object_id"} <= names and model is not AuditLog and not model.__name__.startswith(
            "Historical"
        ):
            found.append(model)
    return found


def snapshot(obj):
    model = type(obj)
    fresh = model.all_objects.get(pk=obj.pk)
    data = {"fields": {k: v for k, v in _row(fresh).items() if k not in CHANGING_ON_RESTORE}}
    for m2m in model._meta.many_to_many:
        data[f"m2m:{m2m.name}"] = sorted(getattr(fresh, m2m.name).values_list("pk", flat=True))
    for rel in model._meta.related_objects:
        if rel.many_to_many:
            continue
        rows = rel.related_model._base_manager.filter(**{rel.field.name: fresh}).order_by("pk")
        data[f"rel:{rel.related_model._meta.label}.{rel.field.name}"] = [
            {k: v for k, v in _row(row).items() if k not in CHANGING_ON_RESTORE} for row in rows
        ]
    content_type = ContentType.objects.get_for_model(model)
    for link_model in _generic_link_models():
        rows = link_model._base_manager.filter(content_type=content_type, object_id=obj.pk).order_by("pk")
        if link_model is MatchKey:  # a derived index, rebuilt on restore: its content counts, not its ids
            data["generic:dedup.MatchKey"] = sorted(rows.values_list("kind", "value"))
            continue
        if link_model is EntryLink:  # the round trip adds its own "deleted"/"restored" entries
            rows = rows.exclude(entry__kind__in=[Kind.DELETED, Kind.RESTORED])
        data[f"generic:{link_model._meta.label}"] = [_row(row) for row in rows]
    return data


def age(obj, days):
    """Pretend `obj` went to the bin `days` days ago (test set-up only)."""
    type(obj).all_objects.filter(pk=obj.pk).update(deleted_at=timezone.now() - timedelta(days=days))


# ---------------------------------------------------------------------------
# Delete → restore round trip


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_delete_then_restore_gives_back_identical_data(key, user):
    obj = make_world(user)[key]
    before = snapshot(obj)
    history_before = obj.history.count()

    result = records_delete(user=user, objs=[obj])
    assert [o.pk for o in result.moved] == [obj.pk] and result.refused == []
    assert not type(obj).objects.filter(pk=obj.pk).exists()
    assert type(obj).all_objects.in_bin().filter(pk=obj.pk).exists()

    restored = record_restore(user=user, obj=obj)
    assert restored.restored and not restored.unique_conflicts
    assert snapshot(obj) == before
    reasons = list(obj.history.order_by("history_date", "history_id").values_list("history_change_reason", flat=True))
    assert reasons[history_before:] == ["deleted", "restored"]


def test_soft_delete_cascades_nothing(user):
    world = make_world(user)
    company = world["company"]
    records_delete(user=user, objs=[company])
    contact, deal, lead = world["contact"], world["deal"], world["lead"]
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert Deal.objects.get(pk=deal.pk).company_id == company.pk
    assert Lead.objects.get(pk=lead.pk).converted_company_id == company.pk
    assert ContactCompany.objects.filter(company=company).count() == 1
    assert Communication.objects.filter(object_id=company.pk,
                                        content_type=ContentType.objects.get_for_model(Company)).count() == 2


def test_link_removed_before_delete_stays_removed(user):
    world = make_world(user)
    contact, company = world["contact"], world["company"]
    relation = registry["contact"].relation("companies")
    link = ContactCompany.objects.get(contact=contact, company=company)
    services.record_unlink(user=user, obj=contact, relation=relation, link_id=link.pk)
    records_delete(user=user, objs=[contact])
    record_restore(user=user, obj=contact)
    assert not ContactCompany.objects.filter(contact=contact, company=company).exists()
    assert ContactCompany.objects.filter(contact=contact).count() == 1


def test_link_removed_from_other_side_while_in_bin_stays_removed(user):
    world = make_world(user)
    contact, company = world["contact"], world["company"]
    records_delete(user=user, objs=[contact])
    link = ContactCompany.objects.get(contact=contact, company=company)
    services.record_unlink(user=user, obj=company, relation=registry["company"].relation("contacts"), link_id=link.pk)
    record_restore(user=user, obj=contact)
    assert not ContactCompany.objects.filter(pk=link.pk).exists()


def test_delete_announces_and_restore_announces(user):
    seen = []

    def listener(kind, *, obj, user, related, data):
        seen.append((kind, obj.pk))

    events.listen(listener)
    try:
        contact = make_contact(user)
        records_delete(user=user, objs=[contact])
        record_restore(user=user, obj=contact)
    finally:
        events._listeners.remove(listener)
    assert (events.DELETED, contact.pk) in seen and (events.RESTORED, contact.pk) in seen


# ---------------------------------------------------------------------------
# Bulk


def test_bulk_delete_and_restore_1000_records(user):
    contacts = Contact.objects.bulk_create(
        [Contact(owner=user, last_name=f"Массов{n}", department=user.memberships.get().department) for n in range(1000)]
    )
    result = records_delete(user=user, objs=contacts)
    assert len(result.moved) == 1000 and not result.refused
    assert Contact.objects.filter(last_name__startswith="Массов").count() == 0
    assert Contact.history.filter(history_change_reason="deleted").count() == 1000
    results = records_restore(user=user, objs=list(Contact.all_objects.in_bin()))
    assert all(r.restored for r in results) and len(results) == 1000
    assert Contact.objects.filter(last_name__startswith="Массов").count() == 1000
    assert Contact.history.filter(history_change_reason="restored").count() == 1000


def test_bulk_delete_refuses_what_the_user_may_not_delete(user, colleague):
    mine = make_contact(user)
    theirs = make_contact(colleague)  # readable by `user` (same department) but not deletable
    result = records_delete(user=user, objs=[mine, theirs])
    assert [o.pk for o in result.moved] == [mine.pk]
    assert [o.pk for o in result.refused] == [theirs.pk]
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_bulk_delete_refuses_already_binned(user):
    contact = make_contact(user)
    records_delete(user=user, objs=[contact])
    result = records_delete(user=user, objs=[contact])
    assert result.moved == [] and len(result.refused) == 1


# ---------------------------------------------------------------------------
# Restore conflicts and permissions


def test_restore_reports_linked_record_still_in_bin_and_restores_it_on_request(user):
    world = make_world(user)
    deal, company = world["deal"], world["company"]
    records_delete(user=user, objs=[deal, company])
    result = record_restore(user=user, obj=deal)
    assert result.restored
    assert company in result.linked_in_bin
    assert not Company.objects.filter(pk=company.pk).exists()

    records_delete(user=user, objs=[deal])
    result = record_restore(user=user, obj=deal, restore_related=True)
    assert result.restored and result.also_restored == [company] and result.linked_in_bin == []
    assert Company.objects.filter(pk=company.pk).exists()


def test_restore_refuses_a_unique_value_now_taken(user, monkeypatch):
    monkeypatch.setattr(Company._meta, "constraints", [live_unique("tax_id", name="test_live_tax_id")])
    old = make_company(user, tax_id="7707083893")
    records_delete(user=user, objs=[old])
    new = make_company(user, tax_id="7707083893")
    result = record_restore(user=user, obj=old)
    assert not result.restored
    assert result.unique_conflicts[0].fields == ("tax_id",) and result.unique_conflicts[0].other == new
    assert Company.all_objects.get(pk=old.pk).deleted_at is not None


def test_manager_cannot_restore_someone_elses_item(user, colleague):
    contact = make_contact(colleague)
    records_delete(user=colleague, objs=[contact])
    with pytest.raises(PermissionDenied):
        record_restore(user=user, obj=contact)
    results = records_restore(user=user, objs=[contact])
    assert not results[0].restored
    assert Contact.all_objects.get(pk=contact.pk).deleted_at is not None


def test_head_restores_department_items(user, head):
    contact = make_contact(user)
    records_delete(user=user, objs=[contact])
    assert record_restore(user=head, obj=contact).restored


def test_restore_of_a_live_record_reports_it(user):
    contact = make_contact(user)
    result = record_restore(user=user, obj=contact)
    assert not result.restored and result.reason


# ---------------------------------------------------------------------------
# Purge


def test_purge_removes_expired_items_and_everything_that_belongs_to_them(user):
    world = make_world(user)
    contact, company, deal, lead = world["contact"], world["company"], world["deal"], world["lead"]
    content_type = ContentType.objects.get_for_model(Contact)
    assign_perm("contacts.change_contact", user, contact)
    records_delete(user=user, objs=[contact])
    age(contact, 31)
    lead_history = lead.history.count()

    report = trash_purge_expired()

    assert report.purged == {"contact": 1}
    assert not Contact.all_objects.filter(pk=contact.pk).exists()
    assert not Communication.objects.filter(content_type=content_type, object_id=contact.pk).exists()
    assert not Communication.history.filter(content_type=content_type, object_id=contact.pk).exists()
    assert not ContactCompany.objects.filter(contact_id=contact.pk).exists()
    assert not ContactCompany.history.filter(contact_id=contact.pk).exists()
    assert not DealContact.objects.filter(contact_id=contact.pk).exists()
    assert not Contact.history.filter(id=contact.pk).exists()
    assert not UserObjectPermission.objects.filter(content_type=content_type, object_pk=str(contact.pk)).exists()
    # The lead that pointed at it lost the link, with a history row saying why.
    lead.refresh_from_db()
    assert lead.converted_contact_id is None and lead.converted_company_id == company.pk
    assert lead.history.count() == lead_history + 1
    assert lead.history.first().history_change_reason == "linked record purged"
    # The rest of the world is untouched.
    assert Company.objects.filter(pk=company.pk).exists() and Deal.objects.filter(pk=deal.pk).exists()
    entry = AuditLog.objects.get(action=AuditLog.PURGE)
    assert entry.object_id == contact.pk and entry.object_repr == f"contact #{contact.pk}"
    assert entry.details["rule"] == "retention 30 days (contact)" and entry.details["deleted_by"] == user.pk
    assert contact.last_name not in str(entry.details) and contact.last_name not in entry.object_repr


def test_purge_of_a_company_keeps_its_deals_and_contacts(user):
    world = make_world(user)
    company, deal = world["company"], world["deal"]
    records_delete(user=user, objs=[company])
    age(company, 40)
    trash_purge_expired()
    deal.refresh_from_db()
    assert deal.company_id is None and deal.deleted_at is None
    assert Contact.objects.filter(pk=world["contact"].pk).exists()


def test_purge_never_purges_early_nor_restored_items(user):
    early, restored, due = make_contact(user), make_contact(user), make_contact(user)
    records_delete(user=user, objs=[early, restored, due])
    age(early, 29)
    age(restored, 60)
    age(due, 31)
    record_restore(user=user, obj=restored)
    report = trash_purge_expired()
    assert report.purged == {"contact": 1}
    assert set(Contact.all_objects.values_list("pk", flat=True)) >= {early.pk, restored.pk}
    assert trash_purge_expired().total == 0  # idempotent


def test_retention_is_set_per_entity_type(user, settings):
    settings.CRM_TRASH_RETENTION_DAYS = 45
    RetentionPolicy.objects.create(entity_key="contact", days=5)
    assert retention_days()["contact"] == 5 and retention_days()["company"] == 45
    contact, company = make_contact(user), make_company(user)
    records_delete(user=user, objs=[contact, company])
    age(contact, 10)
    age(company, 10)
    assert trash_purge_expired().purged == {"contact": 1}


def test_purge_works_in_batches(user):
    contacts = [make_contact(user) for _ in range(7)]
    records_delete(user=user, objs=contacts)
    for contact in contacts:
        age(contact, 31)
    report = trash_purge_expired(batch_size=3)
    assert report.purged == {"contact": 7} and report.batches == 3


def test_records_purge_is_for_superusers_only(user, admin_user):
    contact = make_contact(user)
    records_delete(user=user, objs=[contact])
    with pytest.raises(PermissionDenied):
        records_purge(user=user, objs=[contact])
    assert records_purge(user=admin_user, objs=[contact]) == 1
    assert AuditLog.objects.get(action=AuditLog.PURGE).details["rule"] == "administrator"


def test_purge_trash_command_dry_run_lists_and_keeps(user, capsys):
    contact = make_contact(user)
    records_delete(user=user, objs=[contact])
    age(contact, 31)
    call_command("purge_trash", "--dry-run")
    out = capsys.readouterr().out
    assert f"contact #{contact.pk}" in out and "1 item(s) would be purged" in out
    assert Contact.all_objects.filter(pk=contact.pk).exists()
    call_command("purge_trash")
    assert "1 item(s) purged" in capsys.readouterr().out
    assert not Contact.all_objects.filter(pk=contact.pk).exists()


def test_purge_task_is_scheduled_and_runs():
    from crm_site.celery import app
    from trash.tasks import purge_expired

    names = [entry["task"] for entry in app.conf.beat_schedule.values()]
    assert "trash.tasks.purge_expired" in names
    assert purge_expired.run() == {"purged": {}, "batches": 0}


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_every_entity_can_be_purged(key, user):
    obj = make_record(key, user)
    records_delete(user=user, objs=[obj])
    age(obj, 31)
    assert trash_purge_expired().purged == {key: 1}


def test_purge_respects_a_protect_rule_and_purges_nothing_of_the_batch(user, monkeypatch):
    from django.db import models
    from django.db.models import ProtectedError

    company = make_company(user)
    make_deal(user, company=company)
    monkeypatch.setattr(Company._meta.get_field("deals"), "on_delete", models.PROTECT)
    records_delete(user=user, objs=[company])
    age(company, 31)
    with pytest.raises(ProtectedError):
        trash_purge_expired()
    assert Company.all_objects.filter(pk=company.pk).exists()
    assert not AuditLog.objects.filter(action=AuditLog.PURGE).exists()
