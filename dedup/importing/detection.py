"""Guessing what a file is: its format, its text encoding and its CSV delimiter.

Every guess can be overridden by the user (the wizard's "encoding" and "separator" choices); the guesses only
read a sample from the start of the file.
"""

import codecs
import csv
import io
import re

from .errors import ImportFileError, NotATable

SAMPLE_BYTES = 256 * 1024
CSV, XLSX, VCARD = "csv", "xlsx", "vcard"
FORMATS = (CSV, XLSX, VCARD)
FORMAT_ALIASES = {"csv": CSV, "txt": CSV, "tsv": CSV, "tab": CSV, "xlsx": XLSX, "xlsm": XLSX, "vcf": VCARD,
                  "vcard": VCARD}
DELIMITERS = (",", ";", "\t", "|")
# Encodings the exports we meet are written in, besides UTF-8/16 (recognised by their byte order mark or by
# decoding): Russian/Ukrainian Excel (Windows-1251), old Unix and mail (KOI8-R/U), DOS (CP866), Western
# Windows (1252). Limiting charset-normalizer to these makes it both right and fast on short samples.
CANDIDATE_ENCODINGS = ("cp1251", "koi8_r", "koi8_u", "cp866", "cp1252")
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def read_sample(stream, size=SAMPLE_BYTES):
    stream.seek(0)
    sample = stream.read(size)
    stream.seek(0)
    return sample


def read_tail(stream, size=64 * 1024):
    """The end of a file longer than the head sample (b"" otherwise): a file whose first 256 KB are plain
    ASCII may still be Windows-1251 further on."""
    stream.seek(0, 2)
    length = stream.tell()
    if length <= SAMPLE_BYTES:
        stream.seek(0)
        return b""
    stream.seek(length - size)
    tail = stream.read(size)
    stream.seek(0)
    return tail


def detect_format(sample, name=""):
    """`csv`, `xlsx` or `vcard`, from the first bytes (the extension only breaks ties). Refuses old .xls,
    other archives and binary files with a clear message."""
    if sample.startswith(b"PK\x03\x04"):
        return XLSX  # checked for a workbook part when opened
    if sample.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise NotATable("xls")
    text_start = sample.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")[:64].replace(b"\x00", b"").upper()
    if text_start.startswith(b"BEGIN:VCARD"):
        return VCARD
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if FORMAT_ALIASES.get(extension) == VCARD and b"BEGIN:VCARD" in sample.replace(b"\x00", b"").upper():
        return VCARD
    return CSV


def normalise_format(value):
    if value in (None, ""):
        return None
    key = str(value).lower().lstrip(".")
    if key not in FORMAT_ALIASES:
        raise ImportFileError("unknown_format", format=str(value)[:20])
    return FORMAT_ALIASES[key]


def check_encoding_name(name):
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ImportFileError("unknown_encoding", encoding=str(name)[:40]) from None


def detect_encoding(sample, tail=b""):
    """The text encoding of a file from its first bytes (and its last, `tail`): a byte order mark, else UTF-16
    without a mark if every other byte is zero, else UTF-8 if both decode, else the best of CANDIDATE_ENCODINGS
    by charset-normalizer. Binary data is refused."""
    for bom, encoding in BOMS:
        if sample.startswith(bom):
            return encoding
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16
    if b"\x00" in sample or len(_CONTROL.findall(sample[:65536])) > 8:
        raise NotATable("binary")
    tail = tail.lstrip(bytes(range(0x80, 0xC0)))  # it may start inside a UTF-8 character
    if _is_utf8(sample) and _is_utf8(tail):
        return "utf-8"
    from charset_normalizer import from_bytes

    # Only the lines with non-ASCII bytes: a few Cyrillic words among thousands of Latin rows are the signal.
    lines = b"\n".join(line for line in (sample + b"\n" + tail).split(b"\n") if not line.isascii())
    best = from_bytes(lines, cp_isolation=list(CANDIDATE_ENCODINGS)).best()
    if best is None:
        raise NotATable("binary")
    return best.encoding


def _is_utf8(sample):
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as error:
        # The sample may end in the middle of a multi-byte character.
        return error.start >= len(sample) - 3 and error.reason == "unexpected end of data"


def _utf16_without_bom(sample):
    head = sample[:4096]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def decode_sample(sample, encoding):
    """The sample as text, without a possibly cut last character."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(sample, final=False)


def detect_delimiter(text, candidates=DELIMITERS):
    """The column separator of a CSV sample, reading it as CSV (quotes and cells spanning lines respected) with
    each candidate. Best: the one giving the same number (> 1) of columns in most rows; then the one whose cuts
    look least like cuts inside a value (a cell starting with a space, a number cut in two: "1,5" read with a
    comma); then more columns. csv.Sniffer decides by how often characters occur and, on a tie, prefers the
    comma: a ";" file with a comma in every line (Bitrix24's "Имя, Фамилия" header, decimal commas) is read as
    comma-separated (tests/test_import_csv.py has such files). None when no candidate gives two columns."""
    text = text[: 64 * 1024]
    if "\n" in text:
        text = text[: text.rfind("\n") + 1] or text  # drop a probably cut last line
    best, best_score = None, None
    for delimiter in candidates:
        rows = _sample_rows(text, delimiter)
        if not rows:
            continue
        header_width = len(rows[0])
        if header_width < 2:
            continue
        same = sum(1 for row in rows if len(row) == header_width)
        score = (same / len(rows) >= 0.8, same, -_bad_cuts(rows), header_width)
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


def _bad_cuts(rows):
    """How many cuts look like they split a value: the next cell starts with a space, or a digit on both sides."""
    bad = 0
    for row in rows:
        for left, right in zip(row, row[1:], strict=False):
            if right[:1] == " " or (left[-1:].isdigit() and right[:1].isdigit()):
                bad += 1
    return bad


def _sample_rows(text, delimiter, limit=50):
    rows = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        return rows
    return rows
