"""The merge keeps every phone, email, link, deal, grant and timeline row; undo restores the exact state."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm

from contacts.models import Contact, ContactCompany
from crm_site.models import Communication, Tag
from crm_site.services import record_delete
from deals.models import Deal, DealContact
from dedup.models import MergeRecord
from dedup.services import has_conflicts, merge_plan, merge_undo, records_merge
from leads.models import Lead
from tests.factories import make_company, make_contact, make_deal, make_lead

pytestmark = pytest.mark.django_db


def state(*records):
    """Everything a merge may touch, as plain data (timestamps of the edit itself left out)."""
    out = {}
    for obj in records:
        obj = type(obj).all_objects.get(pk=obj.pk)
        fields = {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields
                  if f.name not in ("updated_at", "updated_by")}
        ct = ContentType.objects.get_for_model(obj)
        out[obj.pk] = {
            "fields": fields,
            "tags": sorted(obj.tags.values_list("pk", flat=True)),
            "comms": sorted(Communication.objects.filter(content_type=ct, object_id=obj.pk)
                            .values_list("pk", "channel", "value", "is_primary", "position")),
            "companies": sorted(ContactCompany.objects.filter(contact=obj).values_list("pk", "company_id", "position",
                                                                                    "is_primary")),
            "deals": sorted(DealContact.objects.filter(contact=obj).values_list("pk", "deal_id", "role")),
            "leads": sorted(Lead.all_objects.filter(converted_contact=obj).values_list("pk", flat=True)),
            "grants": sorted(UserObjectPermission.objects.filter(content_type=ct, object_pk=str(obj.pk))
                             .values_list("pk", "user_id", "permission_id")),
        }
    return out


@pytest.fixture
def pair(user, colleague):
    acme, globex, initech = (make_company(user, name=n) for n in ("Acme", "Globex", "Initech"))
    red, blue = Tag.objects.create(name="red"), Tag.objects.create(name="blue")
    a = make_contact(user, last_name="Иванов", first_name="Иван", position="", comment="",
                     phones=["+7 495 123-45-67"], emails=["ivan@example.com"], companies=[acme],
                     custom_fields={"vip": True, "size": "S"}, tags=[red])
    b = make_contact(user, last_name="Ivanov", first_name="Ivan", position="CEO", comment="from the fair",
                     phones=["8 (495) 123-45-67", "+380 44 123 45 67"], emails=["ivan@work.example.com"],
                     companies=[globex, acme], custom_fields={"size": "L", "source_code": "F1"}, tags=[blue, red])
    ContactCompany.objects.filter(contact=b, company=acme).update(position="Founder")
    ContactCompany.objects.filter(contact=b, company=globex).update(position="Advisor")
    deal = make_deal(user, contacts=[b], company=initech)
    shared = make_deal(user, contacts=[a, b], company=initech)
    lead = make_lead(user)
    lead.converted_contact = b
    lead.save()
    assign_perm("contacts.change_contact", colleague, b)
    return a, b, {"acme": acme, "globex": globex, "deal": deal, "shared": shared, "lead": lead}


def test_merge_keeps_everything(user, colleague, pair):
    a, b, extra = pair
    merge = records_merge(user=user, survivor=a, others=[b], field_choices={"position": b.pk})
    a.refresh_from_db()
    b = Contact.all_objects.get(pk=b.pk)
    assert b.deleted_at is not None  # in the bin, restorable
    assert a.position == "CEO" and a.comment == "from the fair"  # chosen / filled from the other
    assert a.last_name == "Иванов"  # survivor's non-empty value by default
    phones = sorted(c.normalized for c in a.phones)
    assert phones == ["+380441234567", "+74951234567"]
    assert sorted(c.value for c in a.emails) == ["ivan@example.com", "ivan@work.example.com"]
    assert sum(c.is_primary for c in a.phones) == 1
    assert set(a.tags.values_list("name", flat=True)) == {"red", "blue"}
    links = {link.company.name: link for link in ContactCompany.objects.filter(contact=a)}
    assert set(links) == {"Acme", "Globex"}
    assert links["Acme"].position == "Founder"  # filled from the other's link to the same company
    assert links["Globex"].position == "Advisor" and not links["Globex"].is_primary
    assert set(DealContact.objects.filter(contact=a).values_list("deal_id", flat=True)) == {
        extra["deal"].pk, extra["shared"].pk}
    assert Lead.objects.get(pk=extra["lead"].pk).converted_contact_id == a.pk
    assert colleague.has_perm("contacts.change_contact", Contact.objects.get(pk=a.pk))
    assert a.custom_fields == {"vip": True, "size": "S", "source_code": "F1"}
    kinds = {entry["type"] for entry in merge.log}
    assert {"field", "comm", "comm_kept", "m2m_add", "row", "row_kept"} <= kinds
    assert all("from" in entry for entry in merge.log)  # every moved value remembers its source


def test_undo_restores_the_exact_previous_state(user, pair):
    a, b, extra = pair
    before = state(a, b)
    merge = records_merge(user=user, survivor=a, others=[b], field_choices={"position": b.pk,
                                                                           "custom_fields.size": b.pk})
    assert state(a, b) != before
    merge_undo(user=user, merge=merge)
    after = state(a, b)
    for pk in before:
        for part in before[pk]:
            if part == "fields":
                for name, value in before[pk]["fields"].items():
                    assert after[pk]["fields"][name] == value, (pk, name)
            assert after[pk][part] == before[pk][part], (pk, part)
    assert after == before
    merge.refresh_from_db()
    assert merge.undone_at is not None
    with pytest.raises(ValidationError):
        merge_undo(user=user, merge=merge)


def test_undo_refused_after_a_change(user, pair):
    a, b, _extra = pair
    merge = records_merge(user=user, survivor=a, others=[b])
    a.refresh_from_db()
    a.comment = "changed later"
    a.save()
    with pytest.raises(ValidationError, match="changed since the merge"):
        merge_undo(user=user, merge=merge)


def test_merge_needs_edit_on_survivor_and_delete_on_others(user, colleague):
    mine = make_contact(user)
    theirs = make_contact(colleague)  # same department: readable, but not deletable by `user`
    with pytest.raises(PermissionDenied):
        records_merge(user=user, survivor=mine, others=[theirs])
    with pytest.raises(PermissionDenied):
        records_merge(user=user, survivor=theirs, others=[mine])
    assert Contact.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2
    assert not MergeRecord.objects.exists()


def test_merge_rejects_bad_input(user):
    a, b = make_contact(user), make_contact(user)
    with pytest.raises(ValidationError):
        records_merge(user=user, survivor=a, others=[])
    with pytest.raises(ValidationError):
        records_merge(user=user, survivor=a, others=[a])
    with pytest.raises(ValidationError):
        records_merge(user=user, survivor=a, others=[b], field_choices={"nope": b.pk})
    with pytest.raises(ValidationError):
        records_merge(user=user, survivor=a, others=[b], field_choices={"position": 999999})
    record_delete(user=user, obj=b)
    with pytest.raises(ValidationError):
        records_merge(user=user, survivor=a, others=[b])


def test_plan_defaults_and_conflicts(user):
    a = make_contact(user, position="", comment="x")
    b = make_contact(user, position="CEO", comment="y")
    plan = {item["name"]: item for item in merge_plan(a, [b])}
    assert plan["position"]["chosen"] == b.pk and not plan["position"]["conflict"]
    assert plan["comment"]["chosen"] == a.pk and plan["comment"]["conflict"]
    assert has_conflicts(a, [b])


def test_merge_companies_moves_deals_and_contacts(user):
    a = make_company(user, name="Acme")
    b = make_company(user, name="ACME LLC")
    deal = make_deal(user, company=b)
    person = make_contact(user, companies=[b])
    records_merge(user=user, survivor=a, others=[b])
    assert Deal.objects.get(pk=deal.pk).company_id == a.pk
    assert ContactCompany.objects.get(contact=person).company_id == a.pk

