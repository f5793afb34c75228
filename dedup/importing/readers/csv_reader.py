"""CSV (and tab-separated "Unicode text") in any encoding, streamed through the csv module."""

import csv
import io
import itertools

from ..detection import decode_sample, detect_delimiter, detect_encoding, read_sample, read_tail
from ..errors import WARNING, EmptyFile, EncodingProblem, ImportFileError, NotATable, RowIssue

MAX_HEADER = 120  # characters; Bitrix24's longest column titles are about 45
# A cell longer than csv.field_size_limit() (128 KB) is a quote left open, swallowing the rows after it.


def clean_header(value):
    return " ".join(str(value).replace("\ufeff", "").replace("\xa0", " ").split())


class CsvReader:
    format = "csv"

    def __init__(self, stream, *, encoding=None, delimiter=None):
        self.stream = stream
        sample = read_sample(stream)
        self.encoding = encoding or detect_encoding(sample, read_tail(stream))
        text = decode_sample(sample, self.encoding)
        if not text.strip(" \t\r\n,;|\ufeff"):
            raise EmptyFile()  # nothing but separators
        if delimiter is None:
            delimiter = detect_delimiter(text)
            if delimiter is None:
                if _looks_like_prose(text):
                    raise NotATable()
                delimiter = ","  # a single column (a list of emails or phones)
        self.delimiter = delimiter
        self.header_row, self.headers = self._read_header()
        if any(len(header) > MAX_HEADER for header in self.headers):
            raise NotATable()  # a sentence, not a column label: a letter or a report saved as .csv

    def _text(self):
        self.stream.seek(0)
        wrapper = io.TextIOWrapper(self.stream, encoding=self.encoding, errors="strict", newline="")
        return wrapper

    def _reader(self, text):
        return csv.reader(text, delimiter=self.delimiter, quotechar='"', doublequote=True, skipinitialspace=False,
                          strict=False)

    def _read_header(self):
        for number, row in self._raw_records():
            if any(cell.strip() for cell in row):
                headers = [clean_header(cell) for cell in row]
                while headers and not headers[-1]:
                    headers.pop()
                return number, headers
        return None, []

    def _raw_records(self):
        """(record number, cells) for every record, blank ones included; the header is record 1."""
        text = self._text()
        reader = self._reader(text)
        number = previous_line = start_line = 0
        spans_lines = False
        try:
            for number, row in enumerate(reader, start=1):  # noqa: B007 (number is used after the loop)
                start_line, previous_line = previous_line, reader.line_num
                spans_lines = previous_line - start_line > 1
                yield number, row
        except UnicodeDecodeError:
            raise EncodingProblem(encoding=self.encoding, row=number + 1) from None
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise ImportFileError("unclosed_quote", row=number + 1) from None
            raise ImportFileError("bad_csv", row=number + 1, reason=str(error)[:200]) from None
        finally:
            text.detach()  # leave the caller's stream open
        if spans_lines:
            self._check_closed(start_line)

    def _check_closed(self, start_line):
        """The last record spans lines: read it again strictly, which fails when its quote never closes (the
        lenient reader silently swallows the rest of the file into one cell)."""
        text = self._text()
        try:
            lines = itertools.islice(text, start_line, None)
            try:
                for _row in csv.reader(lines, delimiter=self.delimiter, strict=True):
                    pass
            except csv.Error as error:
                if "unexpected end of data" in str(error):
                    raise ImportFileError("unclosed_quote", row=self._record_number_at(start_line)) from None
        finally:
            text.detach()

    def _record_number_at(self, line):
        text = self._text()
        try:
            reader = self._reader(text)
            for number, _row in enumerate(reader, start=1):
                if reader.line_num > line:
                    return number
            return 1
        finally:
            text.detach()

    def records(self):
        """(record number, cells, issues) of the data rows; blank rows are skipped."""
        width = len(self.headers)
        for number, row in self._raw_records():
            if number <= self.header_row or not "".join(row).strip():
                continue
            issues = ()
            if len(row) != width:
                if len(row) > width:
                    if any(cell.strip() for cell in row[width:]):
                        issues = (RowIssue(row=number, code="extra_cells", level=WARNING),)
                    row = row[:width]
                else:
                    row = row + [""] * (width - len(row))
            yield number, row, issues


def _looks_like_prose(text):
    """A one-column file is fine for a list of phones or emails; long lines or markup are not a table."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return False
    start = lines[0].lstrip().lower()
    if start.startswith(("<", "{", "[", "%pdf")):
        return True
    return sum(len(line) for line in lines) / len(lines) > 120
