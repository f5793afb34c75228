"""Match-key normalisers: what two spellings of the same client have in common.

Phones, emails and URLs reuse `crm_site.normalize` (also used by search and Communication.normalized);
this module adds person names (order, case, ё, Cyrillic/Latin spelling), company names without legal
forms and quotes, website domains, tax ids and addresses.
"""

import re
import unicodedata
from functools import lru_cache

import phonenumbers

from crm_site.normalize import normalize_email, normalize_phone, normalize_url, parse_phone

__all__ = [
    "address_key", "company_key", "domain_key", "email_key", "name_blocks", "name_key", "phone_key",
    "tax_id_key", "translit",
]


OTHER_REGIONS = ("RU", "UA", "BY", "KZ", "US")


def phone_key(value, region=None):
    """E.164 without extension (`8 (495) 123-45-67 доб. 12` → `+74951234567`); '' when too short to mean much.

    A number the default region cannot read is tried as international (`380 93 829 69 28` typed without +)
    and in the neighbouring regions (`(044) 618-98-77` in a base whose region is RU)."""
    key = normalize_phone(value, region)
    number = parse_phone(value, region)
    if key and (number is None or not phonenumbers.is_valid_number(number)):
        digits = re.sub(r"\D", "", value or "")
        for attempt, attempt_region in [(f"+{digits}", None), *((value, r) for r in OTHER_REGIONS)]:
            number = parse_phone(attempt, attempt_region or region)
            if number is not None and phonenumbers.is_valid_number(number):
                key = normalize_phone(attempt, attempt_region or region)
                break
    return key if len(re.sub(r"\D", "", key)) >= 6 else ""


def email_key(value):
    key = normalize_email(value)
    return key if "@" in key else ""


def domain_key(value):
    """`https://www.Example.com:8080/about` → `example.com`."""
    host = normalize_url(value).split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    return host if "." in host else ""


def tax_id_key(value):
    return re.sub(r"\D", "", value or "")


# ---------------------------------------------------------------------------
# Transliteration: every spelling, Cyrillic or Latin, goes through one canonical Latin form.

# Russian and Ukrainian letters → Latin (one common scheme; the variants are folded afterwards).
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "e", "ж": "zh",
    "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}
_TRANSLATE = str.maketrans(_CYRILLIC)

# Latin spellings of the same sound folded to one (order matters: longest first).
# Ukrainian г is "h" and Russian г is "g": both fold to "g"; х (kh/h) folds with them too.
_FOLDS = [
    ("shch", "\x01"), ("shh", "\x01"), ("sch", "\x01"), ("sh", "\x01"), ("tch", "\x02"), ("ch", "\x02"),
    ("zh", "\x03"), ("kh", "g"), ("ph", "f"), ("ts", "c"), ("tc", "c"), ("cz", "c"), ("ck", "k"),
    ("q", "k"), ("x", "ks"), ("w", "v"), ("h", "g"), ("j", "i"), ("y", "i"),
]
# Letters with marks that some schemes use (ISO 9, GOST 7.79 A, scientific, ALA-LC): spelled out first.
_MARKED = str.maketrans({"š": "sh", "ŝ": "shch", "č": "ch", "ĉ": "ch", "ž": "zh", "â": "ya", "û": "yu", "ë": "yo",
                         "ǎ": "a", "è": "e", "ė": "e", "ì": "i", "ỳ": "y", "ŭ": "u"})
# Soft and hard signs written as primes, quotes or backticks by the transliteration schemes.
_SIGNS = re.compile(r"[ʹʺ'’ʼ`\"″′”“]")
# An apostrophe a legacy encoding could not hold comes back as `?` or U+FFFD (`Демʼянюк` saved as Windows-1251 by
# Excel reads `Дем?янюк`): inside a word it is read as the apostrophe it was.
_LOST = re.compile(r"(?<=\w)[?\ufffd](?=\w)")


def _fold_marks(text):
    """Case-folded, ё→е, letters with marks spelled out or without the mark (й kept), primes and quotes of the
    transliteration schemes dropped: `Žuravlëva`, `I͡uriĭ`, `Ob”yedkov` become plain words."""
    text = unicodedata.normalize("NFC", (text or "").casefold())
    text = text.replace("йо", "ё").replace("ьо", "ё").replace("ё", "е").replace("й", "\x04").translate(_MARKED)
    text = _SIGNS.sub("", _LOST.sub("", _strip_accents(text)))
    return text.replace("\x04", "й")
_VOWEL_AFTER_I = re.compile(r"i(?=[aeiou])")  # ya/ia/a, yu/iu/u, ye/ie/e: Yelena = Elena, Mariya = Maria
_APOSTROPHES = re.compile(r"['’ʼ`ʹʺ]|(?<=\w)[?\ufffd](?=\w)")  # and the lost ones (see _LOST)
_REPEATS = re.compile(r"(.)\1+")
_NON_WORD = re.compile(r"[^\w\s]|_", re.UNICODE)


def _strip_accents(text):
    decomposed = unicodedata.normalize("NFKD", text)
    # Keep й/ё: NFKD would turn them into и/е plus a mark.
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=500_000)  # names and company words repeat a lot: a bulk rebuild hits the cache
def translit(text):
    """The canonical Latin skeleton of a word: `Щербаков`, `Shcherbakov`, `Scherbakow` and the spellings of the
    transliteration standards (passport ICAO 9303, GOST 7.79, GOST 52535, BGN/PCGN, MVD, ISO 9, ALA-LC,
    Wikipedia, Moscow metro — the schemas of `iuliia`, checked in tests/test_dedup_names.py) → the same."""
    text = _fold_marks(text).translate(_TRANSLATE)
    if text.startswith("x"):  # GOST 7.79 B writes х as x (Xabarov); inside a word x is mostly ks (Alexey)
        text = "kh" + text[1:]
    text = re.sub(r"(?<=[bcdfghklmnprstvz])yo", "e", text)  # ё after a consonant: Pyotr, Zhuravlyova
    text = re.sub(r"^yo", "e", text)  # Yolkin = Ёлкин
    for old, new in _FOLDS:
        text = text.replace(old, new)
    text = _VOWEL_AFTER_I.sub("", text)
    text = _REPEATS.sub(r"\1", text)
    return text.replace("\x01", "S").replace("\x02", "C").replace("\x03", "Z")


@lru_cache(maxsize=200_000)  # an import's names repeat a lot (Иванов, Ольга): each spelling worked out once
def name_tokens(*parts):
    """Words of a person's name, case-folded, ё→е, without punctuation, transliterated (a tuple)."""
    text = " ".join(part for part in parts if part)
    text = _APOSTROPHES.sub("", text)  # O'Brien, В'ячеслав: one word
    text = _NON_WORD.sub(" ", _fold_marks(text))
    return tuple(token for token in (translit(word) for word in text.split()) if token)


def name_key(*parts):
    """Order-free name key: `Иванов Иван` and `Ivan Ivanov` → `ivan ivanov`."""
    return " ".join(sorted(name_tokens(*parts)))


@lru_cache(maxsize=200_000)
def name_blocks(key):
    """Blocking keys for fuzzy name matching: the start and the end of each word, with the first letters of
    the other words (`ivan|p`, `anov|p`, `petr|i`).

    Names alike enough to be compared (a typo, a gender ending, a missing letter) keep at least one word's
    first or last four letters and the other words' first letters, so they share a block, while a block
    stays small enough to score every pair in it. A long word kept whole with the other words' last letters
    (`ivanova|$a`) catches the rest: the same surname with a first name that differs at its start.
    """
    tokens = key.split()
    blocks = set()
    for index, token in enumerate(tokens):
        others = "".join(sorted(t[0] for i, t in enumerate(tokens) if i != index))
        if len(token) >= 2 or others:
            blocks.add(f"{token[:4]}|{others}")
            blocks.add(f"{token[-4:]}|{others}")
        if len(token) >= 5:
            # A whole long word (a surname) with the other words' last letters: catches first names that
            # differ at the start (Mara ~ Ala, Raisa ~ Iraida), which the first-letter keys above cannot.
            ends = "".join(sorted(t[-1] for i, t in enumerate(tokens) if i != index))
            blocks.add(f"{token}|${ends}")
    return tuple(sorted(blocks))


# ---------------------------------------------------------------------------
# Companies

LEGAL_FORMS = {
    # Russian
    "ооо", "оао", "зао", "пао", "ао", "нао", "ип", "пбоюл", "нко", "ано", "гуп", "муп", "фгуп", "тоо", "кх",
    "общество с ограниченной ответственностью", "акционерное общество", "публичное акционерное общество",
    "индивидуальный предприниматель",
    # Ukrainian
    "тов", "пп", "фоп", "прат", "пат", "дп", "кп", "спд", "фо п", "тзов",
    "товариство з обмеженою відповідальністю", "приватне підприємство", "фізична особа підприємець",
    # English and others
    "llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company", "plc", "gmbh", "ag",
    "sa", "srl", "bv", "oy", "ab", "as", "sp z o o", "l l c", "pte", "pty",
}
_LONG_FORMS = sorted((form for form in LEGAL_FORMS if " " in form), key=len, reverse=True)
_QUOTES = re.compile(r"[\"'«»„“”‘’`]")


@lru_cache(maxsize=200_000)
def company_key(value):
    """`ООО «Ромашка»`, `Romashka LLC`, `romashka` → `romaSka`-like one key (legal forms, quotes, case gone)."""
    text = _QUOTES.sub(" ", (value or "").casefold().replace("ё", "е"))
    text = " ".join(_NON_WORD.sub(" ", text).split())
    for form in _LONG_FORMS:
        text = re.sub(rf"(^|\s){re.escape(form)}(\s|$)", " ", text)
    words = [word for word in text.split() if word not in LEGAL_FORMS]
    return "".join(translit(word) for word in words)


ADDRESS_WORDS = {"ул", "улица", "д", "дом", "кв", "квартира", "г", "город", "пр", "просп", "проспект", "пер",
                 "переулок", "вул", "вулиця", "буд", "будинок", "м", "місто", "st", "street", "str", "apt",
                 "apartment", "ave", "avenue", "rd", "road", "корп", "стр", "офис", "оф"}


def address_key(value):
    """Address words without punctuation and the usual abbreviations (`ул.`, `д.`, `кв.`), transliterated, in
    a fixed order: `Москва, ул. Ленина, д. 33` and `улица Ленина, дом 33, Москва` are one key."""
    text = _NON_WORD.sub(" ", (value or "").casefold().replace("ё", "е"))
    words = [translit(word) for word in text.split() if word not in ADDRESS_WORDS]
    return " ".join(sorted(words, key=lambda w: (w.isdigit(), w)))


# Dashes of every kind, and the spaces between the groups of a number: "AB-123 45" is "ab12345".
_SEPARATORS = dict.fromkeys(map(ord, "-‐‑‒–—―−"), None)


def identifier_key(value):
    """A custom field's identifier (a customer number, a VIN, a card number): trimmed, case-folded, without
    spaces and dashes inside, `" AB-123 45 "` → `ab12345`."""
    text = str(value if value is not None else "").casefold().translate(_SEPARATORS)
    return "".join(text.split())


def custom_key(match_kind, value):
    """The normalised value of a custom field that finds duplicates, by how its type is compared: "phone" as
    phones (E.164), "email" as emails, anything else as an identifier; '' when nothing is left."""
    if value in (None, "", [], {}):
        return ""
    if match_kind == "phone":
        return phone_key(str(value))
    if match_kind == "email":
        return email_key(str(value))
    return identifier_key(value)
