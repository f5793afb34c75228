"""The timeline links' copies of their record's read scope and of their entry (timeline.link_copies): kept by the
database whatever writes the record, the entry or the link, and giving exactly the visibility the records give."""

import pytest
from django.db import connection
from django.utils import timezone

from access.scopes import forget
from access.services import share_grant
from crm_site import services as crm_services
from crm_site.registry import registry
from dedup.services import records_merge
from tests import postgres
from tests.factories import assign_role, make_company, make_contact, make_deal, make_lead, make_user
from timeline import link_copies, selectors, services
from timeline.forms import entry_form_class
from timeline.models import Entry, EntryLink, TaskState
from trash.services import records_delete, records_purge, records_restore

pytestmark = [pytest.mark.django_db, postgres.only]  # the database keeps the copies on PostgreSQL

NOTE = {"body": "Called about the order"}
TASK = {"subject": "Send the offer", "body": ""}


def add(user, obj, kind="note", data=None):
    form = entry_form_class(kind)(data=data or (TASK if kind == "task" else NOTE), user=user)
    assert form.is_valid(), form.errors
    return services.entry_create(user=user, obj=obj, form=form)


def copies(entry, obj):
    link = EntryLink.objects.get(entry=entry, content_type=selectors.content_type_of(type(obj)), object_id=obj.pk)
    return {"owner": link.record_owner_id, "department": link.record_department_id, "opened": link.record_opened,
            "live": link.record_live, "kind": link.entry_kind, "author": link.entry_author_id,
            "created_at": link.entry_created_at, "state": link.entry_state, "done_at": link.entry_done_at,
            "responsible": link.entry_responsible_id}


def test_every_registered_entity_is_covered():
    """The triggers are made after migrate from the registry, the fifth entity of the tests included."""
    tables = {entity.model._meta.db_table for entity in registry}
    assert "product" in registry  # tests/products
    assert link_copies.installed_tables(connection) == tables


def test_a_new_link_copies_its_record_and_its_entry(user):
    deal = make_deal(user)
    note = add(user, deal)
    found = copies(note, deal)
    assert found["owner"] == user.pk and found["department"] == deal.department_id and found["live"]
    assert not found["opened"]
    assert found["kind"] == "note" and found["author"] == user.pk and found["created_at"] == note.created_at
    # A link to a record that does not exist shows nothing.
    EntryLink.objects.create(entry=note, content_type=selectors.content_type_of(type(deal)), object_id=10**9)
    stray = EntryLink.objects.get(entry=note, object_id=10**9)
    assert not stray.record_live and stray.record_owner_id is None


def test_copies_follow_the_record_through_every_write_path(user, colleague, other_user):
    root = make_user("root", superuser=True)
    contact = make_contact(user)
    note = add(user, contact)
    crm_services.record_update(user=root, obj=contact, data={"owner": other_user, "opened": True})
    contact.refresh_from_db()
    found = copies(note, contact)
    assert (found["owner"], found["department"], found["opened"]) == (
        other_user.pk, contact.department_id, True)
    assert contact.department_id != user.memberships.first().department_id  # the department followed the owner
    records_delete(user=root, objs=[contact])
    assert not copies(note, contact)["live"]
    records_restore(user=root, objs=[type(contact).all_objects.get(pk=contact.pk)])
    assert copies(note, contact)["live"]
    # A write outside the services (a raw UPDATE) reaches the copies just the same.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_contact SET owner_id = %s, opened = false WHERE id = %s",
                       [colleague.pk, contact.pk])
    found = copies(note, contact)
    assert (found["owner"], found["opened"]) == (colleague.pk, False)
    # Deleted for good: the row goes, its links with it (purge), or are marked not live (a bare DELETE).
    other = make_company(user)
    call = add(user, other, "call", {"direction": "out", "phone": "", "duration": "", "result": "ok", "body": ""})
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeline_entrylink WHERE entry_id = %s AND content_type_id <> %s",
                       [call.pk, selectors.content_type_of(type(other)).pk])
    records_delete(user=user, objs=[other])
    records_purge(user=root, objs=[type(other).all_objects.get(pk=other.pk)])
    assert not EntryLink.objects.filter(entry=call).exists()


def test_a_merge_moves_links_with_the_survivors_scope(user, other_user):
    survivor, other = make_lead(user, opened=True), make_lead(user)
    note = add(user, other)
    records_merge(user=make_user("boss", superuser=True), survivor=survivor, others=[other])
    found = copies(note, survivor)
    assert found["live"] and found["opened"] and found["owner"] == user.pk


def test_copies_follow_the_entry(user, colleague):
    deal = make_deal(user)
    task = add(user, deal, "task", {**TASK, "responsible": colleague.pk})
    assert copies(task, deal)["state"] == TaskState.PLANNED and copies(task, deal)["responsible"] == colleague.pk
    services.task_set_state(user=user, entry=task, state=TaskState.DONE)
    task.refresh_from_db()
    found = copies(task, deal)
    assert found["state"] == TaskState.DONE and found["done_at"] == task.done_at is not None
    earlier = timezone.now() - timezone.timedelta(days=40)
    Entry.objects.filter(pk=task.pk).update(created_at=earlier)  # e.g. an import dating its entries
    assert copies(task, deal)["created_at"] == earlier


def _visible_ids(user, monkeypatch, *, use_copies):
    monkeypatch.setattr(link_copies, "enabled", lambda connection=None: use_copies)
    forget(user)
    return set(selectors.visible_entries(user).values_list("pk", flat=True))


def test_the_copies_give_exactly_the_records_visibility(user, colleague, other_user, head, monkeypatch):
    """Every level (own, department, open, all), sharing, the bin and several links per entry: the same entries
    through the copies as through the records."""
    manager = make_user("manager", department=other_user.memberships.first().department)
    assign_role("Sales manager", user=manager)
    auditor = make_user("auditor")
    assign_role("Read-only auditor", user=auditor)
    mine, theirs = make_contact(user), make_contact(other_user)
    opened = make_company(other_user, opened=True)
    shared = make_deal(other_user)
    binned = make_deal(user)
    entries = [add(user, mine), add(other_user, theirs), add(other_user, opened), add(other_user, shared),
               add(user, binned)]
    EntryLink.objects.create(entry=entries[1], content_type=selectors.content_type_of(type(mine)), object_id=mine.pk)
    EntryLink.objects.filter(entry__in=entries[3:]).exclude(content_type__model="deal").delete()  # the deal's alone
    share_grant(user=other_user, obj=shared, grantee=colleague, level="read")
    records_delete(user=user, objs=[binned])
    superuser = make_user("root", superuser=True)
    for person in (user, colleague, other_user, head, manager, auditor, superuser):
        through_records = _visible_ids(person, monkeypatch, use_copies=False)
        through_copies = _visible_ids(person, monkeypatch, use_copies=True)
        assert through_copies == through_records, person.username
    assert entries[3].pk in _visible_ids(colleague, monkeypatch, use_copies=True)
    assert entries[4].pk not in _visible_ids(superuser, monkeypatch, use_copies=True)


def test_a_scope_with_no_copy_falls_back_to_the_record():
    from django.db.models import Q

    assert link_copies._renamed(Q(owner_id=1) | Q(department_id__in=[2, 3]) | Q(opened=True)) == (
        Q(record_owner_id=1) | Q(record_department_id__in=[2, 3]) | Q(record_opened=True))
    assert link_copies._renamed(Q(owner_id=1) | Q(stage__semantic="won")) is None
