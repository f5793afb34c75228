"""Normalising what people type, so that search and duplicate detection compare like with like."""

import functools
import re

import phonenumbers
from django.conf import settings


def parse_phone(value, region=None):
    """Parse a phone as typed (`8 (495) 123-45-67`, `+380 44 …`); None when it is not a phone number."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region or settings.CRM_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return number


def normalize_phone(value, region=None):
    """E.164 without the extension (`+74951234567`); digits only when the value cannot be parsed."""
    quick = e164_shortcut(value or "", region or settings.CRM_DEFAULT_REGION)
    if quick is not None:
        return quick
    number = parse_phone(value, region)
    if number is None:
        digits = re.sub(r"\D", "", value or "")
        return digits
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_phone(value, region=None):
    """Is `value` a phone number (as parse_phone judges it)? The common shapes without parsing."""
    return e164_shortcut((value or "").strip(), region or settings.CRM_DEFAULT_REGION) is not None or \
        parse_phone(value, region) is not None


_PHONE_PUNCTUATION = str.maketrans("", "", " -().\u00a0\u2009\u202f\u2010\u2011\u2012\u2013\u2014/")
_NATIONAL_START = {"7": "3489", "380": "3456789"}  # leading national digits the shortcut takes (RU, UA)


def e164_shortcut(value, region):
    """E.164 of the shapes nearly every Russian and Ukrainian phone is written in (+7 / 8 / 7 and ten digits,
    +380 / 0 and nine), without phonenumbers (~30x faster, the same result); None for any other shape."""
    compact = value.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")  # faster than translate
    digits = compact[1:] if compact[:1] == "+" else compact
    if not digits.isdigit():
        compact = compact.translate(_PHONE_PUNCTUATION)  # no-break spaces, dots, dashes of other lengths
        digits = compact[1:] if compact[:1] == "+" else compact
    if not (digits.isdigit() and digits.isascii()):
        return None
    length = len(digits)
    if compact[0] == "+":
        if length == 11 and digits[0] == "7" and digits[1] in _NATIONAL_START["7"]:
            return compact
        if length == 12 and digits.startswith("380") and digits[3] in _NATIONAL_START["380"]:
            return compact
    elif region == "RU":
        if length == 11 and digits[0] in "78" and digits[1] in _NATIONAL_START["7"]:
            return "+7" + digits[1:]
        if length == 10 and digits[0] in "349":  # not 8: phonenumbers reads "8…" as the trunk prefix
            return "+7" + digits
    elif region == "UA":
        if length == 10 and digits[0] == "0" and digits[1] in _NATIONAL_START["380"]:
            return "+380" + digits[1:]
        if length == 12 and digits.startswith("380") and digits[3] in _NATIONAL_START["380"]:
            return "+" + digits
    return None


def format_phone(value, region=None):
    """International display format, e.g. `+7 495 123-45-67`; the input unchanged when unparseable."""
    if not value:
        return value
    return _format_phone(value, region or settings.CRM_DEFAULT_REGION)


@functools.lru_cache(maxsize=4096)
def _format_phone(value, region):
    # Parsing is the costly part of a list page's phone column (about 0.2 ms a number): the same numbers are
    # shown again and again, and the result depends only on the text and the region.
    number = parse_phone(value, region)
    if number is None:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_email(value):
    return (value or "").strip().casefold()


def normalize_url(value):
    value = (value or "").strip()
    return re.sub(r"^(https?://)?(www\.)?", "", value.casefold()).rstrip("/")


def phone_digits(value):
    return re.sub(r"\D", "", value or "")
