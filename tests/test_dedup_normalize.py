"""Normalisation tables: phones in local formats, Cyrillic/Latin names, company legal forms, domains."""

import pytest

from dedup import normalize


@pytest.mark.parametrize(
    "value, region, expected",
    [
        ("8 (495) 123-45-67", "RU", "+74951234567"),
        ("+7 495 1234567", "RU", "+74951234567"),
        ("84951234567", "RU", "+74951234567"),
        ("495 123 45 67", "RU", "+74951234567"),
        ("+7 (495) 123-45-67 доб. 12", "RU", "+74951234567"),
        ("8 495 123 45 67 ext. 12", "RU", "+74951234567"),
        ("+380 44 123 45 67", "RU", "+380441234567"),
        ("044 123 45 67", "UA", "+380441234567"),
        ("0441234567", "UA", "+380441234567"),
        ("(212) 555-0100", "US", "+12125550100"),
        ("12", "RU", ""),
        ("", "RU", ""),
    ],
)
def test_phone_key(value, region, expected):
    assert normalize.phone_key(value, region) == expected


def test_phone_key_uses_the_default_region_setting(settings):
    settings.CRM_DEFAULT_REGION = "UA"
    assert normalize.phone_key("044 123 45 67") == "+380441234567"
    settings.CRM_DEFAULT_REGION = "RU"
    assert normalize.phone_key("8 (495) 123-45-67") == "+74951234567"


@pytest.mark.parametrize("value", ["  Ivan.Petrov@Example.COM ", "ivan.petrov@example.com", "IVAN.PETROV@EXAMPLE.COM"])
def test_email_key(value):
    assert normalize.email_key(value) == "ivan.petrov@example.com"


def test_email_key_rejects_non_emails():
    assert normalize.email_key("not an email") == ""


@pytest.mark.parametrize(
    "a, b",
    [
        ("Иванов Иван", "Ivanov Ivan"),
        ("Иванов Иван", "Иван Иванов"),
        ("Иванов Иван", "ivan IVANOV"),
        ("Ёлкин Пётр", "Елкин Петр"),
        ("Щербаков Юрий", "Shcherbakov Yuriy"),
        ("Щербаков Юрий", "Scherbakov Yury"),
        ("Хабаров Алексей", "Khabarov Aleksey"),
        ("Хабаров Алексей", "Habarov Alexey"),
        ("Цой Наталья", "Tsoi Natalia"),
        ("Журавлёва Мария", "Zhuravleva Mariya"),
        ("Григорій Шевченко", "Hryhorii Shevchenko"),
        ("Євген Ющенко", "Yevhen Yushchenko"),
        ("Олійник Юлія", "Oliinyk Yuliia"),
        ("O'Brien, Mary-Ann", "obrien mary ann"),
        ("Демʼянюк Валентина", "ДЕМ?ЯНЮК валентина"),  # the apostrophe lost to Windows-1251
        ("В'ячеслав", "В\ufffdячеслав"),
    ],
)
def test_name_key_same_person(a, b):
    assert normalize.name_key(a) == normalize.name_key(b)


def test_an_apostrophe_lost_to_an_encoding_reads_as_the_apostrophe():
    from dedup import names

    assert names.surname_stem("ДЕМ?ЯНЮК") == names.surname_stem("Демʼянюк") == names.surname_stem("Дем'янюк")
    assert names.skeleton("В\ufffdячеслав") == names.skeleton("Вʼячеслав")
    assert normalize.name_key("Что?") == normalize.name_key("Что")  # a question mark at the end is no letter


def test_name_key_different_people_differ():
    assert normalize.name_key("Иванов Иван") != normalize.name_key("Петров Иван")
    assert normalize.name_key("") == ""


def test_name_blocks_survive_one_typo_in_a_word():
    a = set(normalize.name_blocks(normalize.name_key("Иванов Иван")))
    b = set(normalize.name_blocks(normalize.name_key("Иваноа Иван")))
    assert a & b


@pytest.mark.parametrize(
    "a, b",
    [
        ("ООО «Ромашка»", "Ромашка"),
        ('ООО "Ромашка"', "romashka llc"),
        ("Общество с ограниченной ответственностью «Ромашка»", "Ромашка, ООО"),
        ("ТОВ «Сонячний край»", "Сонячний Край"),
        ("ФОП Коваленко", "Коваленко"),
        ("ИП Сидоров", "Sidorov"),
        ("Acme Ltd.", "ACME LLC"),
        ("Müller GmbH", "muller"),
        ("ПАО Газпром", "АО «Газпром»"),
        ("Globex, Inc.", "globex corp"),
    ],
)
def test_company_key_drops_legal_forms_and_quotes(a, b):
    assert normalize.company_key(a) == normalize.company_key(b) != ""


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://www.Example.com/about?x=1", "example.com"),
        ("http://example.com:8080", "example.com"),
        ("www.example.com", "example.com"),
        ("example.com/", "example.com"),
        ("not a domain", ""),
    ],
)
def test_domain_key(value, expected):
    assert normalize.domain_key(value) == expected
