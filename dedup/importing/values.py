"""Typed values from cells as files write them.

Every parser takes the cell (a str from CSV/vCard; str, int, float, datetime or bool from XLSX) and returns the
value, None for an empty cell, or raises `BadValue(code, **params)` (a RowIssue code from errors.py). They are
called once per cell of a 1M-row file, so the common shapes take the short road.

Dates follow the file's `ValueLocale.date_order` ("DMY" 15.03.1985, "MDY" 03/15/1985, "YMD" 1985-03-15); ISO
dates, Excel serials and datetimes are read whatever the order. Numbers take a decimal comma or point, spaces,
no-break spaces or apostrophes between thousands, and a currency sign or code. `split_values` splits a cell
holding several values by the separators real exports use (Google's " ::: ", new lines, ";" and ","). Phones are
normalised exactly like `crm_site.normalize.normalize_phone` (tests/test_import_values.py checks the fast path
against phonenumbers).
"""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from django.conf import settings

from crm_site.normalize import e164_shortcut, normalize_email, normalize_url, parse_phone


class BadValue(ValueError):
    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class ValueLocale:
    """How the file writes dates and numbers; guessed by `guess_locale`, or chosen by the user."""

    date_order: str = "DMY"  # "DMY" | "MDY" | "YMD"
    decimal_comma: bool = True
    region: str = ""  # phone region for numbers without a country code; "" = settings.CRM_DEFAULT_REGION

    @property
    def phone_region(self):
        return (self.region or settings.CRM_DEFAULT_REGION).upper()


def as_text(value):
    """Any cell as text: whole floats lose their ".0" (phones and ids typed as numbers in Excel)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------
# Dates

_DATE = re.compile(r"^(\d{1,4})[./\-](\d{1,2})[./\-](\d{1,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                   r"\s*(?:Z|[+-]\d{2}:?\d{2}|[AaPp][Mm])?)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T.*)?$")  # vCard BDAY:19921221
_NO_YEAR = re.compile(r"^--(\d{2})-?(\d{2})$")  # vCard 4.0 BDAY:--1221
_EMPTY_DATES = {"0/0/00", "0/0/0000", "00.00.0000", "00.00.00", "0000-00-00", "-"}  # Outlook writes 0/0/00
EXCEL_EPOCH = dt.date(1899, 12, 30)
MAX_SERIAL = 2958465  # 9999-12-31


def parse_date(value, locale):
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_serial(value, value)
    text = value.strip()
    if not text or text in _EMPTY_DATES:
        return None
    match = _DATE.match(text)
    if match:
        first, second, third = match.groups()
        if len(first) == 4:
            year, month, day = int(first), int(second), int(third)
        else:
            a, b = int(first), int(second)
            order = locale.date_order
            if order == "MDY" and a > 12 >= b or order != "MDY" and b > 12 >= a:
                order = "DMY" if order == "MDY" else "MDY"  # 25/12 or 12/25: only one reading is a date
            day, month = (b, a) if order == "MDY" else (a, b)
            year = _full_year(third)
        return _date(year, month, day, text)
    match = _COMPACT_DATE.match(text)
    if match:
        return _date(int(match[1]), int(match[2]), int(match[3]), text)
    if _NO_YEAR.match(text):
        raise BadValue("date_without_year", value=text)
    try:
        return _from_serial(float(text.replace(",", ".")), text)
    except ValueError:
        raise BadValue("bad_date", value=text[:100]) from None


def _full_year(text):
    year = int(text)
    if len(text) <= 2:
        this_year = dt.date.today().year % 100
        year += 2000 if year <= this_year else 1900  # 15.03.85 is 1985, 31.12.24 is 2024
    return year


def _date(year, month, day, text):
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise BadValue("bad_date", value=text[:100]) from None


def _from_serial(number, shown):
    if not 1 <= number <= MAX_SERIAL:
        raise BadValue("bad_date", value=str(shown)[:100])
    return EXCEL_EPOCH + dt.timedelta(days=int(number))


# ---------------------------------------------------------------------------
# Numbers

_CURRENCY = re.compile(r"[₽$€£¥₴₸₼₾]|\b(?:руб|грн|р|тг|rub|rur|usd|eur|uah|kzt|byn|gbp)\b\.?", re.IGNORECASE)
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\u2007'’`")
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(?:,\d{3}){2,}(?:\.\d+)?$|^\d{1,3}(?:,\d{3})+\.\d+$")


def parse_decimal(value, locale, *, max_digits=None, decimal_places=None, positive=False):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadValue("bad_number", value=str(value))
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        number = _text_decimal(value.strip(), locale)
        if number is None:
            return None
    return _check_number(number, value, max_digits=max_digits, decimal_places=decimal_places, positive=positive)


def _text_decimal(text, locale):
    if not text:
        return None
    shown = text
    if "\u2212" in text:
        text = text.replace("\u2212", "-")  # the minus sign
    negative = text.startswith("(") and text.endswith(")")  # accounting: (1 200)
    if negative:
        text = text[1:-1]
    text = _CURRENCY.sub("", text).translate(_SPACES)
    if not text:
        raise BadValue("bad_number", value=shown[:100])
    comma, dot = text.rfind(","), text.rfind(".")
    if comma >= 0 and dot >= 0:
        if comma > dot:  # 1.234,56
            text = text.replace(".", "").replace(",", ".")
        else:  # 1,234.56
            text = text.replace(",", "")
    elif comma >= 0:
        if not locale.decimal_comma and re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", text) or _THOUSANDS_COMMA.match(text):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    elif text.count(".") > 1 and re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+", text):  # 1.234.567
        text = text.replace(".", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise BadValue("bad_number", value=shown[:100]) from None
    if not number.is_finite():
        raise BadValue("bad_number", value=shown[:100])
    return -number if negative else number


def _check_number(number, shown, *, max_digits, decimal_places, positive):
    if positive and number < 0:
        raise BadValue("negative", value=as_text(shown)[:100])
    if decimal_places is not None:
        number = number.quantize(Decimal(1).scaleb(-decimal_places), rounding=ROUND_HALF_UP)
        if max_digits is not None and len(number.as_tuple().digits) > max_digits:
            raise BadValue("too_many_digits", value=as_text(shown)[:100])
    return number


def parse_integer(value, locale, *, positive=False, maximum=2**31 - 1):
    number = parse_decimal(value, locale, positive=positive)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise BadValue("bad_integer", value=as_text(value)[:100])
    if abs(number) > maximum:
        raise BadValue("too_many_digits", value=as_text(value)[:100])
    return int(number)


# ---------------------------------------------------------------------------
# Yes / no in English, Russian and Ukrainian (Bitrix24 writes Y/N, Excel TRUE/FALSE or ИСТИНА/ЛОЖЬ)

YES = frozenset({"1", "y", "yes", "true", "t", "on", "+", "x", "✓", "✔", "да", "д", "истина", "вкл", "так", "т",
                 "правда", "увімк"})
NO = frozenset({"0", "n", "no", "false", "f", "off", "-", "нет", "н", "ложь", "выкл", "ні", "неправда", "хиба",
                "вимк"})


def parse_bool(value, locale=None):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
        raise BadValue("bad_bool", value=as_text(value))
    text = value.strip().casefold().rstrip(".")
    if not text:
        return None
    if text in YES:
        return True
    if text in NO:
        return False
    raise BadValue("bad_bool", value=value.strip()[:100])


# ---------------------------------------------------------------------------
# Cells holding several values

_GOOGLE_SEPARATOR = " ::: "
_SPLIT = {
    "phone": re.compile(r"[\n;,]+"),
    "email": re.compile(r"[\n;,]+"),  # and spaces, when the part holds several addresses (below)
    "tag": re.compile(r"[\n;,]+"),
    "name": re.compile(r"[\n;]+"),  # company and person names may hold commas
    "web": re.compile(r"[\n;,\s]+"),
}


_ANY_SEPARATOR = {kind: re.compile(pattern.pattern.replace("]+", ":]")) for kind, pattern in _SPLIT.items()}


def split_values(value, kind="tag"):
    """The values of a multi-value cell, stripped, empty ones dropped, in file order."""
    text = value if value.__class__ is str else as_text(value)
    if not _ANY_SEPARATOR[kind].search(text) and (kind != "email" or text.count("@") < 2):  # one value
        text = text.strip()
        return [text] if text else []
    parts = text.split(":::") if _GOOGLE_SEPARATOR in text or text.count(":::") else [text]
    pattern = _SPLIT[kind]
    values = []
    for part in parts:
        for item in pattern.split(part):
            item = item.strip()
            if not item:
                continue
            if kind == "email" and item.count("@") > 1:
                values.extend(item.split())
                continue
            if kind == "phone" and values and sum(ch.isdigit() for ch in item) < 5:
                values[-1] = f"{values[-1]}, {item}"  # "…-67, доб. 12": an extension, not a number of its own
                continue
            values.append(item)
    return values


# ---------------------------------------------------------------------------
# Phones and emails

def normalize_phone(value, region):
    """E.164 (`+74951234567`), or None when `value` is not a phone number.

    The shapes nearly every Russian and Ukrainian file uses (+7 / 8 / 7 and ten digits, +380 / 0 and nine) are
    mapped directly (crm_site.normalize.e164_shortcut); anything else (other countries, extensions, letters)
    goes through phonenumbers, cached."""
    quick = e164_shortcut(value, region)
    if quick is not None:
        return quick
    match = _EXTENSION.search(value) if ("доб" in value or "xt" in value or "XT" in value) else None
    if match and match.start():
        base = normalize_phone(value[: match.start()], region)  # the number without "доб. 12": same E.164
        if base is not None:
            return base
    return _slow_phone(value, region)


# Extensions phonenumbers reads too ("доб. 12", "ext 5"; it drops them from E.164, and so do we).
_EXTENSION = re.compile(r"[\s,]*(?:доб|ext)\.?\s*\d{1,6}\s*$", re.IGNORECASE)


@lru_cache(maxsize=100_000)
def _slow_phone(value, region):
    import phonenumbers

    number = parse_phone(value, region)
    if number is None:
        return None
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\.]{2,}$")
_EMAIL_IN_BRACKETS = re.compile(r"<([^<>]+)>\s*$")


def clean_email(value):
    """(address, normalised) or None: "Иван <ivan@example.ru>" and "mailto:" forms are taken apart."""
    text = value.strip()
    if text.endswith(">"):
        match = _EMAIL_IN_BRACKETS.search(text)
        if match:
            text = match.group(1).strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    if not _EMAIL.match(text) or not _service_accepts("email", text):
        return None
    return text, normalize_email(text)


def clean_url(value):
    """(address, normalised) or None when the write service would refuse it (so the preview says so)."""
    text = value.strip()
    if not _service_accepts("web", text):
        return None
    return text, normalize_url(text)


def _service_accepts(channel, text):
    """The write service's own check of a phone/email/web value (crm_site.channels): a value the preview
    takes must not make the apply refuse the whole row ("иван@пример.рф" looks like an address to a regex)."""
    from django.core.exceptions import ValidationError

    from crm_site.channels import clean_channel_value

    try:
        clean_channel_value(channel, text)
    except ValidationError:
        return False
    return True


# ---------------------------------------------------------------------------
# The file's locale

_SLASH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{2,4}\b")
_DOT_OR_DASH_DATE = re.compile(r"^\s*(\d{1,2})[.\-](\d{1,2})[.\-]\d{2,4}\b")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def guess_locale(*, headers, date_samples=(), number_samples=(), delimiter=None, region=""):
    """Date order and decimal separator from the file itself: a day over 12 settles the date order; otherwise
    slashes in a file with English headers mean month first (US Outlook, Google), dots or dashes day first. A
    ";"-separated file or Cyrillic headers mean a decimal comma (Russian and Ukrainian Excel)."""
    cyrillic = any(_CYRILLIC.search(str(header)) for header in headers)
    day_first = month_first = 0
    slashes = dots = 0
    for value in date_samples:
        if not isinstance(value, str):
            continue
        match = _SLASH_DATE.match(value)
        if match:
            slashes += 1
        else:
            match = _DOT_OR_DASH_DATE.match(value)
            dots += bool(match)
        if match:
            first, second = int(match[1]), int(match[2])
            day_first += first > 12
            month_first += second > 12
    if day_first != month_first:
        date_order = "DMY" if day_first > month_first else "MDY"
    elif slashes > dots and not cyrillic:
        date_order = "MDY"
    else:
        date_order = "DMY"
    decimal_comma = delimiter == ";" or cyrillic
    commas = points = 0
    for value in number_samples:
        if isinstance(value, str):
            text = value.translate(_SPACES)
            if re.search(r"\d,\d{1,2}$", text):
                commas += 1
            elif re.search(r"\d\.\d{1,2}$", text):
                points += 1
    if commas != points:
        decimal_comma = commas > points
    return ValueLocale(date_order=date_order, decimal_comma=decimal_comma, region=region)
