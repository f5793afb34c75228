"""vCard 2.1, 3.0 and 4.0 files with any number of cards, read one card at a time.

The file is split into cards by their BEGIN:VCARD / END:VCARD lines here, and each card is parsed on its own
(`parse_card`, with vobject's line parser), so a broken card becomes one row error (with the line it starts on)
and the cards after it are read.
PHOTO properties are dropped before parsing (they can be megabytes of base64 and are not imported).

Each card becomes a row of the fixed columns below, so cards go through the same column mapping as a CSV: a
property that occurs several times (two TEL;TYPE=CELL, two ORG) gives a cell of several values, one a line.
"""

import io
import re

from vobject.base import getLogicalLines, textLineToContentLine

from ..detection import detect_encoding, read_sample, read_tail
from ..errors import EncodingProblem, NotATable, RowIssue

# The columns a card is spread over: vCard property, and the TYPE for TEL/EMAIL/ADR.
COLUMNS = (
    "N:family", "N:given", "N:additional", "N:prefix", "N:suffix", "FN", "NICKNAME",
    "ORG", "ORG:unit", "TITLE", "ROLE",
    "TEL:cell", "TEL:work", "TEL:home", "TEL",
    "EMAIL:work", "EMAIL:home", "EMAIL",
    "ADR:work", "ADR:home", "ADR",
    "BDAY", "NOTE", "URL", "CATEGORIES",
    "X-SKYPE", "X-TELEGRAM", "X-WHATSAPP", "X-VIBER", "UID",
)
_INDEX = {name: index for index, name in enumerate(COLUMNS)}
_PHOTO = re.compile(r"^(?:[\w-]+\.)?(?:PHOTO|LOGO|SOUND|KEY)[;:]", re.IGNORECASE)
_PROPERTY = re.compile(r"^[\w.-]+[;:]")
_CELL_TYPES = {"cell", "mobile", "iphone"}


class VCardReader:
    format = "vcard"
    delimiter = None

    def __init__(self, stream, *, encoding=None):
        self.stream = stream
        self.encoding = encoding or detect_encoding(read_sample(stream), read_tail(stream))
        self.headers = list(COLUMNS)
        self.header_row = 0
        if not self._has_cards():
            raise NotATable("no_cards")

    def _text(self):
        self.stream.seek(0)
        return io.TextIOWrapper(self.stream, encoding=self.encoding, errors="strict", newline=None)

    def _has_cards(self):
        for _number, _line, _lines, _issue in self._cards():
            return True
        return False

    def _cards(self):
        """(card number, first line, lines, issue) for every BEGIN:VCARD in the file; `issue` is set for a card
        that never ends (its lines are then None)."""
        text = self._text()
        number = 0
        lines = None
        start = 0
        skipping = False
        line_number = 0
        try:
            for line_number, line in enumerate(text, start=1):  # noqa: B007
                line = line.rstrip("\r\n")
                bare = line.strip().upper()
                if bare == "BEGIN:VCARD":
                    if lines is not None:  # the previous card never ended
                        yield number, start, None, "unclosed_card"
                    number += 1
                    lines, start, skipping = [line], line_number, False
                    continue
                if lines is None:
                    continue  # text outside any card
                if bare == "END:VCARD":
                    lines.append(line)
                    yield number, start, lines, None
                    lines = None
                    continue
                if skipping:
                    if line[:1] in (" ", "\t") or (line.strip() and not _PROPERTY.match(line)):
                        continue  # the picture's base64, folded or (vCard 2.1) not
                    skipping = False
                if _PHOTO.match(line):
                    skipping = True
                    continue
                lines.append(line)
        except UnicodeDecodeError:
            raise EncodingProblem(encoding=self.encoding, row=number or 1) from None
        finally:
            text.detach()
        if lines is not None:
            yield number, start, None, "unclosed_card"

    def records(self):
        for number, start, lines, problem in self._cards():
            if problem:
                yield number, [""] * len(COLUMNS), (RowIssue(row=number, line=start, code=problem,
                                                             params={"line": start}),)
                continue
            try:
                values = card_values(parse_card(lines))
            except Exception as error:  # vobject raises many kinds: ParseError, ValueError, LookupError...
                reason = " ".join(str(error).split())[:200] or type(error).__name__
                yield number, [""] * len(COLUMNS), (RowIssue(row=number, line=start, code="broken_card",
                                                             params={"line": start, "reason": reason}),)
                continue
            if any(values):
                yield number, values, ()


def parse_card(lines):
    """property name (lower case) -> vobject ContentLines of one card.

    vobject unfolds the lines (and quoted-printable soft line breaks), parses parameters and decodes
    quoted-printable values in their CHARSET. Its vCard behaviours are not used: their text decoding keeps only
    what comes before the first unescaped comma ("a, b" -> "a"), and vCard 2.1 writers don't escape commas.
    Values are unescaped here instead."""
    contents = {}
    for text, number in getLogicalLines(io.StringIO("\r\n".join(lines) + "\r\n"), allowQP=True):
        line = textLineToContentLine(text, number)
        contents.setdefault(line.name.lower(), []).append(line)
    return contents


def card_values(contents):
    """The card's properties spread over COLUMNS (several values of a column one a line)."""
    cells = [[] for _ in COLUMNS]

    def add(column, value):
        value = _clean(value)
        if value:
            cells[_INDEX[column]].append(value)

    names = contents.get("n", [])
    if names:
        parts = _components(names[0].value, 5)  # vCard 4.0 may add spellings linked by ALTID: the first one
        for column, part in zip(("N:family", "N:given", "N:additional", "N:prefix", "N:suffix"), parts, strict=True):
            add(column, part.replace(",", " "))
    for line in contents.get("fn", [])[:1]:
        add("FN", _unescape(line.value))
    for line in contents.get("org", []):
        parts = _components(line.value)
        add("ORG", parts[0])
        add("ORG:unit", " ".join(part for part in parts[1:] if part))
    for key, column in (("note", "NOTE"), ("url", "URL"), ("uid", "UID"), ("x-skype", "X-SKYPE"),
                        ("x-telegram", "X-TELEGRAM"), ("x-whatsapp", "X-WHATSAPP"), ("x-viber", "X-VIBER")):
        for line in contents.get(key, []):
            add(column, _unescape(line.value))
    for key, column in (("title", "TITLE"), ("role", "ROLE"), ("nickname", "NICKNAME"), ("bday", "BDAY")):
        values = [_clean(_unescape(line.value)) for line in contents.get(key, [])]
        add(column, ", ".join(value for value in values if value))  # one field: "Manager, research scientist"
    for line in contents.get("categories", []):
        for value in _split_unescaped(line.value, ","):
            add("CATEGORIES", _unescape(value))
    for line in contents.get("tel", []):
        types = _types(line)
        column = ("TEL:cell" if types & _CELL_TYPES else "TEL:work" if "work" in types
                  else "TEL:home" if "home" in types else "TEL")
        value = _unescape(line.value).strip()
        if value.lower().startswith("tel:"):
            value = value[4:]
        add(column, value)
    for line in contents.get("email", []):
        types = _types(line)
        add("EMAIL:work" if "work" in types else "EMAIL:home" if "home" in types else "EMAIL", _unescape(line.value))
    for line in contents.get("adr", []):
        types = _types(line)
        parts = [part.replace("\n", ", ") for part in _components(line.value, 7) if part]
        add("ADR:work" if "work" in types else "ADR:home" if "home" in types else "ADR", ", ".join(parts))
    return ["\n".join(values) for values in cells]


def _types(line):
    types = set()
    for value in line.params.get("TYPE", []):
        types.update(part.strip().lower() for part in str(value).split(","))
    types.update(str(value).lower() for value in line.singletonparams)  # vCard 2.1: TEL;CELL;VOICE:...
    return types


def _split_unescaped(text, separator):
    parts, current, escaped = [], [], False
    for char in str(text):
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _components(text, size=None):
    """A structured value (N, ADR, ORG): parts split at unescaped ";", each unescaped."""
    parts = [_unescape(part).strip() for part in _split_unescaped(text, ";")]
    if size:
        parts = (parts + [""] * size)[:size]
    return parts


_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", ":": ":", "\\": "\\"}


def _unescape(text):
    text = str(text or "")
    if "\\" not in text:
        return text
    out, escaped = [], False
    for char in text:
        if escaped:
            out.append(_ESCAPES.get(char, "\\" + char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def _clean(value):
    text = str(value or "").strip()
    if "\n" in text:
        return "\n".join(line.strip() for line in text.splitlines() if line.strip())
    return " ".join(text.split())
