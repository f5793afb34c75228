"""Match keys kept current, the default duplicate rules, explanations, the bin, and the scan."""

import io
import json
from datetime import date

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse

from crm_site import events
from crm_site.services import record_delete
from dedup.keys import keys_rebuild, keys_refresh
from dedup.matching import candidates_for_record, explain_all, find_candidates, keys_from_form
from dedup.models import DuplicateRule, MatchKey, NotDuplicate
from dedup.scan import block_pairs, scan_entity
from dedup.services import duplicates_scan, not_duplicate_mark
from tests.factories import add_channels, make_company, make_contact, make_lead

pytestmark = pytest.mark.django_db


def announce(obj, user):
    events.record_event(events.CREATED, obj=obj, user=user)
    return obj


def contact(user, **fields):
    return announce(make_contact(user, **fields), user)


def keys_of(obj):
    ct = ContentType.objects.get_for_model(obj)
    return set(MatchKey.objects.filter(content_type=ct, object_id=obj.pk).values_list("kind", "value"))


def test_keys_follow_events_and_phones(user):
    person = contact(user, last_name="Иванов", first_name="Иван", phones=["8 (495) 123-45-67"],
                     emails=["Ivan@Example.com"])
    keys = keys_of(person)
    assert ("phone", "+74951234567") in keys
    assert ("email", "ivan@example.com") in keys
    assert ("name", "ivan ivanov") in keys
    assert ("birthday", "1985-04-12") in keys
    add_channels(person, phones=["+380 44 123 45 67"])  # a phone saved directly refreshes the keys too
    assert ("phone", "+380441234567") in keys_of(person)
    record_delete(user=user, obj=person)
    assert keys_of(person) == set()


def test_contact_rule_same_phone(user):
    a = contact(user, last_name="Иванов", first_name="Иван", phones=["8 (495) 123-45-67"])
    b = contact(user, last_name="Сидоров", first_name="Пётр", phones=["+7 495 1234567"], birthday=None)
    found = candidates_for_record(b)
    assert [c.obj for c in found] == [a]
    assert "same phone +7 495 123-45-67" in found[0].explanation


def test_contact_rule_same_email(user):
    a = contact(user, emails=["ivan@example.com"])
    b = contact(user, emails=[" IVAN@example.com"], birthday=None)
    assert [c.obj for c in candidates_for_record(b)] == [a]


def test_contact_rule_similar_name_needs_support(user):
    a = contact(user, last_name="Иванов", first_name="Иван", middle_name="", birthday=date(1980, 1, 2),
                address="Москва, ул. Тверская, д. 1")
    # Transliterated, swapped order, same birthday: a duplicate, explained.
    b = contact(user, last_name="Ivan", first_name="Ivanov", middle_name="", birthday=date(1980, 1, 2), address="")
    found = candidates_for_record(b)
    assert [c.obj for c in found] == [a]
    text = found[0].explanation
    # (before issue 18 the sentence was "name similarity 100% (Иванов Иван ~ Ivan Ivanov); same birthday")
    assert "first and last name swapped" in text and "same birthday" in text
    assert "same last name Ivanov / Иванов" in text and "same first name Ivan / Иван" in text
    # Same name but nothing else in common: a namesake, not a duplicate.
    c = contact(user, last_name="Иванов", first_name="Иван", birthday=date(1990, 5, 5), address="Киев")
    assert a not in [x.obj for x in candidates_for_record(c)]


def test_contact_rule_name_with_typo_and_same_company(user):
    company = make_company(user, name="ООО «Ромашка»")
    a = contact(user, last_name="Щербаков", first_name="Юрий", birthday=None, address="", companies=[company])
    b = contact(user, last_name="Shcherbakov", first_name="Yurij", birthday=None, address="", companies=[company])
    found = candidates_for_record(b)
    assert [c.obj for c in found] == [a]
    assert "same company" in found[0].explanation


def test_lead_is_matched_against_contacts_and_companies(user):
    person = contact(user, phones=["+7 495 555-44-33"])
    company = announce(make_company(user, name="ООО «Вектор»", phones=["+7 812 000-00-00"]), user)
    lead = make_lead(user, company_name="Вектор", phones=["8 495 555 44 33"])
    found = {c.obj: c for c in candidates_for_record(lead)}
    assert person in found and company in found
    assert "same company name" in found[company].explanation


@pytest.mark.parametrize("field, a_value, b_value, reason", [
    ("name", "ООО «Ромашка»", "Romashka LLC", "same company name"),
    ("tax_id", "7701234567", "77 0123 4567", "same tax ID 7701234567"),
    ("website", "https://www.romashka.ru/", "romashka.ru", "same website romashka.ru"),
])
def test_company_rules(user, field, a_value, b_value, reason):
    base = {"name": "Alpha", "tax_id": "", "website": ""}
    a = announce(make_company(user, **{**base, "name": "Alpha", field: a_value}), user)
    b = announce(make_company(user, **{**base, "name": "Beta", field: b_value}), user)
    found = candidates_for_record(b)
    assert [c.obj for c in found] == [a]
    assert reason in found[0].explanation


def test_company_same_phone_or_email(user):
    a = announce(make_company(user, name="Alpha", tax_id="", website="", emails=["info@x.ru"]), user)
    b = announce(make_company(user, name="Beta", tax_id="", website="", emails=["INFO@x.ru"]), user)
    assert [c.obj for c in candidates_for_record(b)] == [a]


def test_disabled_rule_finds_nothing(user):
    contact(user, phones=["+7 495 123-45-67"])
    b = contact(user, phones=["+7 495 123-45-67"])
    DuplicateRule.objects.filter(entity="contact").update(enabled=False)
    assert candidates_for_record(b) == []


def test_records_in_the_bin_never_match(user):
    a = contact(user, phones=["+7 495 123-45-67"])
    b = contact(user, phones=["+7 495 123-45-67"])
    record_delete(user=user, obj=a)
    assert candidates_for_record(b) == []
    # Even stale keys (written behind the services' back) do not bring it back.
    MatchKey.objects.create(content_type=ContentType.objects.get_for_model(a), object_id=a.pk, kind="phone",
                            value="+74951234567")
    assert candidates_for_record(b) == []
    assert scan_entity("contact").groups == []


def test_form_values_find_candidates(user):
    a = contact(user, last_name="Петров", first_name="Пётр", phones=["+7 495 123-45-67"])
    data = {"last_name": "Petrov", "first_name": "Petr", "ch-phone-0-value": "8 (495) 123-45-67"}
    found = find_candidates("contact", keys_from_form("contact", data))
    assert [c.obj for c in found] == [a]


def test_rebuild_matches_the_incremental_keys(user):
    people = [contact(user, phones=[f"+7 495 000-00-0{i}"], emails=[f"p{i}@x.ru"]) for i in range(3)]
    before = {p.pk: keys_of(p) for p in people}
    MatchKey.objects.all().delete()
    assert keys_rebuild("contact") > 0
    assert {p.pk: keys_of(p) for p in people} == before


def test_block_pairs_pairs_within_blocks_only():
    import numpy as np

    members = np.array([0, 1, 2, 3, 4, 5])
    codes = np.array([7, 7, 7, 9, 9, 11])
    left, right, _skipped = block_pairs(members, codes)
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2), (3, 4)]
    left, right, skipped = block_pairs(members, codes, max_block=2)
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [(3, 4)] and skipped == 1


def test_scan_groups_and_not_a_duplicate(user):
    a = contact(user, last_name="Иванов", first_name="Иван", phones=["+7 495 123-45-67"])
    b = contact(user, last_name="Ivanov", first_name="Ivan", phones=["8 (495) 123-45-67"])
    c = contact(user, last_name="Ivanov", first_name="Ivan", emails=["x@y.ru"], birthday=b.birthday)  # name + bday
    d = contact(user, last_name="Другой", first_name="Человек", birthday=date(1970, 1, 1))
    run = duplicates_scan(entity_key="contact", user=user)
    assert run.status == "done" and run.groups == 1
    group = run.duplicate_groups.get()
    assert group.object_ids == sorted([a.pk, b.pk, c.pk]) and d.pk not in group.object_ids
    assert "same phone" in explain_all(group.reasons)
    not_duplicate_mark(user=user, first=c, second=b)
    not_duplicate_mark(user=user, first=c, second=a)
    assert NotDuplicate.objects.count() == 2
    groups = scan_entity("contact").groups
    assert [g["ids"] for g in groups] == [sorted([a.pk, b.pk])]


def test_find_duplicates_json(user):
    a = contact(user, phones=["+7 495 123-45-67"])
    b = contact(user, phones=["8 495 123 45 67"])
    out = io.StringIO()
    call_command("find_duplicates", "contact", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert len(rows) == 1 and set(rows[0]) == {"ids", "score", "reasons"}
    assert rows[0]["ids"] == sorted([a.pk, b.pk])
    assert isinstance(rows[0]["score"], int) and 90 <= rows[0]["score"] <= 100
    assert rows[0]["reasons"] and all(isinstance(r, str) and r for r in rows[0]["reasons"])
    assert rows[0]["reasons"][0].startswith("same phone")


def test_find_duplicates_unknown_entity():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("find_duplicates", "nope", "--json", stdout=io.StringIO())


def test_keys_refresh_of_a_binned_record_is_empty(user):
    a = contact(user)
    record_delete(user=user, obj=a)
    a.refresh_from_db()
    assert keys_refresh(a) == set()


def test_renaming_a_company_refreshes_the_company_keys_of_its_contacts(admin_user, admin_client):
    from dedup.normalize import company_key
    from tests.factories import edit_data

    company = make_company(admin_user, name="ООО Ромашка")
    contact = make_contact(admin_user, last_name="Петров", companies=[company])
    contact_type = ContentType.objects.get_for_model(contact)

    def contact_company_keys():
        return set(MatchKey.objects.filter(content_type=contact_type, object_id=contact.pk, kind="company")
                   .values_list("value", flat=True))

    keys_refresh(company)
    keys_refresh(contact)
    assert contact_company_keys() == {company_key("ООО Ромашка")}
    response = admin_client.post(reverse("company_edit", args=[company.pk]), edit_data(company, name="Василёк"))
    assert response.status_code == 302
    assert contact_company_keys() == {company_key("Василёк")}
    # Other edits of the company keep its contacts' keys right.
    company.refresh_from_db()
    response = admin_client.post(reverse("company_edit", args=[company.pk]), edit_data(company, comment="x"))
    assert response.status_code == 302 and contact_company_keys() == {company_key("Василёк")}


def test_records_marked_apart_never_meet_in_a_group_through_a_third_one(user):
    a = contact(user, last_name="Иванов", first_name="Иван", phones=["+7 495 123-45-67"])
    b = contact(user, last_name="Ivanov", first_name="Ivan", phones=["8 (495) 123-45-67"])
    c = contact(user, last_name="Ivanov", first_name="Ivan", emails=["x@y.ru"], birthday=b.birthday)
    [group] = scan_entity("contact").groups
    assert group["ids"] == sorted([a.pk, b.pk, c.pk])
    not_duplicate_mark(user=user, first=a, second=c)  # a ~ b and b ~ c still match
    groups = [g["ids"] for g in scan_entity("contact").groups]
    assert groups and all(not {a.pk, c.pk} <= set(ids) for ids in groups)
    assert any(b.pk in ids for ids in groups)
