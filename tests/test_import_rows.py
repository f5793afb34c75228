"""Rows of a file -> typed, mapped rows for each entity: lists and users looked up, names split, phones
normalised, links described for phase B to find, defaults and custom fields through their hooks. Nothing is
written."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from contacts.models import Contact
from crm_site.models import ClientType, Currency, Source, Tag
from deals.models import Pipeline, Stage
from dedup.importing import (
    ImportDefaults,
    RowMapper,
    Target,
    ValueLocale,
    auto_map,
    guess_file_locale,
    open_import_file,
    register_target_provider,
)
from dedup.importing.targets import unregister_target_provider
from dedup.importing.values import BadValue
from leads.models import LeadStatus
from tests.factories import make_user

pytestmark = pytest.mark.django_db
RU = ValueLocale(date_order="DMY", decimal_comma=True)


def csv_data(rows, delimiter=";"):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # "CSV UTF-8" from Excel (the ruble sign has no cp1251 code)


def import_rows(entity, rows, *, locale=None, defaults=None, edit=None, delimiter=";"):
    with open_import_file(csv_data(rows, delimiter)) as parsed:
        mapping = auto_map(parsed.headers, entity, file_format=parsed.format)
        if edit:
            edit(mapping)
        locale = locale or guess_file_locale(parsed, mapping)
        return list(RowMapper(entity, mapping, locale=locale, defaults=defaults).rows(parsed))


def issues(row):
    return [(issue.code, issue.column, issue.level) for issue in row.issues]


def test_a_contact_row_from_russian_excel():
    owner = make_user("manager7", first_name="Анна", last_name="Смирнова", email="anna@example.ru")
    [row] = import_rows("contact", [
        ["ФИО", "Телефон", "Мобильный", "E-mail", "Компания", "ИНН", "Должность", "Дата рождения", "Комментарий",
         "Адрес", "Город", "Источник", "Тип контакта", "Ответственный", "Доступен для всех", "Обращение", "Теги"],
        ["Иванов Иван Петрович", "8 (495) 123-45-67", "+7 916 123 45 67; 8 916 123-45-67", "Ivan@Example.RU",
         "ООО «Ромашка»", "7701234567", "Директор", "15.03.1985", "звонить после 12", "ул. Ленина, 5", "Москва",
         "Выставка", "Партнер", "Анна Смирнова", "да", "г-н", "VIP, опт; VIP"],
    ])
    assert row.number == 2
    assert row.data == {
        "last_name": "Иванов", "first_name": "Иван", "middle_name": "Петрович", "position": "Директор",
        "birthday": dt.date(1985, 3, 15), "comment": "звонить после 12", "address": "ул. Ленина, 5, Москва",
        "source": Source.objects.get(code="exhibition").pk, "type": ClientType.objects.get(code="partner").pk,
        "owner": owner.pk, "opened": True, "honorific": Contact.Honorific.MR, "tags": ["VIP", "опт"],
    }
    assert [tuple(channel) for channel in row.channels] == [
        ("phone", "work", "8 (495) 123-45-67", "+74951234567"),
        ("phone", "mobile", "+7 916 123 45 67", "+79161234567"),  # the second spelling of it is dropped
        ("email", "work", "Ivan@Example.RU", "ivan@example.ru"),
    ]
    assert row.links == {"companies": [{"name": "ООО «Ромашка»", "tax_id": "7701234567"}]}
    assert row.issues == [] and not row.has_errors


def test_lists_are_found_by_code_or_name_in_any_language():
    rows = import_rows("contact", [["Фамилия", "Источник"], ["А", "Website"], ["Б", "веб-сайт"], ["В", "website"],
                                   ["Г", "Вебсайт"], ["Д", "Нет такого"]])
    website = Source.objects.get(code="website").pk
    assert [row.data.get("source") for row in rows] == [website] * 4 + [None]
    assert issues(rows[4]) == [("unknown_value", "Источник", "warning")]  # optional: the row goes on


def test_bad_values_are_row_errors_naming_the_column():
    rows = import_rows("contact", [["Фамилия", "Дата рождения", "Доступен для всех", "Должность"],
                                   ["Иванов", "31.02.1985", "может быть", "x" * 151],
                                   ["Петров", "", "", ""]])
    assert issues(rows[0]) == [("bad_date", "Дата рождения", "error"), ("bad_bool", "Доступен для всех", "error"),
                               ("too_long", "Должность", "error")]
    assert rows[0].has_errors
    assert rows[0].data == {"last_name": "Иванов"}
    assert rows[1].issues == [] and rows[1].data == {"last_name": "Петров"}


def test_not_a_phone_or_email_is_a_warning_and_left_out():
    [row] = import_rows("contact", [["Фамилия", "Телефон", "E-mail"], ["Иванов", "нет", "ivan(at)mail"]])
    assert issues(row) == [("not_phone", "Телефон", "warning"), ("not_email", "E-mail", "warning")]
    assert row.channels == [] and not row.has_errors


def test_a_deal_row_finds_its_pipeline_and_stage():
    sales, partners = Pipeline.objects.get(code="sales"), Pipeline.objects.get(code="partners")
    rows = import_rows("deal", [
        ["Название сделки", "Воронка", "Стадия сделки", "Сумма", "Валюта", "Предполагаемая дата закрытия",
         "Компания", "ИНН", "Контакт", "Телефон"],
        ["Поставка", "Партнёрские проекты", "Успешно", "1 234 567,50 ₽", "руб", "31.12.2025", "ООО Ромашка",
         "7701234567", "Иванов Иван; Петров Пётр", "8 916 123-45-67"],
        ["Внедрение", "", "Won", "99", "USD", "", "", "", "", ""],
        ["Пилот", "", "Пилот", "", "€", "", "", "", "", ""],
        ["Ошибка", "Продажи", "Пилот", "", "", "", "", "", "", ""],
    ])
    first, second, third, fourth = rows
    assert first.data == {"title": "Поставка", "pipeline": partners.pk,
                          "stage": Stage.objects.get(pipeline=partners, code="won").pk,
                          "amount": Decimal("1234567.50"), "currency": Currency.objects.get(code="rub").pk,
                          "expected_close_date": dt.date(2025, 12, 31)}
    assert first.links == {"company": [{"name": "ООО Ромашка", "tax_id": "7701234567"}],
                           "contacts": [{"name": "Иванов Иван", "phone": "+79161234567"}, {"name": "Петров Пётр"}]}
    # no pipeline in the row: the stage of the default pipeline
    assert (second.data["pipeline"], second.data["stage"]) == (sales.pk, Stage.objects.get(pipeline=sales,
                                                                                           code="won").pk)
    assert second.data["currency"] == Currency.objects.get(code="usd").pk
    # a stage only one pipeline has gives the row that pipeline
    assert (third.data["pipeline"], third.data["stage"]) == (partners.pk, Stage.objects.get(code="pilot").pk)
    # the row's pipeline has no such stage: a required field, so an error
    assert issues(fourth) == [("unknown_value", "Стадия сделки", "error")]
    assert "stage" not in fourth.data


def test_a_lead_row():
    [row] = import_rows("lead", [
        ["Название лида", "Статус", "Сумма", "Имя", "Фамилия", "Название компании", "Рабочий телефон"],
        ["Заявка с сайта", "В работе", "15000", "Иван", "Иванов", "ИП Иванов", "+380 44 123 4567"],
    ])
    assert row.data == {"title": "Заявка с сайта", "status": LeadStatus.objects.get(code="in_progress").pk,
                        "expected_amount": Decimal("15000.00"), "first_name": "Иван", "last_name": "Иванов",
                        "company_name": "ИП Иванов"}
    assert row.channels[0].normalized == "+380441234567"


def test_a_company_row_from_1c():
    [row] = import_rows("company", [
        ["Наименование", "Полное наименование", "ИНН", "КПП", "Кол-во сотрудников", "Годовой оборот",
         "Сфера деятельности", "Сайт", "Юридический адрес", "Основное контактное лицо"],
        ["Ромашка", "Общество с ограниченной ответственностью «Ромашка»", "7701234567", "770101001", "1 200",
         "15 000 000,00 руб.", "Производство", "https://romashka.ru", "г. Москва, ул. Ленина, 1",
         "Иванов Иван Иванович"],
    ])
    assert row.data["name"] == "Ромашка"
    assert row.data["legal_name"].startswith("Общество")
    assert (row.data["tax_id"], row.data["kpp"], row.data["employees"]) == ("7701234567", "770101001", 1200)
    assert row.data["annual_revenue"] == Decimal("15000000.00")
    assert row.data["website"] == "https://romashka.ru"
    assert row.links == {"contacts": [{"name": "Иванов Иван Иванович"}]}
    assert not row.issues


def test_owner_by_login_email_or_name_and_unknown_users():
    user = make_user("ivanova", first_name="Мария", last_name="Иванова", email="m.ivanova@example.ru")
    rows = import_rows("contact", [["Фамилия", "Ответственный"], ["А", "ivanova"], ["Б", "M.Ivanova@example.ru"],
                                   ["В", "Иванова Мария"], ["Г", "Мария Иванова"], ["Д", "Кто-то"]])
    assert [row.data.get("owner") for row in rows] == [user.pk] * 4 + [None]
    assert issues(rows[4]) == [("unknown_user", "Ответственный", "error")]


def test_defaults_fill_what_the_file_does_not_give():
    owner = make_user("importer")
    source = Source.objects.get(code="call").pk
    defaults = ImportDefaults(owner=owner.pk, source=source, tags=("import 2025",), opened=False)
    rows = import_rows("contact", [["Фамилия", "Источник"], ["Иванов", "Выставка"], ["Петров", ""]], defaults=defaults)
    assert rows[0].data["source"] == Source.objects.get(code="exhibition").pk  # the file's value wins
    assert rows[1].data["source"] == source
    assert rows[0].data["owner"] == owner.pk and rows[0].data["tags"] == ["import 2025"]
    assert rows[0].defaulted == {"owner", "tags", "opened"}
    assert rows[1].defaulted == {"owner", "tags", "opened", "source"}
    assert ImportDefaults.from_json(json.loads(json.dumps(defaults.as_json()))) == defaults


def test_defaults_for_fields_an_entity_lacks_are_ignored():
    [row] = import_rows("deal", [["Название сделки"], ["Поставка"]], defaults=ImportDefaults(tags=("x",)))
    assert "tags" not in row.data


def test_per_row_kinds_from_googles_label_columns():
    rows = import_rows("contact", [
        ["First Name", "Labels", "Phone 1 - Label", "Phone 1 - Value", "E-mail 1 - Label", "E-mail 1 - Value"],
        ["Ivan", "* myContacts ::: Клиенты", "* Mobile", "+7 916 123-45-67 ::: +7 495 123-45-67", "Home",
         "ivan@example.ru"],
        ["Petr", "", "Work Fax", "+7 495 000-00-00", "", "petr@example.ru"],
    ], delimiter=",")
    assert [(c.channel, c.kind, c.normalized) for c in rows[0].channels] == [
        ("phone", "mobile", "+79161234567"), ("phone", "mobile", "+74951234567"), ("email", "home", "ivan@example.ru")]
    assert rows[0].data["tags"] == ["Клиенты"]  # Google's own "* myContacts" is not a tag
    assert [(c.channel, c.kind) for c in rows[1].channels] == [("phone", "other"), ("email", "work")]


def test_an_outlook_row_takes_the_first_address_with_a_value():
    header = ["First Name", "Last Name", "Business Street", "Business City", "Home Street", "Home City", "Birthday",
              "E-mail Address", "E-mail 2 Address", "Business Phone", "Mobile Phone"]
    rows = import_rows("contact", [
        header,
        ["John", "Smith", "1 Main St", "Springfield", "2 Elm St", "Shelbyville", "0/0/00", "john@example.com",
         "john@home.example", "+1 650 253 0000", ""],
        ["Jane", "Doe", "", "", "2 Elm St", "Shelbyville", "3/15/1985", "", "", "", "+1 650 253 0001"],
    ], delimiter=",")
    assert rows[0].data["address"] == "1 Main St, Springfield"
    assert "birthday" not in rows[0].data  # Outlook writes 0/0/00 for "no birthday"
    assert [(c.kind, c.value) for c in rows[0].channels if c.channel == "email"] == [
        ("work", "john@example.com"), ("other", "john@home.example")]
    assert rows[1].data["address"] == "2 Elm St, Shelbyville"
    assert rows[1].data["birthday"] == dt.date(1985, 3, 15)
    assert rows[1].channels[0].normalized == "+16502530001"


def test_a_full_name_fills_only_the_parts_no_column_gave():
    [row] = import_rows("contact", [["Фамилия", "ФИО"], ["Петрова", "Иванова Мария Сергеевна"]])
    assert row.data == {"last_name": "Петрова", "first_name": "Мария", "middle_name": "Сергеевна"}


def test_mapped_rows_are_json_friendly():
    [row] = import_rows("contact", [["ФИО", "Дата рождения", "Телефон"], ["Иванов Иван", "15.03.1985", "+7 916 1234567"]])
    data = json.loads(json.dumps(row.as_json(), cls=DjangoJSONEncoder))
    assert data["data"]["birthday"] == "1985-03-15"
    assert data["channels"] == [["phone", "work", "+7 916 1234567", "+79161234567"]]


def test_nothing_is_written():
    before = (Contact.objects.count(), Tag.objects.count())
    import_rows("contact", [["ФИО", "Теги", "Компания"], ["Иванов Иван", "новый тег", "ООО Новая"]])
    assert (Contact.objects.count(), Tag.objects.count()) == before


def test_custom_fields_plug_in_through_a_target_provider():
    """The hook for custom fields: a provider adds targets; their labels map automatically; values land in
    MappedRow.custom, parsed by the target."""

    def parse_inn(value, locale):
        digits = "".join(ch for ch in str(value) if ch.isdigit())
        if len(digits) not in (10, 12):
            raise BadValue("custom", message="ИНН: 10 или 12 цифр")
        return digits

    def provider(entity):
        if entity.key != "contact":
            return []
        return [Target("custom:personal_inn", "Личный ИНН", "custom", name="personal_inn", parse=parse_inn)]

    register_target_provider(provider)
    try:
        rows = import_rows("contact", [["Фамилия", "Личный ИНН"], ["Иванов", "7701 234 567"], ["Петров", "123"]])
    finally:
        unregister_target_provider(provider)
    assert rows[0].custom == {"personal_inn": "7701234567"}
    assert [(i.code, i.message, i.column) for i in rows[1].issues] == [("custom", "ИНН: 10 или 12 цифр", "Личный ИНН")]


def test_the_file_locale_decides_ambiguous_dates_and_numbers():
    header = ["Deal Name", "Income", "Assumed close date"]
    rows = import_rows("deal", [header, ["A", "1,234.50", "03/04/2025"], ["B", "2,000.00", "12/31/2025"]],
                       delimiter=",")
    assert [(row.data["amount"], row.data["expected_close_date"]) for row in rows] == [
        (Decimal("1234.50"), dt.date(2025, 3, 4)), (Decimal("2000.00"), dt.date(2025, 12, 31))]
    rows = import_rows("deal", [["Название сделки", "Сумма", "Предполагаемая дата закрытия"],
                                ["А", "1 234,50", "03.04.2025"]])
    assert (rows[0].data["amount"], rows[0].data["expected_close_date"]) == (Decimal("1234.50"), dt.date(2025, 4, 3))


def test_a_mapped_row_has_the_match_keys_of_the_record_it_describes():
    """Phase B matches file rows against the base by dedup's match keys: a row and the saved record it describes
    give the same keys."""
    from dedup.importing import row_match_keys
    from dedup.keys import record_keys
    from tests.factories import make_company, make_contact

    owner = make_user("keys")
    company = make_company(owner, name="ООО «Ромашка»")
    contact = make_contact(owner, last_name="Иванов", first_name="Иван", middle_name="Петрович",
                           birthday=dt.date(1985, 3, 15), address="ул. Ленина, 5", phones=["8 (495) 123-45-67"],
                           emails=["Ivan@Example.RU"], companies=[company])
    [row] = import_rows("contact", [["ФИО", "Телефон", "E-mail", "Компания", "Должность",
                                     "Дата рождения", "Адрес"],
                                    ["Иванов Иван Петрович", "+7 495 123 45 67", "ivan@example.ru", "Ромашка ООО",
                                     "Директор", "15.03.1985", "ул. Ленина, 5"]])
    assert row_match_keys("contact", row) == record_keys(contact)
