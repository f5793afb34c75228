"""Writers of exported rows: CSV (streamed) and XLSX (typed cells), both formula-safe.

Formula safety (OWASP CSV injection, ASVS 5.0 1.2.10): a text value starting with = + - @ tab or CR gets a
leading apostrophe, so a spreadsheet shows it as text instead of running it. In XLSX a value made only of digits,
spaces and + - ( ) . ; (a phone, a list of phones, a number) is left alone: it names no function, and an
apostrophe would spoil every phone. In CSV it is escaped too: Excel would evaluate "+7 495 …" typed into a cell.
"""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import get_language

from .validation import CONTROL_CHARS, clean_text

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
# First characters a text must have to need formula_safe() in CSV: the formula starts and the control characters
# clean_text() removes (after which a formula start may come first).
_SUSPECT_START = frozenset(DANGEROUS_START) | {chr(code) for code in range(128) if CONTROL_CHARS.match(chr(code))}
_PLAIN_NUMBER = re.compile(r"[0-9 +\-().;]+")
BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only with it
CSV_ROWS_PER_WRITE = 500
XLSX_MAX_TEXT = 32_767  # characters in one Excel cell
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def formula_safe(text, *, keep_numbers=False):
    """`text` as a spreadsheet shows it as text: control characters removed first (a leading "\x01=" would
    otherwise pass the check and become "=" once the spreadsheet or openpyxl drops the control), then the check."""
    text = clean_text(text)
    if text.startswith(DANGEROUS_START) and not (keep_numbers and _PLAIN_NUMBER.fullmatch(text)):
        return "'" + text
    return text


def uses_decimal_comma(language=None):
    """Russian and Ukrainian Excel: decimal comma, hence ";" between CSV fields (their list separator)."""
    language = (language or get_language() or "").split("-")[0].lower()
    return language in ("ru", "uk")


def csv_delimiter(language=None):
    return ";" if uses_decimal_comma(language) else ","


# ---------------------------------------------------------------------------
# CSV


def csv_text(value, *, decimal_comma=False):
    """A typed value as CSV text: dates in ISO 8601, numbers with the separator the reader's Excel expects."""
    if value is None:
        return ""
    if isinstance(value, str):
        return formula_safe(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, float)):
        text = format(value, "f")
        return text.replace(".", ",") if decimal_comma else text
    return str(value)  # int: a number cannot call a function


def csv_cell_function(decimal_comma):
    """The function (typed value) -> what csv_chunks hands the CSV writer: csv_text()'s cell, made faster for the
    common case. A text not starting with a control character or a formula start cannot become a formula once
    cleaned, so only those few go through formula_safe(); the others' control characters are removed from each
    written block at once (the writer adds none of its own, and they decide no quoting). None, ints and those
    texts go to the writer as they are."""

    def cell(value):
        kind = value.__class__
        if kind is str:
            return formula_safe(value) if value and value[0] in _SUSPECT_START else value
        if value is None or kind is int:
            return value
        return csv_text(value, decimal_comma=decimal_comma)

    return cell


def _csv_writer(header, decimal_comma):
    """(writer, buffer, the first chunk: BOM and header)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if decimal_comma else ",", lineterminator="\r\n")
    writer.writerow([formula_safe(str(label)) for label in header])
    first = (BOM + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return writer, buffer, first


def _block(buffer):
    text = CONTROL_CHARS.sub("", buffer.getvalue())
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")


def csv_chunks(*, header, rows, language=None):
    """The CSV file as chunks of UTF-8 bytes (BOM first), for a StreamingHttpResponse; the cells are
    csv_cell_function()'s (csv_text() with formula safety)."""
    decimal_comma = uses_decimal_comma(language)
    writer, buffer, first = _csv_writer(header, decimal_comma)
    yield first
    cell = csv_cell_function(decimal_comma)
    writerow = writer.writerow
    for number, row in enumerate(rows, 1):
        writerow(map(cell, row))
        if number % CSV_ROWS_PER_WRITE == 0:
            yield _block(buffer)
    if buffer.tell():
        yield _block(buffer)


def csv_ready_chunks(*, header, blocks, language=None):
    """csv_chunks() of rows whose cells are already what csv_cell_function() makes of them (texts, ints, None):
    `blocks` gives lists of such rows (the database's CSV cells, `export_sql`); one chunk per block."""
    writer, buffer, first = _csv_writer(header, uses_decimal_comma(language))
    yield first
    writerows = writer.writerows
    for rows in blocks:
        writerows(rows)
        if buffer.tell():
            yield _block(buffer)


# ---------------------------------------------------------------------------
# XLSX


def xlsx_value(value):
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", formula_safe(value, keep_numbers=True))[:XLSX_MAX_TEXT]
    return value  # numbers, dates and datetimes become typed cells


def write_xlsx(*, header, rows, file, title="Export"):
    """Write an XLSX workbook (openpyxl write-only: constant memory) to `file`, a path or a binary file."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\\/*?:\[\]]", " ", str(title))[:31] or "Export")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=xlsx_value(str(label)))
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        sheet.append([xlsx_value(value) for value in row])
    workbook.save(file)


# ---------------------------------------------------------------------------
# vCard 3.0 (RFC 2426)

VCARD_CONTENT_TYPE = "text/vcard; charset=utf-8"


def _vcard_escape(text):
    return (str(text).replace("\\", "\\\\").replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
            .replace(",", "\\,").replace(";", "\\;"))


def _vcard_fold(line):
    """Lines of at most 75 octets, continued with CRLF + space (RFC 2425 5.8.1), never splitting a character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line + "\r\n"
    parts, current, size, limit = [], "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # the continuation's leading space counts
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts) + "\r\n"


def vcard_text(values, *, kind, custom=(), separator="; "):
    """One vCard 3.0 from {column name: typed value} (the export's columns). `custom`: [(label, name)] of the
    custom field columns, written as X-CRM- properties with the field's label as a parameter-free note."""
    def value(name):
        item = values.get(name)
        return "" if item is None else str(item)

    def many(name):
        return [part for part in value(name).split(separator) if part.strip()]

    lines = ["BEGIN:VCARD", "VERSION:3.0"]
    if kind == "person":
        last, first, middle = value("last_name"), value("first_name"), value("middle_name")
        full = " ".join(part for part in (last, first, middle) if part) or value("full_name") or "?"
        lines.append("N:" + ";".join(_vcard_escape(part) for part in (last, first, middle, "", "")))
        lines.append("FN:" + _vcard_escape(full))
        companies = many("companies")
        if companies:
            lines.append("ORG:" + _vcard_escape(companies[0]))
        if value("position"):
            lines.append("TITLE:" + _vcard_escape(value("position")))
        birthday = values.get("birthday")
        if isinstance(birthday, date):
            lines.append("BDAY:" + birthday.isoformat())
    else:
        name = value("name") or value("title") or "?"
        lines.append("N:" + _vcard_escape(name) + ";;;;")
        lines.append("FN:" + _vcard_escape(name))
        lines.append("ORG:" + _vcard_escape(name))
        lines.append("X-ABSHOWAS:COMPANY")
    for phone in many("phone"):
        lines.append("TEL;TYPE=VOICE:" + _vcard_escape(phone))
    for email in many("email"):
        lines.append("EMAIL;TYPE=INTERNET:" + _vcard_escape(email))
    for url in many("web"):
        lines.append("URL:" + _vcard_escape(url))
    for handle in many("messenger"):
        lines.append("X-MESSENGER:" + _vcard_escape(handle))
    address = value("address") or value("legal_address") or value("actual_address")
    if address:
        lines.append("ADR;TYPE=WORK:;;" + _vcard_escape(address) + ";;;;")
    notes = [value("comment")] if value("comment") else []
    for label, name in custom:
        item = values.get(name)
        if item is None or item == "":
            continue
        shown = item.isoformat() if isinstance(item, (date, datetime)) else format(item, "f") \
            if isinstance(item, Decimal) else str(item)
        notes.append(f"{label}: {shown}")
        prop = "X-CRM-" + re.sub(r"[^A-Za-z0-9-]", "-", name.removeprefix("cf_")).upper()
        lines.append(prop + ":" + _vcard_escape(shown))
    if notes:
        lines.append("NOTE:" + _vcard_escape("\n".join(notes)))
    if values.get("id") is not None:
        lines.append("UID:crm-" + _vcard_escape(values["id"]))
    lines.append("END:VCARD")
    return "".join(_vcard_fold(line) for line in lines)


def vcard_chunks(*, columns, rows, kind):
    """The vCard file as chunks of UTF-8 bytes: one card per row, written as the rows arrive (flat memory)."""
    names = [column.name for column in columns]
    custom = [(str(column.label), column.name) for column in columns if column.kind == "custom"]
    buffer = []
    for number, row in enumerate(rows, 1):
        buffer.append(vcard_text(dict(zip(names, row, strict=True)), kind=kind, custom=custom))
        if number % CSV_ROWS_PER_WRITE == 0:
            yield "".join(buffer).encode("utf-8")
            buffer = []
    if buffer:
        yield "".join(buffer).encode("utf-8")
