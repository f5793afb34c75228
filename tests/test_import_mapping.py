"""Automatic column mapping on the headers real exports write (the sources are listed in
dedup/importing/headers.py), for every entity, and what a fifth entity gets without any code of its own."""

import pytest
from django.utils import translation

from crm_site.registry import Entity, registry
from dedup.importing import Mapping, auto_map, mapping_targets, resolve_concept
from dedup.importing.headers import CONCEPT_HEADERS, HEADER_CONCEPTS, header_key

# Outlook's CSV export (desktop Outlook 2010 and later), in its order: the columns Roundcube's csv2vcard and
# Bitrix24's Outlook importer read, plus the ones they skip.
OUTLOOK = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department", "Job Title",
    "Business Street", "Business Street 2", "Business Street 3", "Business City", "Business State",
    "Business Postal Code", "Business Country/Region", "Home Street", "Home Street 2", "Home Street 3", "Home City",
    "Home State", "Home Postal Code", "Home Country/Region", "Other Street", "Other Street 2", "Other Street 3",
    "Other City", "Other State", "Other Postal Code", "Other Country/Region", "Assistant's Phone", "Business Fax",
    "Business Phone", "Business Phone 2", "Callback", "Car Phone", "Company Main Phone", "Home Fax", "Home Phone",
    "Home Phone 2", "ISDN", "Mobile Phone", "Other Fax", "Other Phone", "Pager", "Primary Phone", "Radio Phone",
    "TTY/TDD Phone", "Telex", "Account", "Anniversary", "Assistant's Name", "Billing Information", "Birthday",
    "Business Address PO Box", "Categories", "Children", "Directory Server", "E-mail Address", "E-mail Type",
    "E-mail Display Name", "E-mail 2 Address", "E-mail 2 Type", "E-mail 2 Display Name", "E-mail 3 Address",
    "E-mail 3 Type", "E-mail 3 Display Name", "Gender", "Government ID Number", "Hobby", "Home Address PO Box",
    "Initials", "Internet Free Busy", "Keywords", "Language", "Location", "Manager's Name", "Mileage", "Notes",
    "Office Location", "Organizational ID Number", "Other Address PO Box", "Priority", "Private", "Profession",
    "Referred By", "Sensitivity", "Spouse", "User 1", "User 2", "User 3", "User 4", "Web Page",
]
# Outlook with a Russian interface: the headers Bitrix24's importer knows for it (CRM_IMPORT_OUTLOOK_ALIAS_*).
OUTLOOK_RU = [
    "Имя", "Отчество", "Фамилия", "Организация", "Должность", "Улица (раб. адрес)", "Город (раб. адрес)",
    "Область (раб. адрес)", "Индекс (раб. адрес)", "Страна или регион (раб. адрес)", "Улица (дом. адрес)",
    "Город (дом. адрес)", "Почтовый код (дом.)", "Рабочий факс", "Рабочий телефон", "Телефон раб. 2",
    "Домашний телефон", "Основной телефон", "Основной телефон организации", "Телефон переносной", "Радиотелефон",
    "Телефон в машине", "Другой телефон", "Пейджер", "День рождения", "Адрес эл. почты", "Адрес 2 эл. почты",
    "Адрес 3 эл. почты", "Заметки", "Веб-страница",
]
# Google Contacts' current CSV export.
GOOGLE = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Phonetic Middle Name", "Phonetic Last Name",
    "Name Prefix", "Name Suffix", "Nickname", "File As", "Organization Name", "Organization Title",
    "Organization Department", "Birthday", "Notes", "Photo", "Labels", "E-mail 1 - Label", "E-mail 1 - Value",
    "E-mail 2 - Label", "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label",
    "Phone 2 - Value", "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street", "Address 1 - City",
    "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code", "Address 1 - Country",
    "Address 1 - Extended Address", "Website 1 - Label", "Website 1 - Value", "Event 1 - Label", "Event 1 - Value",
    "Relation 1 - Label", "Relation 1 - Value", "Custom Field 1 - Label", "Custom Field 1 - Value",
]
# Google's legacy "Google CSV".
GOOGLE_LEGACY = [
    "Name", "Given Name", "Additional Name", "Family Name", "Yomi Name", "Given Name Yomi", "Additional Name Yomi",
    "Family Name Yomi", "Name Prefix", "Name Suffix", "Initials", "Nickname", "Short Name", "Maiden Name", "Birthday",
    "Gender", "Location", "Billing Information", "Directory Server", "Mileage", "Occupation", "Hobby", "Sensitivity",
    "Priority", "Subject", "Notes", "Language", "Photo", "Group Membership", "E-mail 1 - Type", "E-mail 1 - Value",
    "Phone 1 - Type", "Phone 1 - Value", "Phone 2 - Type", "Phone 2 - Value", "Address 1 - Type",
    "Address 1 - Formatted", "Address 1 - Street", "Organization 1 - Type", "Organization 1 - Name",
    "Organization 1 - Yomi Name", "Organization 1 - Title", "Website 1 - Type", "Website 1 - Value", "IM 1 - Type",
    "IM 1 - Service", "IM 1 - Value",
]


def targets_of(headers, entity, file_format="csv"):
    mapping = auto_map(headers, entity, file_format=file_format)
    return {column.header: column.target for column in mapping.columns}, mapping


def test_outlook_export():
    targets, mapping = targets_of(OUTLOOK, "contact")
    assert targets["Title"] == "field:honorific"
    assert (targets["First Name"], targets["Middle Name"], targets["Last Name"]) == (
        "field:first_name", "field:middle_name", "field:last_name")
    assert targets["Company"] == "link:companies"
    assert targets["Job Title"] == "field:position"
    assert targets["Birthday"] == "field:birthday"
    assert targets["Notes"] == "field:comment"
    assert targets["Categories"] == "field:tags"
    assert targets["Web Page"] == "channel:web:website"
    assert targets["Mobile Phone"] == "channel:phone:mobile"
    for work in ("Business Phone", "Business Phone 2", "Company Main Phone", "Primary Phone"):
        assert targets[work] == "channel:phone:work"
    assert targets["Home Phone"] == targets["Home Phone 2"] == "channel:phone:home"
    for other in ("Other Phone", "Car Phone", "Radio Phone", "Pager", "Business Fax", "Home Fax", "Other Fax"):
        assert targets[other] == "channel:phone:other"
    assert targets["E-mail Address"] == "channel:email:work"
    assert targets["E-mail 2 Address"] == targets["E-mail 3 Address"] == "channel:email:other"
    for unmapped in ("E-mail Type", "E-mail Display Name", "Assistant's Phone", "Manager's Name", "Suffix",
                     "Department", "Gender", "Government ID Number", "User 1"):
        assert targets[unmapped] == "", unmapped
    groups = {column.header: column.group for column in mapping.columns if column.target == "field:address"}
    assert groups["Business Street"] == groups["Business Country/Region"] == groups["Business Address PO Box"] == "work"
    assert groups["Home City"] == "home" and groups["Other Postal Code"] == "other"


def test_outlook_with_a_russian_interface():
    targets, _mapping = targets_of(OUTLOOK_RU, "contact")
    assert targets["Организация"] == "link:companies"
    assert targets["Телефон переносной"] == "channel:phone:mobile"
    assert targets["Рабочий телефон"] == targets["Телефон раб. 2"] == targets["Основной телефон"] == \
        "channel:phone:work"
    assert targets["Рабочий факс"] == targets["Телефон в машине"] == targets["Пейджер"] == "channel:phone:other"
    assert targets["Адрес эл. почты"] == "channel:email:work"
    assert targets["Адрес 2 эл. почты"] == "channel:email:other"
    assert targets["День рождения"] == "field:birthday"
    assert targets["Заметки"] == "field:comment"
    assert targets["Улица (раб. адрес)"] == targets["Почтовый код (дом.)"] == "field:address"


def test_google_contacts_export():
    targets, mapping = targets_of(GOOGLE, "contact")
    assert targets["Organization Name"] == "link:companies"
    assert targets["Organization Title"] == "field:position"
    assert targets["Name Prefix"] == "field:honorific"
    assert targets["Labels"] == "field:tags"
    assert targets["Address 1 - Formatted"] == "field:address"
    assert targets["Address 1 - Street"] == targets["Address 1 - City"] == ""  # the formatted one has them all
    by_header = {column.header: column for column in mapping.columns}
    assert by_header["Phone 1 - Value"].target.startswith("channel:phone:")
    assert by_header["Phone 1 - Value"].kind_column == GOOGLE.index("Phone 1 - Label")
    assert by_header["E-mail 2 - Value"].kind_column == GOOGLE.index("E-mail 2 - Label")
    assert by_header["Website 1 - Value"].target == "channel:web:website"
    for unmapped in ("Phonetic First Name", "Phone 1 - Label", "E-mail 1 - Label", "Photo", "Event 1 - Value",
                     "Relation 1 - Value", "Custom Field 1 - Value", "File As", "Nickname"):
        assert targets[unmapped] == "", unmapped


def test_google_legacy_export():
    targets, mapping = targets_of(GOOGLE_LEGACY, "contact")
    assert targets["Name"] == "special:full_name"
    assert (targets["Given Name"], targets["Additional Name"], targets["Family Name"]) == (
        "field:first_name", "field:middle_name", "field:last_name")
    assert targets["Group Membership"] == "field:tags"
    assert targets["Organization 1 - Name"] == "link:companies"
    assert targets["Organization 1 - Title"] == "field:position"
    by_header = {column.header: column for column in mapping.columns}
    assert by_header["Phone 2 - Value"].kind_column == GOOGLE_LEGACY.index("Phone 2 - Type")
    assert by_header["IM 1 - Value"].target.startswith("channel:messenger:")
    assert by_header["IM 1 - Value"].kind_column == GOOGLE_LEGACY.index("IM 1 - Service")


BITRIX_CONTACT_RU = ["ID", "Обращение", "Имя", "Отчество", "Фамилия", "Дата рождения", "Должность", "Компания",
                     "Тип контакта", "Источник", "Дополнительно об источнике", "Адрес", "Комментарий",
                     "Ответственный", "Доступен для всех", "Дата создания", "Дата изменения", "Рабочий телефон",
                     "Мобильный телефон", "Номер факса", "Домашний телефон", "Телефон для рассылок", "Другой телефон",
                     "Рабочий e-mail", "Частный e-mail", "E-mail для рассылок", "Другой e-mail", "Корпоративный сайт",
                     "Личная страница", "Страница ВКонтакте", "Контакт Telegram", "Контакт Skype", "Контакт Viber"]
BITRIX_CONTACT_EN = ["ID", "Salutation", "First Name", "Middle Name", "Last Name", "Date of birth", "Position",
                     "Company", "Contact Type", "Source", "Source information", "Address", "Comment",
                     "Responsible person", "Available to everyone", "Created", "Modified", "Work Phone", "Mobile",
                     "Fax", "Home Phone", "Other Phone Number", "Work E-mail", "Home E-mail", "Other E-mail",
                     "Corporate Website", "Personal Page", "VK Page", "Telegram account", "Skype ID", "Viber contact"]


@pytest.mark.parametrize("headers", [BITRIX_CONTACT_RU, BITRIX_CONTACT_EN])
def test_bitrix24_contact_export(headers):
    targets = list(targets_of(headers, "contact")[0].values())
    assert targets[:17] == [
        "", "field:honorific", "field:first_name", "field:middle_name", "field:last_name", "field:birthday",
        "field:position", "link:companies", "field:type", "field:source", "", "field:address", "field:comment",
        "field:owner", "field:opened", "", ""]
    assert targets[17:21] == ["channel:phone:work", "channel:phone:mobile", "channel:phone:other",
                              "channel:phone:home"]
    assert "channel:email:home" in targets and "channel:web:vk" in targets
    assert "channel:messenger:telegram" in targets and "channel:messenger:skype" in targets


def test_bitrix24_company_export():
    ru, _ = targets_of(["ID", "Название компании", "Тип компании", "Сфера деятельности", "Кол-во сотрудников",
                        "Годовой оборот", "Валюта", "Фактический адрес", "Юридический адрес", "Комментарий",
                        "Ответственный", "Доступна для всех", "Рабочий телефон", "Рабочий e-mail",
                        "Корпоративный сайт", "Контакт"], "company")
    assert list(ru.values()) == [
        "", "field:name", "field:type", "field:industry", "field:employees", "field:annual_revenue",
        "field:revenue_currency", "field:address", "field:legal_address", "field:comment", "field:owner",
        "field:opened", "channel:phone:work", "channel:email:work", "field:website", "link:contacts"]
    en, _ = targets_of(["Company Name", "Company Type", "Industry", "Employees", "Annual Income", "Currency",
                        "Address", "Legal Address", "Responsible"], "company")
    assert list(en.values()) == ["field:name", "field:type", "field:industry", "field:employees",
                                 "field:annual_revenue", "field:revenue_currency", "field:address",
                                 "field:legal_address", "field:owner"]


def test_bitrix24_lead_export():
    targets, _ = targets_of(["ID", "Название лида", "Статус", "Сумма", "Валюта", "Источник", "Имя", "Фамилия",
                             "Отчество", "Должность", "Название компании", "Адрес", "Комментарий", "Ответственный",
                             "Рабочий телефон", "Рабочий e-mail"], "lead")
    assert list(targets.values()) == [
        "", "field:title", "field:status", "field:expected_amount", "field:currency", "field:source",
        "field:first_name", "field:last_name", "field:middle_name", "field:position", "field:company_name", "",
        "field:comment", "field:owner", "channel:phone:work", "channel:email:work"]


@pytest.mark.parametrize("headers", [
    ["Название сделки", "Воронка", "Стадия сделки", "Сумма", "Валюта", "Предполагаемая дата закрытия", "Компания",
     "Контакт", "Комментарий", "Ответственный", "Вероятность", "Сделка закрыта"],
    ["Deal Name", "Pipeline", "Stage", "Income", "Currency", "Assumed close date", "Company", "Contact", "Comment",
     "Responsible", "Probability, %", "Closed"],
    ["Назва", "Напрямок", "Стадія угоди", "Сума", "Валюта", "Орієнтовна дата закриття", "Компанія", "Контакт",
     "Коментар", "Відповідальний", "Імовірність", "Угода закрита"],
])
def test_bitrix24_deal_export(headers):
    targets, _ = targets_of(headers, "deal")
    assert list(targets.values()) == [
        "field:title", "field:pipeline", "field:stage", "field:amount", "field:currency",
        "field:expected_close_date", "link:company", "link:contacts", "field:comment", "field:owner", "", ""]


def test_1c_counterparties_into_companies():
    targets, _ = targets_of(["Наименование", "Полное наименование", "ИНН", "КПП", "Код по ОКПО", "Юридический адрес",
                             "Фактический адрес", "Телефон", "Адрес электронной почты", "Основное контактное лицо",
                             "Комментарий", "ОГРН", "Банк", "БИК", "Расчетный счет"], "company")
    assert list(targets.values()) == [
        "field:name", "field:legal_name", "field:tax_id", "field:kpp", "", "field:legal_address", "field:address",
        "channel:phone:work", "channel:email:work", "link:contacts", "field:comment", "field:registration_number",
        "field:bank_name", "field:bank_code", "field:bank_account"]


def test_everyday_russian_and_ukrainian_headers():
    ru, _ = targets_of(["ФИО", "Телефон", "Мобильный", "Рабочий телефон", "E-mail", "Компания", "ИНН", "Должность",
                        "Комментарий", "Дата рождения", "Адрес"], "contact")
    assert list(ru.values()) == [
        "special:full_name", "channel:phone:work", "channel:phone:mobile", "channel:phone:work",
        "channel:email:work", "link:companies", "link:companies.tax_id", "field:position", "field:comment",
        "field:birthday", "field:address"]
    uk, _ = targets_of(["ПІБ", "Мобільний телефон", "Email", "Компанія", "ІПН", "Посада", "Коментар",
                        "Дата народження", "Адреса"], "contact")
    assert list(uk.values()) == [
        "special:full_name", "channel:phone:mobile", "channel:email:work", "link:companies", "link:companies.tax_id",
        "field:position", "field:comment", "field:birthday", "field:address"]


def test_the_same_words_mean_each_entitys_own_field():
    assert resolve_concept("company", "contact") == "link:companies"
    assert resolve_concept("company", "deal") == "link:company"
    assert resolve_concept("company", "lead") == "field:company_name"
    assert resolve_concept("company", "company") == "field:name"
    assert resolve_concept("tax_id", "company") == "field:tax_id"
    assert resolve_concept("tax_id", "deal") == "link:company.tax_id"
    assert resolve_concept("phone:mobile", "deal") == "link:contacts.phone"  # a deal has no phones of its own
    assert resolve_concept("website", "company") == "field:website"
    assert resolve_concept("website", "contact") == "channel:web:website"
    assert resolve_concept("amount", "lead") == "field:expected_amount"
    assert resolve_concept("birthday", "lead") == ""


def test_several_phone_and_email_columns_keep_their_kinds():
    mapping = auto_map(["Телефон", "Телефон", "Мобильный", "Домашний телефон", "E-mail", "Частный e-mail"],
                       "contact")
    assert [column.target for column in mapping.columns] == ["channel:phone:work", "channel:phone:work", "channel:phone:mobile",
                                      "channel:phone:home", "channel:email:work", "channel:email:home"]


def test_a_single_field_from_several_columns():
    targets, _ = targets_of(["Дата рождения", "Birthday", "Адрес", "Город"], "contact")
    assert list(targets.values()) == ["field:birthday", "", "field:address", "field:address"]


@pytest.mark.parametrize("entity", ["contact", "company", "lead", "deal"])
@pytest.mark.parametrize("language", ["en", "ru", "uk"])
def test_our_own_export_maps_back(entity, language, admin_user):
    """A file exported by the CRM (its headers: the fields' names in the interface language) maps back."""
    from crm_site.export import export_columns

    with translation.override(language):
        columns = export_columns(user=admin_user, entity=registry[entity])
        headers = [str(column.label) for column in columns]
    targets, _ = targets_of(headers, entity)
    for column, header in zip(columns, headers, strict=True):
        if column.kind == "field" and column.field.editable and column.name not in ("department",):
            linked = column.field.many_to_one and hasattr(column.field.related_model, "entity")
            assert targets[header] == f"{'link' if linked else 'field'}:{column.name}", (header, targets[header])
        elif column.kind == "relation":
            assert targets[header] == f"link:{column.name}", header
        elif column.kind == "channel":
            assert targets[header].startswith(f"channel:{column.name}:"), header


def test_a_fifth_entity_needs_nothing_here():
    """An entity the importer has never heard of gets targets and an automatic mapping from its model alone."""
    entity = Entity(key="prospect", model_path="leads.Lead", url_prefix="prospects", form_class="leads.forms.LeadForm",
                    list_columns=(), sort_fields={}, search_fields=(), card_sections=())
    keys = {target.key for target in mapping_targets(entity)}
    assert {"field:title", "field:status", "field:last_name", "special:full_name", "channel:phone:mobile"} <= keys
    targets, _ = targets_of(["Название", "Статус", "ФИО", "Мобильный", "Ответственный"], entity)
    assert list(targets.values()) == ["field:title", "field:status", "special:full_name", "channel:phone:mobile",
                                      "field:owner"]


def test_every_listed_header_has_one_concept_and_known_targets():
    assert HEADER_CONCEPTS[header_key("E-mail")] == HEADER_CONCEPTS[header_key("email")] == "email:work"
    assert header_key("First Name") == header_key("first_name") == header_key("FirstName")
    entity_concepts = set(CONCEPT_HEADERS)
    for concept in entity_concepts:
        assert any(resolve_concept(concept, key) for key in registry.keys()), concept


def test_mapping_json_follows_moved_columns():
    mapping = auto_map(["Фамилия", "Телефон", "Телефон", "Заметка"], "contact")
    mapping.columns[2].target = "channel:phone:mobile"  # the user's correction of the second "Телефон"
    mapping.columns[3].target = "field:comment"
    saved = mapping.as_json()
    moved = Mapping.from_json(saved, ["Телефон", "Комментарий", "Фамилия", "Телефон"])
    assert [(column.header, column.target) for column in moved.columns] == [
        ("Телефон", "channel:phone:work"), ("Комментарий", ""), ("Фамилия", "field:last_name"),
        ("Телефон", "channel:phone:mobile")]
    google = auto_map(GOOGLE, "contact")
    again = Mapping.from_json(google.as_json(), list(reversed(GOOGLE)))
    column = next(c for c in again.columns if c.header == "Phone 1 - Value")
    assert again.columns[column.kind_column].header == "Phone 1 - Label"
