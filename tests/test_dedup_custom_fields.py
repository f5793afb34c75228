"""Custom fields that find duplicates (issue 15): marked in the admin, match keys kept current on every write
path and on every change of the definition, the scan and its reasons, the warning while typing, the import's
"match on" (wizard and command), the API's upsert, access (a record the user can't read, a field hidden from
the role) and the scoring of an identifier."""

import csv
import io
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from access.models import FieldRule, Role
from contacts.models import Contact
from crm_site import services
from crm_site.customfields.models import CustomField
from dedup import normalize, scoring
from dedup.models import DuplicateGroup, MatchKey
from dedup.services import duplicates_scan, records_merge
from tests import postgres
from tests.factories import assign_role, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_no(db):
    return CustomField.objects.create(entity="contact", code="customer_no", label="Customer number", type="text",
                                      duplicate_criterion=True)


def person(owner, last, first, number=None, **data):
    """A contact through the write service; nothing but the names (and the number) to go by."""
    data = {"owner": owner.pk, "last_name": last, "first_name": first, **data}
    if number is not None:
        data["cf_customer_no"] = number
    return services.record_create(user=owner, entity="contact", data=data)


def custom_keys(obj=None):
    keys = MatchKey.objects.filter(kind=MatchKey.Kind.CUSTOM)
    if obj is not None:
        keys = keys.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
    return sorted(keys.values_list("value", flat=True))


def check(client, **data):
    return client.post(reverse("dedup_check", args=["contact"]), data, HTTP_HX_REQUEST="true").content.decode()


def test_values_are_normalised_by_the_fields_type():
    assert normalize.custom_key("text", "  AB-123 45 ") == "ab12345" == normalize.custom_key("text", "ab 12345")
    assert normalize.custom_key("text", "XTA–2107 0012") == "xta21070012"  # an en dash, as Word types it
    assert normalize.custom_key("text", " - ") == "" and normalize.custom_key("text", None) == ""
    assert normalize.custom_key("phone", "8 (495) 123-45-67") == "+74951234567"
    assert normalize.custom_key("email", " Card@Example.COM ") == "card@example.com"


def test_admin_marks_a_field_and_the_values_get_keys(admin_user, user, logged_in_client):
    client = logged_in_client(admin_user)
    page = client.get(reverse("admin:customfields_customfield_add")).content.decode()
    assert 'name="duplicate_criterion"' in page and "finds duplicates" in page.lower()
    form = {"entity": "contact", "code": "vin", "label": "VIN", "type": "text", "order": "0", "filterable": "on",
            "duplicate_criterion": "on", "default": "", "show_when_values": "[]",
            "options-TOTAL_FORMS": "0", "options-INITIAL_FORMS": "0"}
    # a type that can't be an identifier is refused with a message
    refused = client.post(reverse("admin:customfields_customfield_add"), {**form, "type": "date"})
    assert refused.status_code == 200 and "can find duplicates" in refused.content.decode()
    response = client.post(reverse("admin:customfields_customfield_add"), form)
    assert response.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', response.content.decode())
    field = CustomField.objects.get(code="vin")
    assert field.duplicate_criterion
    a = services.record_create(user=user, entity="contact", data={"last_name": "Орлов", "cf_vin": "XTA 2107-0012"})
    assert custom_keys(a) == ["vin:xta21070012"]
    # the duplicate rules' admin names it, and its weights show with the others
    # the duplicate rules' admin lists it (with its weights among the others)
    from dedup.models import DuplicateRule

    rule, _created = DuplicateRule.objects.get_or_create(entity="contact", defaults={"criteria": ["phone"]})
    rule_page = client.get(reverse("admin:dedup_duplicaterule_change", args=[rule.pk])).content.decode()
    assert "VIN" in rule_page and "cf_vin" in rule_page
    listing = client.get(reverse("admin:customfields_customfield_changelist") + "?duplicate_criterion__exact=1")
    assert "VIN" in listing.content.decode()
    with pytest.raises(ValidationError):
        CustomField(entity="deal", code="x", label="X", type="text", duplicate_criterion=True).full_clean()


def test_every_write_path_keeps_the_keys_current(customer_no, user):
    a = person(user, "Кузнецова", "Анна", "AB-123 45")
    assert custom_keys(a) == ["customer_no:ab12345"]
    a = services.record_update(user=user, obj=a, data={"cf_customer_no": "cd 777"})
    assert custom_keys(a) == ["customer_no:cd777"]
    result = services.records_update_bulk(user=user, rows=[{"obj": a, "data": {"cf_customer_no": "EF-1"}}])
    assert not result.errors and custom_keys(a) == ["customer_no:ef1"]
    a = services.record_update(user=user, obj=a, data={"cf_customer_no": ""})
    assert custom_keys(a) == []  # an empty value has no key
    b = person(user, "Кузнецова", "Анна", "ab12345")
    c = person(user, "Кузнецова", "Анна")
    records_merge(user=user, survivor=c, others=[b], field_choices={"custom_fields.customer_no": str(b.pk)})
    c.refresh_from_db()
    assert c.custom_fields.get("customer_no") == "ab12345"
    assert custom_keys(c) == ["customer_no:ab12345"] and custom_keys(b) == []  # the merged record is in the bin
    MatchKey.objects.filter(kind=MatchKey.Kind.CUSTOM).delete()
    call_command("rebuild_match_keys", "contacts", stdout=io.StringIO())
    assert custom_keys() == ["customer_no:ab12345"]


def test_the_scan_finds_two_contacts_by_the_value_and_names_the_field(customer_no, user, logged_in_client):
    # Married: another surname, nothing else in common; the engine alone would not pair them.
    a = person(user, "Смирнова", "Анна", "AB-123 45")
    b = person(user, "Кузнецова", "Анна", " ab12345")
    c = person(user, "Смирнова", "Анна", " - ")  # no value (a dash only): no evidence
    d = person(user, "Кузнецова", "Анна", "")
    verdict = scoring.score("contact", {"last_name": "Смирнова", "first_name": "Анна"},
                            {"last_name": "Кузнецова", "first_name": "Анна"})
    assert not verdict.is_duplicate
    run = duplicates_scan(entity_key="contact")
    groups = list(DuplicateGroup.objects.filter(scan=run))
    assert [sorted(g.object_ids) for g in groups] == [sorted([a.pk, b.pk])]
    assert {"code": "cf_customer_no", "level": "exact"}.items() <= groups[0].reasons[0].items()
    assert c.pk not in groups[0].object_ids and d.pk not in groups[0].object_ids
    assign_role("Head of sales", user=user)
    text = logged_in_client(user).get(reverse("dedup_groups") + "?entity=contact").content.decode()
    assert "same Customer number: ab12345" in text
    merge_screen = logged_in_client(user).get(reverse("dedup_merge", args=["contact"]) + f"?ids={a.pk},{b.pk}")
    assert merge_screen.status_code == 200 and "Why: same Customer number: ab12345" in merge_screen.content.decode()


def test_the_warning_while_typing_finds_the_value_in_another_form(customer_no, user, logged_in_client):
    a = person(user, "Смирнова", "Анна", "AB-123 45")
    client = logged_in_client(user)
    text = check(client, last_name="Кузнецова", first_name="Анна", cf_customer_no="ab 123-45")
    assert a.get_absolute_url() in text and "same Customer number: ab12345" in text
    assert 'id="field-note-cf_customer_no"' in text  # shown next to the field that matched
    assert a.get_absolute_url() not in check(client, last_name="Кузнецова", first_name="Анна", cf_customer_no="  ")
    assert a.get_absolute_url() not in check(client, last_name="Кузнецова", first_name="Анна", cf_customer_no="ab12346")
    # a new contact's form carries the field and its note slot
    form = client.get(reverse("contact_add")).content.decode()
    assert 'name="cf_customer_no"' in form and 'id="field-note-cf_customer_no"' in form


def test_a_match_the_user_cannot_read_reveals_nothing(customer_no, user, other_user, logged_in_client):
    secret = person(other_user, "Секретная", "Анна", "ZZ-900 1")
    text = check(logged_in_client(user), last_name="Кузнецова", first_name="Анна", cf_customer_no="zz9001")
    assert "exists, owned by Bob Brown" in text
    assert "Секретная" not in text and secret.get_absolute_url() not in text and "zz9001" not in text
    assert "Customer number" not in text


def test_a_field_hidden_from_the_role_is_not_named_nor_used_to_probe(customer_no, user, marketer, logged_in_client):
    a = person(user, "Смирнова", "Анна", "AB-123 45")
    person(user, "Кузнецова", "Анна", "ab12345")
    FieldRule.objects.create(role=Role.objects.get(name="Marketer"), entity="contact", field="cf_customer_no",
                             mode=FieldRule.HIDDEN)
    duplicates_scan(entity_key="contact")
    client = logged_in_client(marketer)
    text = client.get(reverse("dedup_groups") + "?entity=contact").content.decode()
    assert a.get_absolute_url() in text  # the group is readable...
    assert "Customer number" not in text and "ab12345" not in text  # ...but its reason about the field is not
    card = client.get(reverse("dedup_record", args=["contact", a.pk])).content.decode()
    assert "Customer number" not in card and "ab12345" not in card
    ids = ",".join(str(pk) for pk in sorted(Contact.objects.values_list("pk", flat=True)))
    merge_screen = client.get(reverse("dedup_merge", args=["contact"]) + f"?ids={ids}").content.decode()
    assert "Why:" in merge_screen and "Customer number" not in merge_screen and "ab12345" not in merge_screen
    # the field isn't in the marketer's form: posting it anyway finds nothing
    assert a.get_absolute_url() not in check(client, last_name="Иванов", first_name="Пётр", cf_customer_no="ab12345")


def test_import_match_on_the_field_merges_into_the_right_record(customer_no, user, tmp_path):
    importer = make_user("imp")
    assign_role("Head of sales", user=importer)
    right = person(importer, "Смирнова", "Анна", "AB-123 45")
    namesake = person(importer, "Смирнова", "Анна", "CD-999")
    path = tmp_path / "clients.csv"
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=";").writerows([["Фамилия", "Имя", "Customer number", "Должность"],
                                                 ["Смирнова", "Анна", "ab 12345", "Бухгалтер"]])
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    out = io.StringIO()
    call_command("import_records", "contacts", str(path), "--owner", "imp", "--match", "cf_customer_no",
                 "--on-duplicate", "merge", stdout=out)
    assert "merge: 1" in out.getvalue(), out.getvalue()
    right.refresh_from_db()
    namesake.refresh_from_db()
    assert right.position == "Бухгалтер" and namesake.position != "Бухгалтер"
    assert Contact.objects.count() == 2
    with pytest.raises(CommandError, match="Unknown criterion"):
        call_command("import_records", "contacts", str(path), "--owner", "imp", "--match", "cf_nothing",
                     stdout=io.StringIO())
    from crm_site.registry import registry
    from dedup.importing.views import _criteria_for

    assert ("cf_customer_no", "Customer number") in _criteria_for(registry["contact"], importer)


@postgres.only
def test_api_upsert_by_duplicates_uses_the_field(customer_no, user):
    from dedup.importing.pipeline import import_rows

    importer = make_user("imp2")
    assign_role("Head of sales", user=importer)
    right = person(importer, "Смирнова", "Анна", "AB-123 45")
    batch, report = import_rows(importer, "contact", [
        {"data": {"last_name": "Кузнецова", "first_name": "Анна", "custom_fields": {"customer_no": "ab12345"},
                  "position": "Кассир"}}], on_duplicate="merge")
    assert report[0]["outcome"] == "merge" and report[0]["target_id"] == right.pk
    from tests.api_helpers import api_for

    api = api_for(importer)
    result = api.post("/api/v1/contacts/bulk/", {"mode": "upsert", "key": "duplicates", "on_match": "merge", "items": [
        {"last_name": "Кузнецова", "first_name": "Анна", "comment": "api", "custom_fields": {"customer_no": "AB12345"}}
    ]}).json()
    assert result["results"][0]["status"] == "updated" and result["results"][0]["id"] == right.pk


def test_unmarking_renaming_and_deleting_the_field_rewrite_its_keys(customer_no, user, admin_user, logged_in_client):
    a = person(user, "Смирнова", "Анна", "AB-123 45")
    assert custom_keys(a) == ["customer_no:ab12345"]
    customer_no.duplicate_criterion = False
    customer_no.save()
    assert custom_keys() == []
    assert scoring.comparisons_for("contact")[-1] != "cf_customer_no"
    customer_no.duplicate_criterion = True
    customer_no.save()
    assert custom_keys(a) == ["customer_no:ab12345"]
    # a new code in the admin: the values move (convert_values), and so do the keys
    client = logged_in_client(admin_user)
    form = {"code": "client_no", "label": "Client number", "type": "text", "order": "0", "filterable": "on",
            "duplicate_criterion": "on", "default": "", "show_when_values": "[]",
            "options-TOTAL_FORMS": "0", "options-INITIAL_FORMS": "0"}
    response = client.post(reverse("admin:customfields_customfield_change", args=[customer_no.pk]), form)
    assert response.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', response.content.decode())
    assert custom_keys(a) == ["client_no:ab12345"]
    client.post(reverse("admin:customfields_customfield_delete", args=[customer_no.pk]), {"post": "yes"})
    assert not CustomField.objects.exists() and custom_keys() == []


def test_an_identifier_is_strong_evidence_and_an_empty_value_none(customer_no, user):
    same = scoring.score("contact", {"last_name": "Смирнова", "first_name": "Анна", "cf_customer_no": "AB12345"},
                         {"last_name": "Кузнецова", "first_name": "Анна", "custom_fields": {"customer_no": "ab-12345"}})
    assert same.is_duplicate and same.percent >= 90
    alone = scoring.score("contact", {"last_name": "Смирнова", "cf_customer_no": "AB12345"},
                          {"first_name": "Анна", "cf_customer_no": "ab12345"})
    assert alone.is_duplicate
    # another first name is still another person
    other = scoring.score("contact", {"last_name": "Смирнова", "first_name": "Анна", "cf_customer_no": "AB12345"},
                          {"last_name": "Смирнова", "first_name": "Ольга", "cf_customer_no": "AB12345"})
    assert not other.is_duplicate
    # two different numbers count against, not as a contradiction; no value says nothing
    different = scoring.score("contact", {"last_name": "Смирнова", "first_name": "Анна", "cf_customer_no": "1"},
                              {"last_name": "Смирнова", "first_name": "Анна", "cf_customer_no": "2"})
    nothing = scoring.score("contact", {"last_name": "Смирнова", "first_name": "Анна", "cf_customer_no": ""},
                            {"last_name": "Смирнова", "first_name": "Анна"})
    assert different.weight < nothing.weight
    assert not any(r["code"] == "cf_customer_no" for r in nothing.reasons)
    assert "cf_customer_no" in different.conflicts
    # re-estimated parameters leave the identifier's weights as they are
    from dedup.models import DuplicateRule

    DuplicateRule.objects.update_or_create(entity="contact", defaults={
        "criteria": ["phone", "email", "name"], "parameters": {"u": {"cf_customer_no": {"exact": 0.5}}}})
    assert scoring.model_for("contact").weight("cf_customer_no", "exact") > 25
