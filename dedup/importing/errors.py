"""What can go wrong with an import file, in words a user understands.

Two kinds:
- `ImportFileError` (and its subclasses): the file as a whole can't be read. Raised before a single row is
  produced, or, for limits only known while reading (the row count, a broken quote), as soon as it is found;
  the caller stages rows in a transaction, so nothing is written either way.
- `RowIssue`: one row (or one cell) has a problem; the other rows go on. Errors keep their row out of the
  import, warnings keep the row and explain what was left out. Phase B's preview and report list them.

Both carry a `code` and plain `params` (JSON-friendly, so a staging table can store them) and render their
message in the language active when `.message` is read.
"""

from dataclasses import dataclass, field

from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

# ---------------------------------------------------------------------------
# File errors

FILE_MESSAGES = {
    "empty": _("The file is empty."),
    "too_large": _("The file is %(size)s; the largest file you can import is %(limit)s."),
    "too_many_rows": _("The file has more than %(limit)s rows; split it into smaller files and import them one by "
                       "one."),
    "header_only": _("The file has column headers but no rows to import."),
    "binary": _("This is not a CSV, XLSX or vCard file (it holds binary data)."),
    "not_a_table": _("This doesn't look like a table: no column separator (comma, semicolon or tab) was found."),
    "unknown_format": _("Unknown file format “%(format)s”; choose CSV, XLSX or vCard."),
    "unknown_encoding": _("Unknown encoding “%(encoding)s”."),
    "decode_error": _("The file can't be read as %(encoding)s (unreadable characters near row %(row)s); choose "
                      "its encoding and try again."),
    "bad_csv": _("Row %(row)s can't be read: %(reason)s."),
    "bad_delimiter": _("The column separator must be one character."),
    "unclosed_quote": _("Row %(row)s starts a quoted cell that never ends: check the quotes in that row."),
    "xls": _("Old Excel files (.xls) can't be imported: save the file as .xlsx or CSV and try again."),
    "zip_not_xlsx": _("This archive is not an Excel workbook."),
    "zip_entries": _("The workbook holds %(count)s parts, more than the %(limit)s allowed."),
    "zip_size": _("The workbook unpacks to more than %(limit)s; it can't be imported safely."),
    "zip_ratio": _("The workbook is packed suspiciously tightly (part “%(entry)s”); it can't be imported safely."),
    "unsafe_xml": _("The workbook contains XML constructs that are not allowed (entities or a DTD)."),
    "corrupt_xlsx": _("The workbook is damaged and can't be read."),
    "sheet_not_found": _("There is no sheet “%(sheet)s”; the workbook has: %(sheets)s."),
    "no_cards": _("No contact cards (BEGIN:VCARD … END:VCARD) were found in the file."),
}


class ImportFileError(Exception):
    """The file can't be imported; `message` says why, `code` and `params` say it to a program."""

    code = "file"

    def __init__(self, code=None, **params):
        self.code = code or self.code
        self.params = params
        super().__init__(self.code)

    @property
    def message(self):
        return str(FILE_MESSAGES[self.code] % _display(self.code, self.params))

    def __str__(self):
        return self.message

    def as_json(self):
        return {"code": self.code, "params": self.params}


class FileTooLarge(ImportFileError):
    code = "too_large"


class TooManyRows(ImportFileError):
    code = "too_many_rows"


class EmptyFile(ImportFileError):
    code = "empty"


class HeaderOnly(ImportFileError):
    code = "header_only"


class NotATable(ImportFileError):
    """Binary junk, a file that isn't a table, or a format we don't read."""

    code = "not_a_table"


class EncodingProblem(ImportFileError):
    code = "decode_error"


class UnsafeFile(ImportFileError):
    """A zip bomb, or XML with entities/DTD: refused before parsing."""

    code = "zip_size"


class DamagedFile(ImportFileError):
    code = "corrupt_xlsx"


class SheetNotFound(ImportFileError):
    code = "sheet_not_found"


# Parameters that are sizes in bytes (shown as "50.0 MB"); other whole numbers get thousands separators.
BYTE_PARAMS = {"too_large": ("size", "limit"), "zip_size": ("limit",)}


def _display(code, params):
    shown = dict(params)
    for key, value in params.items():
        if isinstance(value, bool):
            continue
        if key in BYTE_PARAMS.get(code, ()):
            shown[key] = filesizeformat(value)
        elif isinstance(value, int):
            shown[key] = number_format(value, force_grouping=True)
        elif isinstance(value, (list, tuple)):
            shown[key] = ", ".join(str(item) for item in value)
    return shown


# ---------------------------------------------------------------------------
# Row issues

ERROR = "error"
WARNING = "warning"

ROW_MESSAGES = {
    "bad_date": _("“%(value)s” is not a date."),
    "date_without_year": _("“%(value)s” has no year; left out."),
    "bad_number": _("“%(value)s” is not a number."),
    "bad_integer": _("“%(value)s” is not a whole number."),
    "negative": _("“%(value)s” must not be negative."),
    "too_many_digits": _("“%(value)s” has too many digits."),
    "bad_bool": _("“%(value)s” is neither yes nor no."),
    "too_long": _("The value is longer than %(limit)s characters."),
    "not_phone": _("“%(value)s” is not a phone number; left out."),
    "not_email": _("“%(value)s” is not an email address; left out."),
    "not_url": _("“%(value)s” is not a web address; left out."),
    "unknown_choice": _("“%(value)s” is not one of the choices for “%(field)s”."),
    "unknown_value": _("“%(value)s” is not in the list of “%(field)s”."),
    "ambiguous_value": _("“%(value)s” matches several entries of “%(field)s”."),
    "unknown_user": _("There is no user “%(value)s”."),
    "ambiguous_user": _("“%(value)s” matches several users."),
    "uncalculated_formula": _("Cell %(cell)s holds a formula that was never calculated (the file was not saved by a "
                              "spreadsheet program): open the file in Excel or LibreOffice, save it and try again."),
    "extra_cells": _("The row has more cells than there are columns; the extra cells are ignored."),
    "broken_card": _("The card starting on line %(line)s can't be read (%(reason)s)."),
    "unclosed_card": _("The card starting on line %(line)s has no END:VCARD."),
    "custom": "%(message)s",  # a custom field's own, already translated message
}


@dataclass(frozen=True, slots=True)
class RowIssue:
    """One problem of one row. `row` is the row number as a spreadsheet shows it (the header is row 1; for a
    vCard file, the card's number), `line` the line in the file where useful (vCard), `column` the header."""

    row: int
    code: str
    params: dict = field(default_factory=dict)
    column: str | None = None
    level: str = ERROR
    line: int | None = None

    @property
    def message(self):
        return str(ROW_MESSAGES[self.code] % self.params)

    @property
    def is_error(self):
        return self.level == ERROR

    def as_json(self):
        data = {"row": self.row, "code": self.code, "params": self.params, "level": self.level}
        if self.column is not None:
            data["column"] = self.column
        if self.line is not None:
            data["line"] = self.line
        return data

    @classmethod
    def from_json(cls, data):
        return cls(row=data["row"], code=data["code"], params=data.get("params", {}), column=data.get("column"),
                   level=data.get("level", ERROR), line=data.get("line"))
