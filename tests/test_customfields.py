"""Custom fields: every type through the write services (the path of forms, the admin, the import, the API and
bulk actions), the form, the card, the list, the admin, filters, history, the timeline, merge, lead conversion,
export (typed XLSX re-read with openpyxl, vCard re-read with vobject, the background export and its link), field
rules per role, type widenings, deletion and fill rates."""

import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from access.models import FieldRule, Role
from contacts.models import Contact
from crm_site import history, selectors, services
from crm_site.customfields.models import CustomField, CustomFieldChoice, ExportJob
from crm_site.customfields.registry import definition, importable_fields
from crm_site.customfields.services import convert_values, fill_rates, remove_values
from tests.factories import make_company, make_contact, make_deal, make_lead, post_data

pytestmark = pytest.mark.django_db


def _field(code, type_, entity="contact", **options):
    choices = options.pop("options", ())
    field = CustomField.objects.create(entity=entity, code=code, label=code.replace("_", " ").title(), type=type_,
                                       **options)
    for order, (value, label) in enumerate(choices):
        CustomFieldChoice.objects.create(field=field, value=value, label=label, order=order)
    return field


@pytest.fixture
def every_type(db, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    return {
        "text": _field("car_model", "text", show_in_list=True),
        "long_text": _field("notes", "long_text"),
        "integer": _field("visits", "integer", min_value=0, max_value=1000),
        "decimal": _field("rating", "decimal"),
        "money": _field("budget", "money"),
        "date": _field("last_service", "date"),
        "datetime": _field("next_call", "datetime"),
        "boolean": _field("vip", "boolean"),
        "choice": _field("level", "choice", options=[("gold", "Gold"), ("silver", "Silver")]),
        "choices": _field("interests", "choice", multiple=True, options=[("cars", "Cars"), ("boats", "Boats")]),
        "url": _field("site", "url"),
        "email": _field("private_email", "email"),
        "phone": _field("home_phone", "phone"),
        "file": _field("scan", "file"),
        "link": _field("referrer", "link", target_entity="company"),
        "user": _field("curator", "user"),
    }


def _raw_values(company, user):
    """Values as an import or the API gives them: text, mostly."""
    return {
        "cf_car_model": "Lada Vesta", "cf_notes": "line 1\nline 2", "cf_visits": "12", "cf_rating": "4,5",
        "cf_budget": "1 200,50 USD", "cf_last_service": "01.05.2026", "cf_next_call": "2026-12-02 14:30",
        "cf_vip": "да", "cf_level": "Gold", "cf_interests": ["cars", "Boats"], "cf_site": "example.com",
        "cf_private_email": "Ivan@Example.com", "cf_home_phone": "8 (495) 123-45-67",
        "cf_scan": SimpleUploadedFile("scan.pdf", b"%PDF-1.4 test", content_type="application/pdf"),
        "cf_referrer": company.pk, "cf_curator": user.pk,
    }


def test_every_type_through_the_write_services(every_type, user):
    company = make_company(user, name="Referrer LLC")
    contact = services.record_create(user=user, entity="contact",
                                     data={"last_name": "Petrov", **_raw_values(company, user)})
    stored = Contact.objects.get(pk=contact.pk).custom_fields
    assert stored["car_model"] == "Lada Vesta"
    assert stored["visits"] == 12 and stored["rating"] == "4.5"
    assert stored["budget"] == {"amount": "1200.50", "currency": "usd"}
    assert stored["last_service"] == "2026-05-01"
    assert stored["next_call"].endswith("+00:00")
    assert stored["vip"] is True and stored["level"] == "gold" and stored["interests"] == ["cars", "boats"]
    assert stored["site"] == "https://example.com" and stored["private_email"] == "ivan@example.com"
    assert stored["home_phone"] == "+74951234567"
    assert stored["scan"]["filename"] == "scan.pdf" and stored["referrer"] == company.pk and stored["curator"] == user.pk
    # display, list cell and export cell per type
    fields = every_type
    assert fields["money"].display(stored["budget"]) == "1,200.50 USD"
    assert fields["phone"].display(stored["home_phone"]) == "+7 495 123-45-67"
    assert fields["choices"].display(stored["interests"]) == "Cars, Boats"
    assert fields["link"].list_cell(contact, user) == {"value": "Referrer LLC", "link": company.get_absolute_url()}
    assert fields["integer"].export_cell(12) == 12
    assert fields["decimal"].export_cell("4.5") == Decimal("4.5")
    assert fields["date"].export_cell("2026-05-01") == date(2026, 5, 1)
    assert isinstance(fields["datetime"].export_cell(stored["next_call"]), datetime)


@pytest.mark.parametrize("name,value", [
    ("cf_visits", "twelve"), ("cf_visits", "-1"), ("cf_visits", "5000"), ("cf_rating", "x"),
    ("cf_budget", "12 XYZ"), ("cf_last_service", "31.02.2026"), ("cf_vip", "maybe"), ("cf_level", "bronze"),
    ("cf_site", "javascript:alert(1)"), ("cf_private_email", "not-an-email"), ("cf_home_phone", "12"),
    ("cf_scan", "a string, not a file"), ("cf_curator", "999999"), ("cf_unknown", "x"), ("cf_car_model", "x" * 300),
])
def test_bad_values_are_refused_and_nothing_is_written(every_type, user, name, value):
    before = Contact.objects.count()
    with pytest.raises(ValidationError) as error:
        services.record_create(user=user, entity="contact", data={"last_name": "Bad", name: value})
    assert name in error.value.message_dict
    assert Contact.objects.count() == before


def test_link_to_a_record_the_user_may_not_read_is_refused(user, other_user):
    _field("referrer", "link", target_entity="company")
    hidden = make_company(other_user, name="Not yours")
    with pytest.raises(ValidationError) as error:
        services.record_create(user=user, entity="contact", data={"last_name": "X", "cf_referrer": hidden.pk})
    assert "cf_referrer" in error.value.message_dict


def test_form_card_list_history_and_timeline(every_type, user, logged_in_client):
    client = logged_in_client(user)
    company = make_company(user, name="Referrer LLC")
    data = post_data("contact", user, last_name="Sidorov", cf_car_model="Niva", cf_visits="3", cf_level="silver",
                     cf_interests=["boats"], cf_vip="true", cf_budget_0="99.90", cf_budget_1="rub",
                     cf_last_service="2026-04-01", cf_referrer=str(company.pk))
    data["cf_scan"] = SimpleUploadedFile("photo.png", b"\x89PNG data", content_type="image/png")
    response = client.post(reverse("contact_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    contact = Contact.objects.get(last_name="Sidorov")
    assert contact.custom_fields["visits"] == 3 and contact.custom_fields["interests"] == ["boats"]
    assert contact.custom_fields["budget"] == {"amount": "99.90", "currency": "rub"}
    card = client.get(contact.get_absolute_url()).content.decode()
    assert "Car Model" in card and "Niva" in card and "Silver" in card and "99.90 RUB" in card
    file_url = reverse("customfield_file", args=[every_type["file"].pk, contact.pk])
    assert file_url in card
    download = client.get(file_url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"\x89PNG data"
    assert download["Content-Disposition"].startswith("attachment")
    # the edit form shows the stored values; an edit without a new upload keeps the file
    edit = client.get(reverse("contact_edit", args=[contact.pk])).content.decode()
    assert 'value="Niva"' in edit and 'name="cf_scan"' in edit
    data.pop("cf_scan")
    data.update(cf_car_model="Niva Travel", version=str(history.version(contact)))
    response = client.post(reverse("contact_edit", args=[contact.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    contact.refresh_from_db()
    assert contact.custom_fields["car_model"] == "Niva Travel" and contact.custom_fields["scan"]["filename"] == "photo.png"
    entries = selectors.record_history(user, contact)
    assert {"field": "Car Model", "old": "Niva", "new": "Niva Travel"} in entries[0]["changes"]
    from timeline.models import Entry

    entry = Entry.objects.filter(kind="changed").order_by("-pk").first()
    assert {"field": "cf_car_model", "old": "Niva", "new": "Niva Travel"} in entry.data["changes"]
    timeline = client.get(contact.get_absolute_url()).content.decode()
    assert "Car Model:" in timeline
    # list column (shown in lists by default)
    listing = client.get(reverse("contact_list")).content.decode()
    assert "Niva Travel" in listing


def test_admin_form_shows_and_saves_custom_fields(every_type, admin_user, logged_in_client):
    client = logged_in_client(admin_user)
    contact = services.record_create(user=admin_user, entity="contact",
                                     data={"last_name": "Admin", "cf_car_model": "Moskvich", "cf_visits": 7})
    page = client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert 'name="cf_car_model"' in page and 'value="Moskvich"' in page and 'value="7"' in page
    form = dict(re.findall(r'<input type="hidden" name="([^"]+_FORMS)"[^>]*value="(\d+)"', page))
    assert form, "management forms expected"
    form.update({"last_name": "Admin", "owner": str(admin_user.pk), "cf_car_model": "Pobeda", "cf_visits": "-3"})
    response = client.post(reverse("admin:contacts_contact_change", args=[contact.pk]), form)
    assert response.status_code == 403  # the write service refuses a value its rules forbid (min 0)
    form["cf_visits"] = "8"
    response = client.post(reverse("admin:contacts_contact_change", args=[contact.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    contact.refresh_from_db()
    assert contact.custom_fields["car_model"] == "Pobeda" and contact.custom_fields["visits"] == 8
    # the field list shows fill rates; deleting asks first, then removes the values (history keeps them)
    changelist = client.get(reverse("admin:customfields_customfield_changelist")).content.decode()
    assert "1 / 1 (100%)" in changelist
    delete_url = reverse("admin:customfields_customfield_delete", args=[every_type["text"].pk])
    assert "its values in 1 records" in client.get(delete_url).content.decode()
    client.post(delete_url, {"post": "yes"})
    contact.refresh_from_db()
    assert "car_model" not in contact.custom_fields
    assert contact.history.filter(custom_fields__car_model="Pobeda").exists()


def test_required_from_a_deal_stage_on(user):
    from deals.models import Pipeline

    pipeline = Pipeline.objects.get(is_default=True)
    first, second = list(pipeline.stages.order_by("order"))[:2]
    CustomField.objects.create(entity="deal", code="contract_no", label="Contract number", type="text",
                               required=True, required_from_field="stage", required_from_id=second.pk)
    deal = make_deal(user, stage=first)
    with pytest.raises(ValidationError) as error:
        services.record_update(user=user, obj=deal, data={"stage": second.pk})
    assert "cf_contract_no" in error.value.message_dict
    deal = services.record_update(user=user, obj=deal, data={"stage": second.pk, "cf_contract_no": "Д-17"})
    assert deal.custom_fields == {"contract_no": "Д-17"}


def test_required_unique_and_default(user):
    _field("tax_code", "text", unique=True)
    _field("segment", "text", required=True)
    _field("tier", "integer", default=3)
    with pytest.raises(ValidationError) as error:
        services.record_create(user=user, entity="contact", data={"last_name": "A"})
    assert "cf_segment" in error.value.message_dict
    first = services.record_create(user=user, entity="contact",
                                   data={"last_name": "A", "cf_segment": "b2b", "cf_tax_code": "77"})
    assert first.custom_fields["tier"] == 3
    with pytest.raises(ValidationError) as error:
        services.record_create(user=user, entity="contact",
                               data={"last_name": "B", "cf_segment": "b2b", "cf_tax_code": "77"})
    assert "cf_tax_code" in error.value.message_dict
    # an update of another field does not ask for a required field added later
    _field("added_later", "text", required=True)
    services.record_update(user=user, obj=first, data={"position": "CEO"})


def test_field_rules_per_role_on_card_list_export_and_writes(marketer, user, logged_in_client):
    secret = _field("salary", "integer", show_in_list=True)
    locked = _field("grade", "text", show_in_list=True)
    role = Role.objects.get(name="Marketer")
    FieldRule.objects.create(role=role, entity="contact", field="cf_salary", mode=FieldRule.HIDDEN)
    FieldRule.objects.create(role=role, entity="contact", field="cf_grade", mode=FieldRule.READ_ONLY)
    contact = make_contact(user, last_name="Ruled", opened=True)
    contact = services.record_update(user=user, obj=contact, data={"cf_salary": 5000, "cf_grade": "A7"})
    assert ("cf_salary", "Salary") in contact.entity().rule_fields()
    client = logged_in_client(marketer)
    card = client.get(contact.get_absolute_url()).content.decode()
    assert "A7" in card and "5000" not in card and "5,000" not in card
    listing = client.get(reverse("contact_list")).content.decode()
    assert "Grade" in listing and "Salary" not in listing
    from crm_site.export import export_columns

    names = [column.name for column in export_columns(user=marketer, entity=contact.entity())]
    assert "cf_grade" in names and "cf_salary" not in names
    for data in ({"cf_salary": 1}, {"cf_grade": "B1"}):
        with pytest.raises(ValidationError):
            services.record_update(user=marketer, obj=contact, data=data)
    services.record_update(user=marketer, obj=contact, data={"cf_grade": "A7", "position": "x"})  # unchanged: fine
    assert secret.filter_queryset(Contact.objects.all(), "exact", 5000).count() == 1
    assert locked.name == "cf_grade"


def test_filters_over_the_json_column(user):
    level = _field("level", "choice", multiple=True, options=[("gold", "Gold"), ("silver", "Silver")])
    visits = _field("visits", "integer")
    when = _field("since", "date")
    name = _field("nick", "text")
    rows = [("gold", 5, "2026-01-10", "Tolik"), ("silver", 50, "2026-03-01", "Vasya"), (None, None, None, None)]
    for index, (lvl, count, since, nick) in enumerate(rows):
        data = {"last_name": f"F{index}"}
        data.update({k: v for k, v in {"cf_level": [lvl] if lvl else None, "cf_visits": count, "cf_since": since,
                                       "cf_nick": nick}.items() if v is not None})
        services.record_create(user=user, entity="contact", data=data)
    qs = Contact.objects.all()
    assert level.filter_queryset(qs, "in", ["gold", "silver"]).count() == 2
    assert level.filter_queryset(qs, "exact", "gold").count() == 1
    assert visits.filter_queryset(qs, "gte", "10").count() == 1
    assert visits.filter_queryset(qs, "lte", 10).count() == 1
    assert when.filter_queryset(qs, "gte", "2026-02-01").count() == 1
    assert name.filter_queryset(qs, "contains", "oli").count() == 1
    assert name.filter_queryset(qs, "empty", True).count() == 1
    assert name.filter_queryset(qs, "empty", False).count() == 2
    assert visits.filter_queryset(qs, "gte", "not a number").count() == 0
    import django_filters

    filterset = type("F", (django_filters.FilterSet,), {"cf_level": level.filter("in"),
                                                         "Meta": type("Meta", (), {"model": Contact, "fields": []})})
    assert filterset({"cf_level": "silver"}, queryset=qs).qs.count() == 1
    with_visits = qs.filter(custom_fields__has_key=visits.code)  # where empty values sort depends on the database
    assert list(with_visits.order_by(visits.sort_expression()).values_list("last_name", flat=True))[:2] == ["F0", "F1"]


def test_merge_takes_the_chosen_custom_value_through_validation(user):
    from dedup.services import records_merge

    _field("car_model", "text")
    survivor = services.record_create(user=user, entity="contact", data={"last_name": "Same", "cf_car_model": "A"})
    other = services.record_create(user=user, entity="contact", data={"last_name": "Same", "cf_car_model": "B"})
    records_merge(user=user, survivor=survivor, others=[other], field_choices={"custom_fields.car_model": other.pk})
    survivor.refresh_from_db()
    assert survivor.custom_fields["car_model"] == "B"


def test_lead_conversion_copies_values_by_code(user):
    from leads.services import lead_convert

    _field("car_model", "text", entity="lead")
    _field("car_model", "text", entity="contact")
    _field("car_model", "integer", entity="deal")  # same code, a type that refuses the value: left out
    lead = make_lead(user, last_name="Lead", first_name="Person")
    lead = services.record_update(user=user, obj=lead, data={"cf_car_model": "Volga"})
    result = lead_convert(user=user, lead=lead, create_contact=True, create_deal=True)
    assert result.contact.custom_fields == {"car_model": "Volga"}
    assert "car_model" not in result.deal.custom_fields


def test_type_widenings_convert_stored_values_and_code_change_keeps_them(user):
    count = _field("visits", "integer")
    level = _field("level", "choice", options=[("gold", "Gold")])
    contact = services.record_create(user=user, entity="contact",
                                     data={"last_name": "W", "cf_visits": 4, "cf_level": "gold"})
    count.type = "decimal"
    count.full_clean()
    count.save()
    convert_values(count, old_type="integer", old_code="visits", old_multiple=False)
    level.multiple = True
    level.save()
    convert_values(level, old_type="choice", old_code="level", old_multiple=False)
    contact.refresh_from_db()
    assert contact.custom_fields == {"visits": "4", "level": ["gold"]}
    level.type, level.code = "text", "tier"
    level.multiple = False
    level.save()
    convert_values(level, old_type="choice", old_code="level", old_multiple=True)
    contact.refresh_from_db()
    assert contact.custom_fields["tier"] == "Gold" and "level" not in contact.custom_fields
    assert contact.history.count() >= 3
    narrowing = definition("contact", "cf_visits")
    narrowing.type = "integer"
    with pytest.raises(ValidationError):
        narrowing.full_clean()
    assert remove_values(narrowing) == 1
    contact.refresh_from_db()
    assert "visits" not in contact.custom_fields
    assert fill_rates("contact", ["tier", "visits"]) == ({"tier": 1, "visits": 0}, 1)


def test_import_targets_parse_cells(user):
    from dedup.importing.targets import mapping_targets
    from dedup.importing.values import BadValue

    _field("level", "choice", multiple=True, options=[("gold", "Gold"), ("silver", "Silver")])
    assert [item.name for item in importable_fields("contact")] == ["cf_level"]
    target = next(t for t in mapping_targets("contact") if t.key == "custom:level")
    assert target.parse("Gold; silver", None) == ["gold", "silver"]
    with pytest.raises(BadValue):
        target.parse("bronze", None)


# ---------------------------------------------------------------------------
# Export


@pytest.fixture
def export_fields(db):
    return [_field("motto", "text"), _field("visits", "integer"), _field("budget", "money"),
            _field("since", "date")]


def test_xlsx_custom_columns_are_typed_and_formulas_inert(export_fields, admin_user, logged_in_client):
    from openpyxl import load_workbook

    services.record_create(user=admin_user, entity="contact", data={
        "last_name": "Excel", "cf_motto": '=HYPERLINK("http://evil","x")', "cf_visits": 9,
        "cf_budget": {"amount": "10.5", "currency": "rub"}, "cf_since": "2026-02-03"})
    response = logged_in_client(admin_user).get(reverse("contact_export") + "?format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header = [cell.value for cell in sheet[1]]
    row = {name: cell.value for name, cell in zip(header, sheet[2], strict=True)}
    assert row["Motto"] == '\'=HYPERLINK("http://evil","x")'
    assert row["Visits"] == 9 and row["Budget"] == 10.5 and row["Budget (currency)"] == "RUB"
    assert row["Since"] == datetime(2026, 2, 3)
    assert all(cell.data_type != "f" for cell in sheet[2])


def test_vcard_is_read_back_by_vobject(export_fields, admin_user, logged_in_client):
    import vobject

    contact = services.record_create(
        user=admin_user, entity="contact", data={"last_name": "Иванов", "first_name": "Пётр; Jr, II",
                                                 "position": "Директор", "cf_motto": "Вперёд, к цели; всегда",
                                                 "cf_visits": 2},
        channels={"phone": [{"value": "+7 495 123-45-67"}], "email": [{"value": "petr@example.com"}]})
    make_company(admin_user, name="ООО «Ромашка»")
    response = logged_in_client(admin_user).get(reverse("contact_export") + "?format=vcf")
    assert response["Content-Type"].startswith("text/vcard")
    text = b"".join(response.streaming_content).decode("utf-8")
    cards = list(vobject.readComponents(text))
    card = next(c for c in cards if c.uid.value == f"crm-{contact.pk}")
    assert card.version.value == "3.0"
    assert card.n.value.family == "Иванов" and card.n.value.given == "Пётр; Jr, II"
    assert card.fn.value == "Иванов Пётр; Jr, II" and card.title.value == "Директор"
    assert card.tel.value == "+7 495 123-45-67" and card.email.value == "petr@example.com"
    assert "Motto: Вперёд, к цели; всегда" in card.note.value
    companies = logged_in_client(admin_user).get(reverse("company_export") + "?format=vcf")
    org = list(vobject.readComponents(b"".join(companies.streaming_content).decode()))[0]
    assert org.org.value == ["ООО «Ромашка»"]
    assert logged_in_client(admin_user).get(reverse("deal_export") + "?format=vcf").status_code == 400


def test_big_export_runs_in_the_background_for_its_user_only(export_fields, admin_user, marketer, user, settings,
                                                             logged_in_client, django_capture_on_commit_callbacks,
                                                             monkeypatch, tmp_path):
    from crm_site.customfields import tasks

    settings.MEDIA_ROOT = str(tmp_path)
    settings.CRM_EXPORT_BACKGROUND_ROWS = 1
    monkeypatch.setattr(tasks.run_export, "delay", lambda pk: tasks.run_export(pk))
    for index in range(3):
        make_contact(user, last_name=f"Bulk{index}")
    client = logged_in_client(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("contact_export") + "?format=csv&q=Bulk")
    job = ExportJob.objects.get(user=marketer)
    assert response.status_code == 302 and response["Location"] == reverse("export_status", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ExportJob.DONE and job.total == 3 and job.done == 3, job.error
    status = client.get(reverse("export_status", args=[job.pk])).content.decode()
    assert reverse("export_download", args=[job.pk]) in status
    download = client.get(reverse("export_download", args=[job.pk]))
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    assert download.status_code == 200 and content.count("Bulk") == 3 and "Motto" in content
    for stranger in (user, admin_user):
        assert logged_in_client(stranger).get(reverse("export_download", args=[job.pk])).status_code == 404
        assert logged_in_client(stranger).get(reverse("export_status", args=[job.pk])).status_code == 404
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("export_download", args=[job.pk])).status_code == 404
    from crm_site.customfields.export import purge_expired

    assert purge_expired() == 1
    from access.models import AuditLog

    assert AuditLog.objects.filter(action=AuditLog.EXPORT, actor=marketer).count() == 1


def test_card_layout_per_pipeline_and_shown_when(user, logged_in_client):
    from crm_site.customfields.models import CardLayout, CardSection
    from deals.models import Pipeline, Stage

    _field("contract_no", "text", entity="deal", section="Paperwork")
    won_only = _field("won_reason", "text", entity="deal")
    pipeline = Pipeline.objects.get(is_default=True)
    first, second = list(pipeline.stages.order_by("order"))[:2]
    won_only.show_when_field, won_only.show_when_values = "stage", [second.pk]
    won_only.save()
    deal = make_deal(user, stage=first)
    deal = services.record_update(user=user, obj=deal, data={"cf_contract_no": "Д-1", "cf_won_reason": "price"})
    client = logged_in_client(user)
    card = client.get(deal.get_absolute_url()).content.decode()
    assert "Paperwork" in card and "<dd>Д-1</dd>" in card and "<dd>price</dd>" not in card  # not in that stage yet
    other = Pipeline.objects.create(code="other", name_en="Other")
    Stage.objects.create(pipeline=other, code="s1", name_en="S1", order=1)
    mine = CardLayout.objects.create(entity="deal", pipeline=pipeline)
    CardSection.objects.create(layout=mine, title="Contract first", order=0, fields=["cf_contract_no", "title"])
    CardSection.objects.create(layout=mine, title="Money", order=1, fields=["amount", "currency"])
    card = client.get(deal.get_absolute_url()).content.decode()
    assert card.index("Contract first") < card.index("Money") and "Paperwork" not in card
    form = client.get(reverse("deal_edit", args=[deal.pk])).content.decode()
    assert form.index("Contract first") < form.index('name="cf_contract_no"') < form.index('name="title"')
    assert 'data-show-when="stage"' in form
    services.record_update(user=user, obj=deal, data={"stage": second.pk})
    assert "<dd>price</dd>" in client.get(deal.get_absolute_url()).content.decode()


def test_every_type_survives_merge_and_exports_to_csv(every_type, admin_user, logged_in_client):
    """Stored values clean again to themselves (merge, its undo, lead conversion pass them back through the
    services), and each type has a CSV cell."""
    import csv

    from dedup.services import records_merge

    company = make_company(admin_user, name="Referrer LLC")
    source = services.record_create(user=admin_user, entity="contact",
                                    data={"last_name": "Twin", **_raw_values(company, admin_user)})
    survivor = services.record_create(user=admin_user, entity="contact", data={"last_name": "Twin"})
    stored = dict(source.custom_fields)
    for field in every_type.values():
        assert field.clean_value(stored[field.code]) == stored[field.code], field.type
    choices = {f"custom_fields.{code}": source.pk for code in stored}
    records_merge(user=admin_user, survivor=survivor, others=[source], field_choices=choices)
    survivor.refresh_from_db()
    assert survivor.custom_fields == stored
    response = logged_in_client(admin_user).get(reverse("contact_export") + "?format=csv&q=Twin")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["Car Model"] == "Lada Vesta" and row["Visits"] == "12" and row["Budget"] == "1200.50"
    assert row["Budget (currency)"] == "USD" and row["Last Service"] == "2026-05-01" and row["Vip"] == "yes"
    assert row["Interests"] == "Cars; Boats" and row["Referrer"] == "Referrer LLC" and row["Scan"] == "scan.pdf"
    assert row["Home Phone"] == "'+7 495 123-45-67"  # CSV escapes a leading + (a spreadsheet would compute it)


def test_files_and_admin_condition_choices_are_guarded(user, other_user, admin_user, logged_in_client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    scan = _field("scan", "file")
    contact = services.record_create(user=user, entity="contact", data={
        "last_name": "Private", "cf_scan": SimpleUploadedFile("a.html", b"<script>1</script>")})
    url = reverse("customfield_file", args=[scan.pk, contact.pk])
    response = logged_in_client(user).get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert logged_in_client(other_user).get(url).status_code == 404  # the record is out of their reach
    FieldRule.objects.create(role=Role.objects.get(name="Employee"), entity="contact", field="cf_scan",
                             mode=FieldRule.HIDDEN)
    assert logged_in_client(user).get(url).status_code == 404  # the field is hidden from their role
    from crm_site.customfields.admin import CustomFieldForm
    from deals.models import Stage

    stage = Stage.objects.first()
    form = CustomFieldForm(data={"entity": "contact", "code": "x", "label": "X", "type": "text", "order": 0,
                                 "required": "on", "required_from": f"stage:{stage.pk}", "show_when_values": "[]"})
    assert not form.is_valid() and "required_from" in form.errors


def test_list_link_cells_cost_the_same_queries_for_more_rows(user, logged_in_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _field("referrer", "link", target_entity="company", show_in_list=True)
    _field("curator", "user", show_in_list=True)
    client = logged_in_client(user)

    def add(count):
        for index in range(count):
            company = make_company(user, name=f"Ref {index}")
            services.record_create(user=user, entity="contact", data={
                "last_name": f"L{index}", "cf_referrer": company.pk, "cf_curator": user.pk})

    def queries():
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("contact_list")).content.decode()
        return len(captured), page

    add(2)
    few, page = queries()
    assert "Ref 1" in page
    add(6)
    many, page = queries()
    assert "Ref 5" in page and many == few


def test_bulk_writes_check_ids_once_and_unique_values_within_the_batch(user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _field("curator", "user")
    _field("referrer", "link", target_entity="company")
    _field("passport", "text", unique=True)
    company = make_company(user, name="Ref")

    def rows(count, start):
        return [{"data": {"last_name": f"B{start + i}", "cf_curator": user.pk, "cf_referrer": company.pk}}
                for i in range(count)]

    services.records_create_bulk(user=user, entity="contact", rows=rows(1, 100))  # warms the per-user caches
    with CaptureQueriesContext(connection) as few:
        services.records_create_bulk(user=user, entity="contact", rows=rows(2, 0))
    with CaptureQueriesContext(connection) as many:
        services.records_create_bulk(user=user, entity="contact", rows=rows(12, 10))
    assert len(many) == len(few)
    result = services.records_create_bulk(user=user, entity="contact", rows=[
        {"data": {"last_name": "U1", "cf_passport": "4510 123456"}},
        {"data": {"last_name": "U2", "cf_passport": "4510 123456"}}])
    assert result.objs[0] is not None and result.objs[1] is None
    assert "cf_passport" in result.errors[1].message_dict


def test_a_required_field_hidden_by_its_condition_is_not_asked_for(user):
    # "Shown only when" holds on every write path, not only in the form: a required field the card and the
    # form leave out (the condition does not hold) does not block the save; once it holds, it is required.
    from crm_site.models import ClientType

    client_type, partner_type = ClientType.objects.order_by("order", "pk")[:2]
    _field("membership_end", "date", required=True, show_when_field="type", show_when_values=[client_type.pk])
    _field("level", "choice", options=[("gold", "Gold"), ("basic", "Basic")])
    _field("gold_card", "text", required=True, show_when_field="cf_level", show_when_values=["gold"])
    partner = services.record_create(user=user, entity="contact",
                                     data={"last_name": "Партнёров", "type": partner_type.pk})
    assert partner.pk
    with pytest.raises(ValidationError) as caught:
        services.record_create(user=user, entity="contact", data={"last_name": "Клиентов", "type": client_type.pk})
    assert "cf_membership_end" in caught.value.message_dict
    # A custom field as the condition, changed by the same write.
    data = {"last_name": "Золотов", "type": partner_type.pk, "cf_level": "gold"}
    with pytest.raises(ValidationError) as caught:
        services.record_create(user=user, entity="contact", data=data)
    assert "cf_gold_card" in caught.value.message_dict
    assert services.record_create(user=user, entity="contact", data={**data, "cf_level": "basic"}).pk
