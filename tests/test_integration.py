"""The apps working together through domain events: the bin, the timeline and duplicates."""

import pytest
from django.contrib.contenttypes.models import ContentType

from crm_site import events
from crm_site.services import record_delete
from dedup.matching import candidates_for_record
from dedup.models import MatchKey
from dedup.services import merge_undo, records_merge
from tests.factories import make_contact
from timeline.models import Entry, EntryLink, Kind
from timeline.selectors import entries_for_record
from trash.services import record_restore, records_purge

pytestmark = pytest.mark.django_db


def contact(user, **fields):
    person = make_contact(user, **fields)
    events.record_event(events.CREATED, obj=person, user=user)
    return person


def note(user, *records, body="Звонил, просил перезвонить"):
    entry = Entry.objects.create(kind=Kind.NOTE, author=user, body=body)
    for record in records:
        EntryLink.objects.create(entry=entry, content_type=ContentType.objects.get_for_model(record),
                                 object_id=record.pk)
    return entry


def kinds_on(user, obj):
    return [e.kind for e in entries_for_record(user, obj)]


def test_delete_and_restore_show_on_the_timeline_and_keep_entries(user):
    person = contact(user, phones=["+7 495 111-22-33"])
    entry = note(user, person)
    record_delete(user=user, obj=person)
    record_restore(user=user, obj=person)
    kinds = kinds_on(user, person)
    assert Kind.DELETED in kinds and Kind.RESTORED in kinds
    assert entry.pk in [e.pk for e in entries_for_record(user, person)]


def test_a_restored_record_matches_again(user):
    first = contact(user, last_name="Сидоров", first_name="Олег", phones=["+7 495 222-33-44"])
    second = contact(user, last_name="Sidorov", first_name="Oleg", phones=["8 (495) 222-33-44"])
    record_delete(user=user, obj=first)
    assert first.pk not in [c.obj.pk for c in candidates_for_record(second)]
    record_restore(user=user, obj=type(first).all_objects.get(pk=first.pk))
    assert first.pk in [c.obj.pk for c in candidates_for_record(second)]


def test_merge_moves_timeline_entries_writes_merged_and_undo_puts_them_back(user):
    survivor = contact(user, last_name="Петренко", phones=["+380 44 123 45 67"])
    other = contact(user, last_name="Petrenko", phones=["044 123 45 67"])
    shared = note(user, survivor, other, body="общая заметка")  # linked to both: must not collide
    own = note(user, other, body="только у второго")
    merge = records_merge(user=user, survivor=survivor, others=[other])
    on_survivor = [e.pk for e in entries_for_record(user, survivor)]
    assert shared.pk in on_survivor and own.pk in on_survivor
    assert Kind.MERGED in kinds_on(user, survivor)
    merge_undo(user=user, merge=merge)
    other = type(other).objects.get(pk=other.pk)  # back from the bin
    assert own.pk in [e.pk for e in entries_for_record(user, other)]
    assert own.pk not in [e.pk for e in entries_for_record(user, survivor)]
    assert shared.pk in [e.pk for e in entries_for_record(user, other)]


def test_purge_removes_entries_and_match_keys(user, admin_user):
    person = contact(user, phones=["+7 495 333-44-55"])
    entry = note(user, person)
    record_delete(user=user, obj=person)
    content_type = ContentType.objects.get_for_model(person)
    assert records_purge(user=admin_user, objs=[type(person).all_objects.get(pk=person.pk)]) == 1
    assert not type(person).all_objects.filter(pk=person.pk).exists()
    assert not Entry.objects.filter(pk=entry.pk).exists()
    assert not EntryLink.objects.filter(content_type=content_type, object_id=person.pk).exists()
    assert not MatchKey.objects.filter(content_type=content_type, object_id=person.pk).exists()
