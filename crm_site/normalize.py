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
    number = parse_phone(value, region)
    if number is None:
        digits = re.sub(r"\D", "", value or "")
        return digits
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
