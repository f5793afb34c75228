"""Typed values as files write them: dates, numbers, yes/no, multi-value cells, phones, emails, full names."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from crm_site.normalize import normalize_phone as crm_normalize_phone
from crm_site.normalize import parse_phone
from dedup.importing.names import split_full_name
from dedup.importing.values import (
    BadValue,
    ValueLocale,
    as_text,
    clean_email,
    guess_locale,
    normalize_phone,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_integer,
    split_values,
)

DMY = ValueLocale(date_order="DMY", decimal_comma=True)
MDY = ValueLocale(date_order="MDY", decimal_comma=False)


# --- dates


@pytest.mark.parametrize("text, locale, expected", [
    ("15.03.1985", DMY, dt.date(1985, 3, 15)),
    ("1985-03-15", DMY, dt.date(1985, 3, 15)),
    ("1985-03-15", MDY, dt.date(1985, 3, 15)),
    ("03/15/1985", MDY, dt.date(1985, 3, 15)),
    ("05/03/1985", MDY, dt.date(1985, 5, 3)),
    ("05/03/1985", DMY, dt.date(1985, 3, 5)),
    ("15/03/1985", MDY, dt.date(1985, 3, 15)),  # only one reading is a date
    ("03.15.1985", DMY, dt.date(1985, 3, 15)),
    ("15.03.85", DMY, dt.date(1985, 3, 15)),
    ("1.3.2001", DMY, dt.date(2001, 3, 1)),
    ("15.03.1985 00:00", DMY, dt.date(1985, 3, 15)),
    ("1985-03-15T10:20:30Z", DMY, dt.date(1985, 3, 15)),
    ("3/15/1985 12:00 AM", MDY, dt.date(1985, 3, 15)),
    ("19921221", DMY, dt.date(1992, 12, 21)),  # vCard BDAY
    ("31123", DMY, dt.date(1985, 3, 17)),  # an Excel serial written as text
])
def test_dates_in_the_shapes_files_write(text, locale, expected):
    assert parse_date(text, locale) == expected


def test_typed_dates_and_excel_serials():
    assert parse_date(dt.datetime(1985, 3, 15, 13, 30), DMY) == dt.date(1985, 3, 15)
    assert parse_date(dt.date(1985, 3, 15), DMY) == dt.date(1985, 3, 15)
    assert parse_date(31121.0, DMY) == dt.date(1985, 3, 15)
    assert parse_date(1, DMY) == dt.date(1899, 12, 31)


@pytest.mark.parametrize("text", ["", "  ", "0/0/00", "00.00.0000", None])
def test_empty_dates_including_outlooks_zero_date(text):
    assert parse_date(text, DMY) is None


@pytest.mark.parametrize("text", ["31.02.1985", "32.01.1985", "tomorrow", "15.13.1985 x", "1985-13-01", "0"])
def test_bad_dates_are_a_clear_error(text):
    with pytest.raises(BadValue) as caught:
        parse_date(text, DMY)
    assert caught.value.code == "bad_date"


def test_a_date_without_a_year():
    with pytest.raises(BadValue) as caught:
        parse_date("--1221", DMY)
    assert caught.value.code == "date_without_year"


# --- numbers


@pytest.mark.parametrize("text, locale, expected", [
    ("1234,56", DMY, Decimal("1234.56")),
    ("1 234,56", DMY, Decimal("1234.56")),
    ("1\u00a0234\u00a0567,5", DMY, Decimal("1234567.5")),
    ("1\u202f234,00 ₽", DMY, Decimal("1234.00")),
    ("1 234 руб.", DMY, Decimal("1234")),
    ("1234 грн", DMY, Decimal("1234")),
    ("₴ 99,90", DMY, Decimal("99.90")),
    ("$1,234.56", MDY, Decimal("1234.56")),
    ("1,234", MDY, Decimal("1234")),
    ("1,234", DMY, Decimal("1.234")),
    ("1,234,567", DMY, Decimal("1234567")),
    ("1.234.567,89", DMY, Decimal("1234567.89")),
    ("1'234.50", MDY, Decimal("1234.50")),
    ("EUR 12.5", DMY, Decimal("12.5")),
    ("USD 100", MDY, Decimal("100")),
    ("-5,5", DMY, Decimal("-5.5")),
    ("\u22125,5", DMY, Decimal("-5.5")),
    ("(1 200)", DMY, Decimal("-1200")),
])
def test_numbers_with_separators_and_currency(text, locale, expected):
    assert parse_decimal(text, locale) == expected


def test_typed_numbers_from_xlsx():
    assert parse_decimal(1234.5, DMY) == Decimal("1234.5")
    assert parse_decimal(7, DMY) == Decimal(7)
    assert parse_decimal(0.1, DMY, decimal_places=2) == Decimal("0.10")


@pytest.mark.parametrize("text", ["abc", "12abc", "1,2,3,4", "₽", "inf", "NaN", "1..2"])
def test_bad_numbers(text):
    with pytest.raises(BadValue):
        parse_decimal(text, DMY)


def test_number_limits_of_the_field():
    with pytest.raises(BadValue) as caught:
        parse_decimal("-1", DMY, positive=True)
    assert caught.value.code == "negative"
    with pytest.raises(BadValue) as caught:
        parse_decimal("123456789012345", DMY, max_digits=16, decimal_places=2)
    assert caught.value.code == "too_many_digits"
    assert parse_decimal("12,345", DMY, max_digits=16, decimal_places=2) == Decimal("12.35")


def test_integers():
    assert parse_integer("1 200", DMY) == 1200
    assert parse_integer(1200.0, DMY) == 1200
    with pytest.raises(BadValue) as caught:
        parse_integer("12,5", DMY)
    assert caught.value.code == "bad_integer"
    with pytest.raises(BadValue):
        parse_integer("-3", DMY, positive=True)


# --- yes / no


@pytest.mark.parametrize("text", ["Да", "да", "Д", "Yes", "Y", "TRUE", "Истина", "Так", "т", "1", "+", "x", True, 1])
def test_yes_in_three_languages(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["Нет", "н", "No", "N", "FALSE", "Ложь", "Ні", "0", "-", False, 0])
def test_no_in_three_languages(text):
    assert parse_bool(text) is False


def test_neither_yes_nor_no():
    assert parse_bool("") is None
    with pytest.raises(BadValue) as caught:
        parse_bool("может быть")
    assert caught.value.code == "bad_bool"


# --- several values a cell


def test_multi_value_cells():
    assert split_values("+7 916 123-45-67 ::: +7 495 765-43-21", "phone") == ["+7 916 123-45-67", "+7 495 765-43-21"]
    assert split_values("a@example.com; b@example.com", "email") == ["a@example.com", "b@example.com"]
    assert split_values("a@example.com, b@example.com\nc@example.com", "email") == [
        "a@example.com", "b@example.com", "c@example.com"]
    assert split_values("a@example.com b@example.com", "email") == ["a@example.com", "b@example.com"]
    assert split_values("VIP, опт; Москва\nновые", "tag") == ["VIP", "опт", "Москва", "новые"]
    assert split_values("* myContacts ::: Клиенты ::: Поставщики", "tag") == ["* myContacts", "Клиенты", "Поставщики"]
    assert split_values("ООО «Ромашка», филиал\nТОВ Сонях", "name") == ["ООО «Ромашка», филиал", "ТОВ Сонях"]
    assert split_values("  ", "tag") == []
    assert split_values(79161234567.0, "phone") == ["79161234567"]


def test_a_phone_extension_after_a_comma_stays_with_its_number():
    assert split_values("8 (495) 123-45-67, доб. 12; +7 916 000-00-00", "phone") == [
        "8 (495) 123-45-67, доб. 12", "+7 916 000-00-00"]


# --- phones


@pytest.mark.parametrize("text, region, expected", [
    ("8 (495) 123-45-67", "RU", "+74951234567"),
    ("+7 916 123 45 67", "RU", "+79161234567"),
    ("89161234567", "RU", "+79161234567"),
    ("79161234567", "RU", "+79161234567"),
    ("9161234567", "RU", "+79161234567"),
    ("+7(916)123-45-67 доб. 12", "RU", "+79161234567"),
    ("+380 44 123 4567", "RU", "+380441234567"),
    ("044 123 45 67", "UA", "+380441234567"),
    ("067 123 45 67", "UA", "+380671234567"),
    ("+1 650 253 0000", "RU", "+16502530000"),
    ("8\u00a0495\u00a0123\u201145\u201167", "RU", "+74951234567"),
])
def test_phones_are_normalised_to_e164(text, region, expected):
    assert normalize_phone(text, region) == expected


@pytest.mark.parametrize("text", ["bad", "123", "", "+", "доб. 12"])
def test_not_a_phone(text):
    assert normalize_phone(text, "RU") is None


def test_the_fast_path_agrees_with_phonenumbers():
    """The shortcut for Russian and Ukrainian shapes gives exactly what crm_site.normalize (phonenumbers) gives."""
    rnd = random.Random(17)
    shapes = ["+7 {0}{1}{2} {3}{4}{5}-{6}{7}-{8}{9}", "8 ({0}{1}{2}) {3}{4}{5}-{6}{7}-{8}{9}", "7{0}{1}{2}{3}{4}{5}{6}{7}{8}{9}",
              "{0}{1}{2}{3}{4}{5}{6}{7}{8}{9}", "8{0}{1}{2}{3}{4}{5}{6}{7}{8}{9}", "+7{0}{1}{2}{3}{4}{5}{6}{7}{8}{9}",
              "+380 {0}{1} {2}{3}{4} {5}{6} {7}{8}", "0{0}{1} {2}{3}{4} {5}{6} {7}{8}", "380{0}{1}{2}{3}{4}{5}{6}{7}{8}",
              "+380{0}{1}{2}{3}{4}{5}{6}{7}{8}"]
    extensions = ["", "", "", " доб. 12", ", доб.123", " ext. 5", "доб.1", " вн. 12", " x 12", " #12"]
    for region in ("RU", "UA", "BY", "KZ"):
        for _ in range(3000):
            text = rnd.choice(shapes).format(*(rnd.randrange(10) for _ in range(10))) + rnd.choice(extensions)
            expected = crm_normalize_phone(text, region) if parse_phone(text, region) is not None else None
            assert normalize_phone(text, region) == expected, (text, region)


# --- emails


def test_emails():
    assert clean_email("Ivan@Example.RU") == ("Ivan@Example.RU", "ivan@example.ru")
    assert clean_email("Иван Петров <ivan@example.ru>") == ("ivan@example.ru", "ivan@example.ru")
    assert clean_email("mailto:ivan@example.ru") == ("ivan@example.ru", "ivan@example.ru")
    assert clean_email("ivan@пример.рф") == ("ivan@пример.рф", "ivan@пример.рф")
    # What the write service refuses (its validator, as the forms): the preview leaves it out instead.
    for bad in ("ivan", "ivan@", "@example.ru", "ivan@example", "ivan at example.ru", "a@b@c.ru",
                "иван@пример.рф", "ivan..petrov@example.ru"):
        assert clean_email(bad) is None


# --- full names


@pytest.mark.parametrize("text, expected", [
    ("Иванов Иван Петрович", ("Иванов", "Иван", "Петрович")),
    ("Иван Петрович Иванов", ("Иванов", "Иван", "Петрович")),
    ("Коваленко Олена Іванівна", ("Коваленко", "Олена", "Іванівна")),
    ("Иванов Иван", ("Иванов", "Иван", "")),
    ("Иван Иванов", ("Иванов", "Иван", "")),
    ("Марина Петрова", ("Петрова", "Марина", "")),
    ("Константин Ильин", ("Ильин", "Константин", "")),
    ("Шевченко Тарас", ("Шевченко", "Тарас", "")),
    ("Иванов И.П.", ("Иванов", "И.", "П.")),
    ("И. П. Иванов", ("Иванов", "И.", "П.")),
    ("John Smith", ("Smith", "John", "")),
    ("John Ronald Tolkien", ("Tolkien", "John", "Ronald")),
    ("Мадонна", ("", "Мадонна", "")),
    ("", ("", "", "")),
])
def test_full_names_are_split(text, expected):
    assert split_full_name(text) == expected


# --- the file's locale


def test_locale_from_the_file():
    assert guess_locale(headers=["Name", "Birthday"], date_samples=["03/15/1985"]).date_order == "MDY"
    assert guess_locale(headers=["Name", "Birthday"], date_samples=["15/03/1985"]).date_order == "DMY"
    assert guess_locale(headers=["Name", "Birthday"], date_samples=["05/03/1985"]).date_order == "MDY"
    assert guess_locale(headers=["Имя", "Дата рождения"], date_samples=["05/03/1985"]).date_order == "DMY"
    assert guess_locale(headers=["Name", "Birthday"], date_samples=["05.03.1985"]).date_order == "DMY"
    assert guess_locale(headers=["Имя"], delimiter=";").decimal_comma is True
    assert guess_locale(headers=["Name"], delimiter=",").decimal_comma is False
    assert guess_locale(headers=["Name"], number_samples=["1 234,50"]).decimal_comma is True


def test_any_cell_as_text():
    assert as_text(79161234567.0) == "79161234567"
    assert as_text(1.5) == "1.5"
    assert as_text(dt.datetime(2024, 1, 2)) == "2024-01-02"
    assert as_text(None) == ""
    assert as_text(True) == "1"
