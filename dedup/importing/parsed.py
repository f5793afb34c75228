"""Opening an import file: `open_import_file()` checks it and returns a `ParsedFile`, whose `rows()` streams the
data rows as `RawRow(number, values, issues)`.

    with open_import_file(upload, name=upload.name) as parsed:
        parsed.format, parsed.encoding, parsed.delimiter, parsed.sheets, parsed.headers
        for row in parsed.rows():
            ...

`source` is anything holding the bytes: a seekable binary file object (an uploaded file, Django storage's
`open(name, "rb")`), a path, or bytes. Checks made before any row is produced: the file's size, its format
(binary junk, old .xls, archives that aren't workbooks are refused), the zip bomb checks for XLSX, the header,
and that at least one data row exists. The row limit is checked while reading: `rows()` raises TooManyRows on
the first row over it (the caller stages rows in a transaction, so nothing is written).
"""

import io
import os
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

from . import detection
from .errors import EmptyFile, HeaderOnly, ImportFileError
from .limits import check_file_size, check_row_count, file_size, max_rows
from .readers.csv_reader import CsvReader
from .readers.vcard_reader import VCardReader
from .readers.xlsx_reader import XlsxReader


class RawRow(NamedTuple):
    number: int  # as a spreadsheet numbers rows (the header is 1); a vCard's position in the file
    values: list  # one per header; str for CSV and vCard, typed (str, int, float, datetime, bool, None) for XLSX
    issues: tuple  # RowIssue for this row found while reading (a broken card, an uncalculated formula...)


@dataclass
class ParsedFile:
    format: str  # "csv" | "xlsx" | "vcard"
    name: str
    size: int
    headers: list
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list = field(default_factory=list)
    reader: object = None
    _close: object = None

    def rows(self):
        """The data rows, streamed; the readers skip blank rows (their numbers are not reused)."""
        limit = max_rows()
        count = 0
        for record in self.reader.records():
            count += 1
            if count > limit:
                check_row_count(count)
            yield RawRow._make(record)

    def sample(self, size=20):
        """The first rows, e.g. to show next to the column mapping and to guess date formats."""
        return list(islice(self.rows(), size))

    def close(self):
        if hasattr(self.reader, "close"):
            self.reader.close()
        if self._close:
            self._close()
            self._close = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_import_file(source, *, name="", file_format=None, encoding=None, delimiter=None, sheet=None):
    """Check and open an import file. `file_format`, `encoding`, `delimiter` and `sheet` override the guesses
    (the wizard's choices); raises an ImportFileError subclass with a user-facing message when the file can't be
    imported."""
    stream, close = _binary_stream(source)
    reader = None
    try:
        name = name or (source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "")) or ""
        name = os.path.basename(str(name))
        size = file_size(stream)
        check_file_size(size)
        sample = detection.read_sample(stream)
        if not sample.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
            raise EmptyFile()  # nothing but whitespace or a byte order mark
        file_format = detection.normalise_format(file_format) or detection.detect_format(sample, name)
        if encoding:
            encoding = detection.check_encoding_name(encoding)
        if delimiter is not None:
            delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter)
            if len(delimiter) != 1:
                raise ImportFileError("bad_delimiter")
        if file_format == detection.XLSX:
            reader = XlsxReader(stream, sheet=sheet)
        elif file_format == detection.VCARD:
            reader = VCardReader(stream, encoding=encoding)
        else:
            reader = CsvReader(stream, encoding=encoding, delimiter=delimiter)
        parsed = ParsedFile(format=file_format, name=name, size=size, headers=reader.headers,
                            encoding=getattr(reader, "encoding", None), delimiter=getattr(reader, "delimiter", None),
                            sheet=getattr(reader, "sheet", None), sheets=getattr(reader, "sheets", []),
                            reader=reader, _close=close)
        if not reader.headers:
            raise EmptyFile()  # only blank rows
        if not parsed.sample(1):
            raise HeaderOnly()
        return parsed
    except BaseException:
        if hasattr(reader, "close"):
            reader.close()
        if close:
            close()
        raise


def _binary_stream(source):
    """(seekable binary stream, closer or None): the caller's own stream is left open."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), None
    if isinstance(source, (str, os.PathLike)):
        handle = open(source, "rb")  # noqa: SIM115 (closed by ParsedFile.close)
        return handle, handle.close
    stream = source
    if hasattr(source, "open") and getattr(source, "closed", False):
        source.open("rb")  # a Django File that was closed
    if not hasattr(stream, "seekable") or not stream.seekable():
        raise TypeError("open_import_file needs a seekable file: the file is read more than once")
    if not isinstance(stream, io.IOBase):
        stream = io.BufferedReader(_StreamAdapter(stream))
    return stream, None


class _StreamAdapter(io.RawIOBase):
    """Django's File proxies a file's methods; io.TextIOWrapper and zipfile want a real io object."""

    def __init__(self, inner):
        self.inner = inner

    def readable(self):
        return True

    def seekable(self):
        return True

    def readinto(self, buffer):
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset, whence=io.SEEK_SET):
        return self.inner.seek(offset, whence)

    def tell(self):
        return self.inner.tell()

    def close(self):
        pass  # the caller closes its own file
