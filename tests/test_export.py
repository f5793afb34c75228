"""Export of entity lists (CSV and XLSX): who may, which rows and columns, formula safety, formats, the audit log.

Seeded levels used here (access/migrations/0004_default_roles.py): Sales manager has no export at all;
Employee (the default role of `user`, `colleague`, `other_user`) reads own, department and open records but
exports only its own; Head of sales exports its department tree; Marketer reads and exports everything.
"""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.models import AuditLog, FieldRule, Role
from crm_site import export as export_service
from crm_site.export import export_columns, records_export
from crm_site.export_formats import csv_delimiter, csv_text, formula_safe, xlsx_value
from crm_site.registry import registry
from crm_site.services import record_delete
from tests.factories import (
    add_channels,
    make_company,
    make_contact,
    make_deal,
    make_department,
    make_lead,
    make_record,
    make_user,
)

pytestmark = pytest.mark.django_db
ENTITY_KEYS = registry.keys()


def client_for(user, language="en"):
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def export(client, key="contact", **params):
    return client.get(reverse(f"{key}_export"), params)


def body(response):
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def csv_rows(response, delimiter=","):
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM first, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def csv_dicts(response, delimiter=","):
    header, *rows = csv_rows(response, delimiter)
    return [dict(zip(header, row, strict=True)) for row in rows]


def xlsx_rows(response):
    from openpyxl import load_workbook

    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    workbook = load_workbook(io.BytesIO(body(response)), read_only=True)
    sheet = workbook.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)], sheet


def exports_logged():
    return AuditLog.objects.filter(action=AuditLog.EXPORT)




# ---------------------------------------------------------------------------
# Who may export what


def test_employee_exports_only_own_records_not_the_other_departments(user, colleague, other_user, plain_static):
    mine = make_contact(user, last_name="Мойконтакт", phones=["+7 495 100-00-01"], emails=["mine@example.com"])
    make_contact(colleague, last_name="Коллегин", phones=["+7 495 200-00-02"], emails=["colleague@example.com"])
    theirs = make_contact(other_user, last_name="Чужой", phones=["+7 495 300-00-03"],
                          emails=["stranger@example.com"])
    make_contact(other_user, last_name="Открытый", opened=True)  # readable (all open) but not exportable (own)
    client = client_for(user)
    response = export(client)
    text = body(response).decode("utf-8-sig")
    assert "Мойконтакт" in text and "+7 495 100-00-01" in text and "mine@example.com" in text
    for secret in ("Коллегин", "200-00-02", "colleague@example.com", "Чужой", "300-00-03",
                   "stranger@example.com", "Открытый"):
        assert secret not in text
    rows = csv_dicts(export(client))
    assert [row["ID"] for row in rows] == [str(mine.pk)]
    # Searching the export by the other department's phone or email finds nothing.
    for probe in ("+7 495 300-00-03", "84953000003", "stranger@example.com", str(theirs.pk)):
        assert csv_dicts(export(client, q=probe)) == [], probe


def test_head_of_sales_exports_the_department_not_the_other_one(head, user, colleague, other_user, plain_static):
    ours = {make_contact(user).pk, make_contact(colleague).pk, make_contact(head).pk}
    make_contact(other_user, last_name="Чужой")
    rows = csv_dicts(export(client_for(head)))
    assert {int(row["ID"]) for row in rows} == ours


def test_export_scope_never_widens_the_read_scope(user, other_user, plain_static):
    role = Role.objects.create(name="Exports everything, reads own",
                               matrix={"*": {"read": 1, "export": 5}})
    from access.models import RoleAssignment
    from access.scopes import forget

    RoleAssignment.objects.create(role=role, user=user)
    forget(user)
    mine = make_contact(user)
    make_contact(other_user, last_name="Чужой")
    assert [int(r["ID"]) for r in csv_dicts(export(client_for(user)))] == [mine.pk]


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_role_without_export_gets_403_and_nothing_is_logged(key, manager, plain_static):
    make_record(key, manager)
    client = client_for(manager)
    for fmt in ("csv", "xlsx", "nonsense"):
        assert export(client, key, format=fmt).status_code == 403
    assert not exports_logged().exists()
    listing = client.get(reverse(f"{key}_list"))
    assert listing.context["can_export"] is False
    assert reverse(f"{key}_export") not in listing.content.decode()
    with pytest.raises(PermissionDenied):
        records_export(user=manager, entity=registry[key], file_format="csv")


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_marketer_and_admin_export_every_record(key, marketer, admin_user, user, other_user, plain_static):
    records = {make_record(key, user).pk, make_record(key, other_user).pk, make_record(key, marketer).pk}
    for person in (marketer, admin_user):
        client = client_for(person)
        assert {int(row["ID"]) for row in csv_dicts(export(client, key))} >= records
        listing = client.get(reverse(f"{key}_list"))
        assert listing.context["can_export"] is True
        assert f'{reverse(f"{key}_export")}?format=xlsx' in listing.content.decode()


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_records_in_the_bin_are_not_exported(key, admin_user, user, plain_static):
    kept, binned = make_record(key, user), make_record(key, user)
    record_delete(user=admin_user, obj=binned)
    assert [int(r["ID"]) for r in csv_dicts(export(client_for(admin_user), key))] == [kept.pk]


def test_anonymous_is_sent_to_login(anon_client):
    response = anon_client.get(reverse("contact_export"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert not exports_logged().exists()


def test_the_service_applies_both_scopes_to_any_queryset_it_is_given(user, other_user):
    from contacts.models import Contact

    mine = make_contact(user)
    make_contact(other_user)
    result = records_export(user=user, entity=registry["contact"], file_format="csv",
                            queryset=Contact.all_objects.all())  # a caller cannot widen the scope
    assert result.count == 1
    assert [row[0] for row in result.rows()] == [mine.pk]
    with pytest.raises(ValueError):
        records_export(user=user, entity=registry["contact"], file_format="pdf")


# ---------------------------------------------------------------------------
# Columns and values


def test_columns_are_the_translated_fields_then_the_channels(admin_user):
    labels = [c.label for c in export_columns(user=admin_user, entity=registry["contact"])]
    assert labels[0] == "ID"
    for label in ("Last name", "Position", "Birthday", "Tags", "Responsible", "Department", "Open to everyone",
                  "Created", "Updated"):
        assert label in labels
    assert labels[-5:] == ["Companies", "Phones", "Emails", "Messengers", "Websites and social links"]
    assert "Custom fields" not in labels and "Deleted" not in labels
    deal_labels = [c.label for c in export_columns(user=admin_user, entity=registry["deal"])]
    assert "Phones" not in deal_labels and "Company" in deal_labels  # deals have no channels


def test_hidden_field_and_hidden_channel_are_absent(marketer, user, plain_static):
    marketer_role = Role.objects.get(name="Marketer")
    for field in ("position", "phone"):
        FieldRule.objects.update_or_create(role=marketer_role, entity="contact", field=field,
                                           defaults={"mode": FieldRule.HIDDEN})
    make_contact(user, position="Тайная должность", phones=["+7 495 555-66-77"], emails=["seen@example.com"])
    client = client_for(marketer)
    text = body(export(client)).decode("utf-8-sig")
    assert "Тайная должность" not in text and "555-66-77" not in text
    header = csv_rows(export(client))[0]
    assert "Position" not in header and "Phones" not in header
    assert "Emails" in header and "seen@example.com" in text
    rows, _sheet = xlsx_rows(export(client, format="xlsx"))
    assert "Position" not in rows[0] and "Phones" not in rows[0]
    flat = [str(value) for row in rows for value in row]
    assert not any("Тайная" in value or "555-66-77" in value for value in flat)
    # ...and neither can be probed through the export's search.
    assert csv_dicts(export(client, q="+7 495 555-66-77")) == []


def test_every_channel_value_is_joined(admin_client, user):
    contact = make_contact(user, phones=["+7 495 111-22-33", "+7 916 222-33-44"], emails=["a@example.com"])
    add_channels(contact, messengers=["@ivanov"], web=["https://example.com/ivanov"])
    row = csv_dicts(export(admin_client))[0]
    assert row["Phones"] == "'+7 495 111-22-33; +7 916 222-33-44"
    assert row["Emails"] == "a@example.com"
    assert row["Messengers"] == "'@ivanov"
    assert row["Websites and social links"] == "https://example.com/ivanov"


def test_link_to_an_unreadable_or_binned_record_prints_hidden_record(user, other_user, admin_user, plain_static):
    mine_company = make_company(user, name="ООО Видимая")
    their_company = make_company(other_user, name="ООО Чужая")
    binned_company = make_company(user, name="ООО Удалённая")
    make_deal(user, company=their_company, title="Сделка 1")
    make_deal(user, company=binned_company, title="Сделка 2")
    make_deal(user, company=mine_company, title="Сделка 3")
    record_delete(user=admin_user, obj=binned_company)
    response = export(client_for(user), "deal")
    by_title = {row["Title"]: row for row in csv_dicts(response)}
    assert by_title["Сделка 1"]["Company"] == "hidden record"
    assert by_title["Сделка 2"]["Company"] == "in the recycle bin"  # issue 15: a binned link says so
    assert by_title["Сделка 3"]["Company"] == "ООО Видимая"
    text = body(export(client_for(user), "deal")).decode("utf-8-sig")
    assert "Чужая" not in text and "Удалённая" not in text


def test_search_filters_and_sort_of_the_list_apply(user, colleague, head, plain_static):
    from crm_site.models import Tag

    tag = Tag.objects.create(name="VIP")
    alpha = make_contact(user, last_name="Альфа", phones=["+7 495 700-00-01"])
    beta = make_contact(colleague, last_name="Бета")
    gamma = make_contact(user, last_name="Гамма", tags=[tag])
    client = client_for(head)

    def ids(**params):
        return [int(row["ID"]) for row in csv_dicts(export(client, **params))]

    assert ids(sort="full_name") == [alpha.pk, beta.pk, gamma.pk]
    assert ids(sort="-full_name") == [gamma.pk, beta.pk, alpha.pk]
    assert ids(q="Бета") == [beta.pk]
    assert ids(q="+7 (495) 700-00-01") == [alpha.pk]
    assert ids(owner=colleague.pk) == [beta.pk]
    assert ids(tags=tag.pk) == [gamma.pk]
    assert ids(tags=tag.pk, sort="type") == [gamma.pk]
    assert ids(owner=user.pk, sort="full_name") == [alpha.pk, gamma.pk]
    assert ids(sort="owner__password") == [gamma.pk, beta.pk, alpha.pk]  # unknown sort: the list's default order


def test_list_export_links_carry_the_query_string(user_client, user):
    make_contact(user)
    response = user_client.get(reverse("contact_list"), {"q": "Иван", "sort": "-full_name", "page": "1"})
    html = response.content.decode()
    assert f'{reverse("contact_export")}?q=%D0%98%D0%B2%D0%B0%D0%BD&amp;sort=-full_name&amp;format=xlsx' in html
    assert f'{reverse("contact_export")}?q=%D0%98%D0%B2%D0%B0%D0%BD&amp;sort=-full_name&amp;format=csv' in html
    htmx = user_client.get(reverse("contact_list"), {"q": "Пётр"},
                           headers={"HX-Request": "true", "HX-Target": "list-results"})
    assert 'id="export-menu" hx-swap-oob="true"' in htmx.content.decode()  # the links follow the live search


# ---------------------------------------------------------------------------
# Formula safety


@pytest.mark.parametrize("text", ["=1+2", "+7 495", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"x\")"])
def test_formula_starts_are_escaped(text):
    assert formula_safe(text) == "'" + text
    assert csv_text(text) == "'" + text


@pytest.mark.parametrize("text", ["+7 (495) 111-22-33", "-1500.50", "+7 495 111-22-33; +7 916 222-33-44"])
def test_xlsx_keeps_phones_and_numbers_csv_does_not(text):
    assert xlsx_value(text) == text
    assert csv_text(text) == "'" + text


@pytest.mark.parametrize("text", ["=1+2", "+1 SUM(A1)", "-cmd|' /C calc'!A0", "@A1", "+7 495\t=1"])
def test_xlsx_escapes_anything_that_could_call_a_function(text):
    assert xlsx_value(text) == "'" + text


def test_plain_text_is_untouched():
    for text in ("Иванов", "a=b", "1+1", "", "O'Brien"):
        assert formula_safe(text) == text


def test_formula_escaping_in_csv_and_xlsx_files(admin_client, user):
    make_contact(user, last_name="=HYPERLINK(\"http://evil\",\"x\")", first_name="@SUM(1)", middle_name="-2+3",
                 comment="+cmd", position="\tTab", phones=["+7 495 111-22-33"])
    row = csv_dicts(export(admin_client))[0]
    assert row["Last name"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert row["First name"] == "'@SUM(1)"
    assert row["Middle name (patronymic)"] == "'-2+3"
    assert row["Comment"] == "'+cmd"
    assert row["Position"] == "'\tTab"
    assert row["Phones"] == "'+7 495 111-22-33"
    rows, sheet = xlsx_rows(export(admin_client, format="xlsx"))
    header, values = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert values["Last name"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert values["First name"] == "'@SUM(1)"
    assert values["Middle name (patronymic)"] == "-2+3"  # digits and signs only: cannot call a function
    assert values["Comment"] == "'+cmd"
    assert values["Phones"] == "+7 495 111-22-33"  # a phone stays a phone
    assert "Last name" in header


# ---------------------------------------------------------------------------
# Formats


def test_csv_is_utf8_with_bom_comma_and_iso_dates_in_english(admin_user, user, plain_static):
    contact = make_contact(user, birthday=date(1985, 4, 12))
    response = export(client_for(admin_user, "en"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    assert response["Content-Disposition"].endswith('.csv"')
    assert response["Cache-Control"] == "no-store"
    row = csv_dicts(response)[0]
    assert row["ID"] == str(contact.pk)
    assert row["Birthday"] == "1985-04-12"
    assert datetime.fromisoformat(row["Created"])  # ISO 8601 (local time, seconds)
    assert row["Open to everyone"] == "no"


@pytest.mark.parametrize("language", ["ru", "uk"])
def test_csv_uses_semicolon_and_decimal_comma_in_russian_and_ukrainian(language, admin_user, user, plain_static):
    make_company(user, annual_revenue=Decimal("1234567.50"), address="Москва, ул. Тверская, 1")
    data = body(export(client_for(admin_user, language), "company"))
    assert data.startswith(b"\xef\xbb\xbf")
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert len(header) == len(row) > 10
    assert "1234567,50" in row
    assert "Москва, ул. Тверская, 1" in row  # the comma inside a value is no separator here


def test_delimiter_rule():
    assert csv_delimiter("ru") == csv_delimiter("uk") == csv_delimiter("ru-ru") == ";"
    assert csv_delimiter("en") == csv_delimiter("de") == ","


def test_xlsx_parses_with_typed_cells(admin_client, user):
    company = make_company(user, employees=42, annual_revenue=Decimal("1000000.50"))
    contact = make_contact(user, birthday=date(1985, 4, 12), phones=["+7 495 111-22-33"])
    make_contact(user)
    response = export(admin_client, format="xlsx")
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    assert response["Content-Disposition"].endswith('.xlsx"')
    rows, _sheet = xlsx_rows(response)
    assert len(rows) == 3  # the header and two contacts
    values = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    first = values[contact.pk]
    assert isinstance(first["ID"], int)
    assert first["Birthday"].date() == date(1985, 4, 12)  # a date cell, not text
    assert isinstance(first["Created"], datetime)
    assert first["Phones"] == "+7 495 111-22-33"
    companies, _sheet = xlsx_rows(export(admin_client, "company", format="xlsx"))
    row = dict(zip(companies[0], companies[1], strict=True))
    assert row["ID"] == company.pk and row["Employees"] == 42
    assert row["Annual revenue"] == pytest.approx(1000000.5)


def test_bad_format_is_a_400_with_a_message_and_nothing_is_logged(admin_client, user):
    make_contact(user)
    response = export(admin_client, format="pdf")
    assert response.status_code == 400
    assert "Unknown export format" in response.content.decode()
    assert "CSV" in response.content.decode() and "XLSX" in response.content.decode()
    assert not exports_logged().exists()


def test_default_format_is_csv(admin_client, user):
    make_contact(user)
    assert export(admin_client)["Content-Type"] == "text/csv; charset=utf-8"
    assert export(admin_client, format="")["Content-Type"] == "text/csv; charset=utf-8"


def test_too_many_rows_for_excel_are_refused_back_on_the_list(admin_client, user, monkeypatch):
    monkeypatch.setattr(export_service, "XLSX_MAX_ROWS", 1)
    make_contact(user)
    make_contact(user)
    response = export(admin_client, format="xlsx", q="Пётр", sort="-full_name")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('contact_list')}?q=%D0%9F%D1%91%D1%82%D1%80&sort=-full_name"
    assert any("do not fit in an Excel sheet" in str(m) for m in get_messages(response.wsgi_request))
    assert not exports_logged().exists()
    assert export(admin_client, format="csv").status_code == 200  # CSV has no such limit


# ---------------------------------------------------------------------------
# Audit and queries


def test_each_export_is_logged_with_count_format_query_and_filters(user, colleague, head, plain_static):
    from contacts.models import Contact

    make_contact(user, last_name="Альфа")
    make_contact(user, last_name="Альфов")
    make_contact(colleague, last_name="Альфина")
    response = export(client_for(head), format="xlsx", q="Альф", owner=user.pk, sort="full_name")
    assert len(xlsx_rows(response)[0]) == 3
    entry = exports_logged().get()
    assert entry.actor == head and entry.count == 2
    assert entry.content_type.model_class() is Contact
    assert entry.details == {"format": "xlsx", "query": "Альф", "sort": "full_name",
                             "filters": {"owner": str(user.pk)}}
    assert entry.ip == "127.0.0.1"


def test_log_is_written_before_the_rows_are_streamed(admin_client, user):
    make_contact(user)
    response = export(admin_client)
    assert exports_logged().get().count == 1  # nothing read from the stream yet
    body(response)
    assert exports_logged().count() == 1


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_query_count_does_not_grow_with_rows(key, user, django_assert_max_num_queries, plain_static):
    client = client_for(user)
    extra = {"phones": ["+7 495 111-22-33"], "emails": ["a@example.com"]} if registry[key].has_channels else {}
    other = make_user("stranger", department=make_department("Elsewhere"))

    def make(count):
        for index in range(count):
            fields = dict(extra)
            if key == "deal":  # links alternate between readable and unreadable companies
                fields["company"] = make_company(user if index % 2 else other)
            make_record(key, user, **fields)

    def run():
        with CaptureQueriesContext(connection) as captured:
            rows = csv_rows(export(client, key))
        return len(captured.captured_queries), len(rows) - 1

    def run_xlsx():
        with CaptureQueriesContext(connection) as captured:
            body(export(client, key, format="xlsx"))
        return len(captured.captured_queries)

    make(5)
    few, rows_few = run()
    few_xlsx = run_xlsx()
    make(55)
    many, rows_many = run()
    assert (rows_few, rows_many) == (5, 60)
    # The first request of a session may also note its activity (access/sessions): never more for more rows.
    assert many <= few, f"{key} export: {few} queries for 5 rows, {many} for 60"
    # XLSX reads the typed rows (the CSV's cells are made by PostgreSQL itself there): constant queries too.
    with django_assert_max_num_queries(few_xlsx):
        body(export(client, key, format="xlsx"))


def test_rows_are_read_in_chunks_with_constant_queries_per_chunk(admin_user, user):
    company = make_company(user)
    for _ in range(7):
        make_contact(user, phones=["+7 495 111-22-33"], companies=[company])
    entity = registry["contact"]
    result = records_export(user=admin_user, entity=entity, file_format="csv")

    def queries(chunk_size):
        rows = export_service.export_rows(user=admin_user, entity=entity, queryset=result.queryset,
                                          columns=result.columns, chunk_size=chunk_size)
        with CaptureQueriesContext(connection) as captured:
            assert len(list(rows)) == 7
        return len(captured.captured_queries)

    # One server-side cursor for the records, then the same few queries per chunk: 3 chunks of 3, or 1 of 7.
    per_chunk = queries(7) - 1
    # type, source, responsible, department, created by; channels; tags; links and their readable companies
    assert per_chunk == 5 + 1 + 1 + 2
    assert queries(3) == 1 + 3 * per_chunk


def test_lead_conversion_links_are_checked_too(user, other_user, admin_user):
    from leads.models import Lead

    lead = make_lead(user)
    Lead.objects.filter(pk=lead.pk).update(converted_contact=make_contact(other_user, last_name="Чужой"))
    rows = list(records_export(user=user, entity=registry["lead"], file_format="csv").rows())
    columns = [c.name for c in export_columns(user=user, entity=registry["lead"])]
    assert rows[0][columns.index("converted_contact")] == "hidden record"
    admin_rows = list(records_export(user=admin_user, entity=registry["lead"], file_format="csv").rows())
    assert admin_rows[0][columns.index("converted_contact")].startswith("Чужой")


def test_linked_records_are_exported_as_the_card_lists_them(user, other_user, admin_user, plain_static):
    mine = make_company(user, name="ООО Своя")
    theirs = make_company(other_user, name="ООО Закрытая")
    person = make_contact(user, last_name="Связной", companies=[mine, theirs])
    make_deal(user, title="Сделка со связным", contacts=[person])
    [row] = csv_dicts(export(client_for(user)))
    assert row["Companies"] == "ООО Своя"  # the other department's company is left out, as on the card
    [admin_row] = csv_dicts(export(client_for(admin_user), q="Связной"))
    assert set(admin_row["Companies"].split("; ")) == {"ООО Своя", "ООО Закрытая"}
    [deal_row] = csv_dicts(export(client_for(user), "deal"))
    assert "Связной" in deal_row["Contacts"]
    assert "Закрытая" not in body(export(client_for(user))).decode("utf-8-sig")


# ---------------------------------------------------------------------------
# The rows as tuples (issue 15's speed): the same cells as the record-by-record export gave, both ways


@pytest.fixture(params=[True, False], ids=["sql-aggregates", "portable"])
def both_ways(request, monkeypatch):
    """PostgreSQL's aggregated queries, and the portable ones SQLite (the demo) runs: the same rows."""
    monkeypatch.setattr(export_service, "SQL_AGGREGATES", request.param)
    return request.param


def test_a_record_with_every_kind_of_column_exports_as_before(both_ways, user, other_user, plain_static):
    from django.utils import timezone

    from crm_site.customfields.models import CustomField
    from crm_site.models import Tag

    for code, type_ in (("motto", "text"), ("visits", "integer"), ("budget", "money"), ("since", "date"),
                        ("referrer", "link"), ("curator", "user")):
        CustomField.objects.create(entity="contact", code=code, label=code.title(), type=type_,
                                   **({"target_entity": "company"} if type_ == "link" else {}))
    mine = make_company(user, name="ООО Своя")
    theirs = make_company(other_user, name="ООО Закрытая")
    second = make_company(user, name="АО Вторая")
    contact = make_contact(user, last_name="Богатов", honorific="dr", companies=[mine, theirs, second],
                           phones=["+7 495 111-22-33", "8 (916) 222-33-44"], emails=["b@example.com", "a@example.com"],
                           custom_fields={"motto": "=1+2", "visits": 12, "budget": {"amount": "10.50", "currency": "rub"},
                                          "since": "2026-02-03", "referrer": [mine.pk, theirs.pk], "curator": user.pk})
    add_channels(contact, messengers=["@bogatov"], web=["https://example.com/b", "https://example.org/b"])
    contact.tags.set([Tag.objects.create(name="Лояльный"), Tag.objects.create(name="VIP")])
    [row] = csv_dicts(export(client_for(user)))
    contact.refresh_from_db()

    def local(moment):  # spreadsheets know no time zones: the local time, without an offset
        return timezone.localtime(moment).replace(tzinfo=None)

    assert row == {
        "ID": str(contact.pk), "Honorific": "Dr.", "Last name": "Богатов", "First name": "Пётр",
        "Middle name (patronymic)": "Сергеевич", "Position": "Директор", "Birthday": "1985-04-12",
        "Address": "Санкт-Петербург", "Type": str(contact.type), "Source": str(contact.source),
        "Tags": "VIP; Лояльный", "Comment": "Звонить после обеда", "Responsible": "Alice Adams",
        "Department": str(contact.department), "Open to everyone": "no",
        "Created": local(contact.created_at).isoformat(sep=" ", timespec="seconds"),
        "Created by": "Alice Adams", "Updated": local(contact.updated_at).isoformat(sep=" ", timespec="seconds"),
        "Motto": "'=1+2", "Visits": "12", "Budget": "10.50", "Budget (currency)": "RUB", "Since": "2026-02-03",
        "Referrer": "ООО Своя; hidden record", "Curator": "Alice Adams",
        "Companies": "ООО Своя; АО Вторая",  # the other department's company left out, in the order linked
        "Phones": "'+7 495 111-22-33; 8 (916) 222-33-44", "Emails": "b@example.com; a@example.com",
        "Messengers": "'@bogatov", "Websites and social links": "https://example.com/b; https://example.org/b",
    }


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_every_entity_exports_the_same_rows_both_ways(key, user, other_user, admin_user, monkeypatch):
    """Foreign keys (readable, unreadable, in the bin), channels, links and choices of each entity, as tuples
    through PostgreSQL's aggregates and through the portable queries."""
    extra = {"phones": ["+7 495 111-22-33", "+7 916 000-00-00"], "emails": ["a@example.com"]} \
        if registry[key].has_channels else {}
    binned = make_company(user, name="ООО Удалённая")
    for index, company in enumerate([make_company(user), make_company(other_user), binned]):
        fields = dict(extra)
        if key == "deal":
            fields["company"] = company
        make_record(key, user if index != 1 else other_user, **fields)
    record_delete(user=admin_user, obj=binned)
    rows = {}
    for way in (True, False):
        monkeypatch.setattr(export_service, "SQL_AGGREGATES", way)
        for who in (user, admin_user):
            rows[way, who.pk] = list(records_export(user=who, entity=registry[key], file_format="csv").rows())
    for who in (user, admin_user):
        assert rows[True, who.pk] == rows[False, who.pk] and rows[True, who.pk]
