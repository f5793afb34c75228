"""XLSX workbooks: one sheet (the first, or a chosen one), streamed by openpyxl in read-only mode.

Before openpyxl sees the file: the zip's entry count, unpacked size and packing ratios are checked
(`limits.check_zip`), and the archive must hold a workbook part. openpyxl parses XML through defusedxml when it
is installed (a dependency of this project; `check_defusedxml` refuses to run without it), so entity expansion
and external entities are refused ("unsafe_xml").

Formulas: the workbook is opened with data_only=True, so a formula cell gives the value Excel last calculated
and saved with it, never the formula text. A formula with no saved value (files written by programs that don't
calculate, e.g. a script using openpyxl) would read as an empty cell; instead the row gets an
"uncalculated_formula" error naming the cell, so nothing silently goes missing.
"""

import zipfile

from ..errors import DamagedFile, NotATable, RowIssue, SheetNotFound, UnsafeFile
from ..limits import check_zip
from .csv_reader import clean_header

UNCALCULATED = object()  # a formula cell without a saved value


def check_defusedxml():
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("XLSX import needs defusedxml (pip install defusedxml) and OPENPYXL_DEFUSEDXML "
                                   "not set to False: without it openpyxl parses untrusted XML unsafely.")


def _parser_class():
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        """openpyxl's streaming sheet parser, telling a formula without a saved value from an empty cell."""

        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                cell["value"] = UNCALCULATED
            return cell

    return Parser


def _caused_by(error, kind):
    while error is not None:
        if isinstance(error, kind):
            return True
        error = error.__cause__ or error.__context__
    return False


def _filled(value):
    return value is not None and (value.__class__ is not str or bool(value.strip()))


class XlsxReader:
    format = "xlsx"
    encoding = None
    delimiter = None

    def __init__(self, stream, *, sheet=None):
        check_defusedxml()
        self.stream = stream
        try:
            stream.seek(0)
            with zipfile.ZipFile(stream) as archive:
                check_zip(archive)
                if "xl/workbook.xml" not in archive.namelist():
                    raise NotATable("zip_not_xlsx")
        except zipfile.BadZipFile:
            raise DamagedFile() from None
        self.workbook = self._load()
        self.sheets = list(self.workbook.sheetnames)
        if not self.sheets:
            raise DamagedFile()
        if sheet in (None, ""):
            sheet = self.sheets[0]
        if sheet not in self.sheets:
            self.close()
            raise SheetNotFound(sheet=str(sheet)[:100], sheets=self.sheets)
        self.sheet = sheet
        self.header_row, self.headers = self._read_header()

    def _load(self):
        import openpyxl
        from defusedxml import DefusedXmlException

        self.stream.seek(0)
        try:
            return openpyxl.load_workbook(self.stream, read_only=True, data_only=True, keep_links=False)
        except (KeyError, ValueError, TypeError, IndexError, zipfile.BadZipFile, OSError, SyntaxError) as error:
            if _caused_by(error, DefusedXmlException):  # openpyxl wraps it in a ValueError
                raise UnsafeFile("unsafe_xml") from None
            raise DamagedFile() from None

    def close(self):
        if getattr(self, "workbook", None) is not None:
            self.workbook.close()
            self.workbook = None

    def _rows(self):
        """(excel row number, values) for every row the sheet stores, cells typed as openpyxl reads them."""
        from defusedxml import DefusedXmlException

        worksheet = self.workbook[self.sheet]
        parent = worksheet.parent
        parser_class = _parser_class()
        try:
            with worksheet._get_source() as source:
                parser = parser_class(source, worksheet._shared_strings, data_only=True, epoch=parent.epoch,
                                      date_formats=parent._date_formats,
                                      timedelta_formats=parent._timedelta_formats)
                for number, cells in parser.parse():
                    if not cells:
                        continue
                    values = [None] * cells[-1]["column"]
                    for cell in cells:
                        values[cell["column"] - 1] = cell["value"]
                    yield number, values
        except DefusedXmlException:
            raise UnsafeFile("unsafe_xml") from None
        except (SyntaxError, KeyError, IndexError, ValueError, zipfile.BadZipFile):  # XML ParseError is a SyntaxError
            raise DamagedFile() from None

    def _read_header(self):
        for number, values in self._rows():
            headers = [clean_header(value) if value not in (None, UNCALCULATED) else "" for value in values]
            while headers and not headers[-1]:
                headers.pop()
            if headers:
                return number, headers
        return None, []

    def records(self):
        from openpyxl.utils import get_column_letter

        width = len(self.headers)
        for number, values in self._rows():
            if number <= self.header_row or not any(_filled(value) for value in values):
                continue
            if len(values) < width:
                values.extend([None] * (width - len(values)))
            elif len(values) > width:
                del values[width:]
            issues = ()
            if UNCALCULATED in values:
                issues = tuple(
                    RowIssue(row=number, code="uncalculated_formula", column=self.headers[index] or None,
                             params={"cell": f"{get_column_letter(index + 1)}{number}"})
                    for index, value in enumerate(values) if value is UNCALCULATED
                )
                values = [None if value is UNCALCULATED else value for value in values]
            yield number, values, issues
