"""What a person's name tells: the same first name under another form, the gender, the surname without its
gender ending, and the spellings of a Cyrillic name in Latin.

- First names: `data/first_names.tsv` lists full forms (Russian, Ukrainian, English) with their common
  diminutives; `first_name_groups("Саша")` and `first_name_groups("Aleksandr")` share a group.
- Gender: the patronymic's ending first (-ович/-евич/-ич, -овна/-евна/-ична), then the first name (the table,
  then pymorphy3 with its Russian and Ukrainian dictionaries); two forms of one surname (-ов/-ова, -ский/-ская).
- Surnames: `surname_stem("Иванова") == surname_stem("Ivanov")`, so a husband and a wife share a surname
  (and differ in gender, which the scoring weighs).
- Spellings: `latin_spellings("Щербаков")` are the word under the iuliia schemas (passport, GOST 7.79, BGN/PCGN,
  MVD, Wikipedia...), for explaining a match across scripts.

Everything works on one word and is cached: names repeat a lot.
"""

import re
from functools import cache, lru_cache
from pathlib import Path

from .normalize import translit

MALE, FEMALE = "m", "f"
_DATA = Path(__file__).with_name("data") / "first_names.tsv"
_CYRILLIC = re.compile(r"[а-яёіїєґ]", re.IGNORECASE)
SCHEMAS = ("ICAO_DOC_9303", "GOST_779", "GOST_779_ALT", "GOST_52535", "BGN_PCGN", "MVD_310", "MVD_782", "WIKIPEDIA",
           "MOSMETRO", "YANDEX_MAPS", "ALA_LC", "SCIENTIFIC")


def skeleton(word):
    """The canonical Latin skeleton of one word (see normalize.translit)."""
    return translit((word or "").strip(" .-"))


def is_initial(word):
    """`И.`, `I`, `J.`: one letter standing for a name."""
    return len((word or "").strip(" .")) == 1


# ---------------------------------------------------------------------------
# First names and their forms


@cache
def _table():
    """skeleton -> set of group ids; group id -> gender. Lines whose full form appears in another line are one
    group (Michael in the Михаил line and the English Michael line)."""
    lines = []
    for raw in _DATA.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        gender, forms = raw.split("\t", 1)
        lines.append((gender.strip(), [skeleton(f) for f in forms.split(",") if f.strip()]))
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    heads = {}
    for gender, forms in lines:
        heads.setdefault((forms[0], gender), []).append(forms)
    for key in heads:
        find(key)
    for (head, gender), groups in heads.items():
        for forms in groups:
            for form in forms:
                if (form, gender) in heads and (form, gender) != (head, gender):
                    parent[find((form, gender))] = find((head, gender))
    groups, genders = {}, {}
    for (head, gender), lists in heads.items():
        group = find((head, gender))
        gid = f"{group[0]}:{group[1]}"
        genders[gid] = gender
        for forms in lists:
            for form in forms:
                groups.setdefault(form, set()).add(gid)
    return {form: frozenset(ids) for form, ids in groups.items()}, genders


@lru_cache(maxsize=200_000)
def first_name_groups(word):
    """The name groups a first name belongs to (empty when the table does not know it)."""
    return _table()[0].get(skeleton(word), frozenset())


def same_first_name(a, b):
    """True when two first names are forms of one name (Саша ~ Александр, Коля ~ Nikolai, Сашко ~ Олександр)."""
    return bool(first_name_groups(a) & first_name_groups(b))


# ---------------------------------------------------------------------------
# Gender

_PATRONYMIC = ((re.compile(r"(ович|евич|ьич|ич|ovich|evich|ovych|evych|ovic|ich|ych|оглы|ogly)$"), MALE),
               (re.compile(r"(овна|евна|ична|инична|івна|ївна|ovna|evna|ichna|ivna|yivna|kyzy|кызы)$"), FEMALE))
_SURNAME = ((re.compile(r"(ова|ева|ёва|ина|ына|ская|цкая|ая|ova|eva|ina|yna|skaya|skaia|ska|tskaya|cka|aya)$"),
             FEMALE),
            (re.compile(r"(ов|ев|ёв|ин|ын|ский|цкий|ской|ий|ов|ov|ev|in|yn|sky|skiy|skii|skyi|ski|tsky|cki)$"), MALE))


@cache
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru"), pymorphy3.MorphAnalyzer(lang="uk")


@lru_cache(maxsize=100_000)
def _morph_gender(word, grammeme):
    """Gender of a Cyrillic word as a first name ("Name") or patronymic ("Patr") by pymorphy3, '' when unsure."""
    if not _CYRILLIC.search(word):
        return ""
    seen = set()
    for analyzer in _morph():
        for parse in analyzer.parse(word.casefold()):
            tag = parse.tag
            if grammeme in tag and "nomn" in tag and parse.score >= 0.05:
                if "masc" in tag:
                    seen.add(MALE)
                elif "femn" in tag:
                    seen.add(FEMALE)
    return seen.pop() if len(seen) == 1 else ""


@lru_cache(maxsize=200_000)
def first_name_gender(word):
    word = (word or "").strip()
    if not word or is_initial(word):
        return ""
    genders = {_table()[1][gid] for gid in first_name_groups(word)}
    if len(genders) == 1:
        return genders.pop()
    if genders:
        return ""  # Саша, Женя, Валя: either
    return _morph_gender(word, "Name")


@lru_cache(maxsize=100_000)
def patronymic_gender(word):
    low = (word or "").strip().casefold()
    if len(low) < 4:
        return ""
    for pattern, gender in _PATRONYMIC:
        if pattern.search(low):
            return gender
    return _morph_gender(low, "Patr")


@lru_cache(maxsize=200_000)
def surname_gender(word):
    low = (word or "").strip().casefold()
    if len(low) < 4:
        return ""
    for pattern, gender in _SURNAME:
        if pattern.search(low):
            return gender
    return ""


def gender(last="", first="", middle=""):
    """`m`, `f` or '' from a person's name parts: the patronymic, else the first name. Not from the surname
    alone: Дубина, Чала, Коваленко are anyone's (a surname's gender form is compared where two surnames are,
    see `surname_forms_differ`)."""
    return patronymic_gender(middle) or first_name_gender(first)


def surname_forms_differ(x, y):
    """Two skeletons of one surname in its male and female forms: Иванов / Иванова, Petrovsky / Petrovskaya."""
    return x != y and fold_surname(x) == fold_surname(y) and (x.endswith("a") != y.endswith("a"))


# ---------------------------------------------------------------------------
# Surnames

@lru_cache(maxsize=300_000)
def surname_stem(word):
    """The surname's skeleton with a female ending folded to the male one: Иванова/Ivanov → ivanov,
    Петровская/Petrovsky → petrovski."""
    return fold_surname(skeleton(word))


def fold_surname(text):
    """`surname_stem` of a word already made a skeleton."""
    if len(text) < 5:
        return text
    if re.search(r"(ov|ev|in)a$", text):
        return text[:-1]
    if re.search(r"(sk|ck)a$", text):
        return text[:-1] + "i"
    return text


# ---------------------------------------------------------------------------
# Spellings across scripts


_ALPHABET = "абвгґдеёєжзиіїйклмнопрстуфхцчшщъыьэюя"


@cache  # per letter, when first needed: probing all 38 costs about a second
def _first_letters(letter):
    """The letters a spelling of a word starting with Cyrillic `letter` may start with under the schemas
    (probed with every next letter, in short and longer words); None for a letter some schema may drop, or
    one that is not a Cyrillic letter."""
    import iuliia

    if letter not in _ALPHABET:
        return None
    starts = set()
    for following in _ALPHABET:
        for word in (letter, letter + following, letter + following + "ка", letter + following + "нов"):
            for name in SCHEMAS:
                spelled = getattr(iuliia, name).translate(word).casefold()
                starts.add(spelled[:1])
    return None if "" in starts or not starts.isdisjoint(_ALPHABET) else frozenset(starts)


def may_be_spelled(cyrillic, latin):
    """A quick necessary test for `latin in latin_spellings(cyrillic)`: the first letters can agree."""
    cyrillic, latin = cyrillic.strip().casefold(), latin.strip().casefold()
    if not cyrillic or not latin:
        return True
    starts = _first_letters(cyrillic[0])
    return starts is None or latin[0] in starts


@lru_cache(maxsize=200_000)
def latin_spellings(word):
    """The Latin spellings of a Cyrillic word under the transliteration schemas (casefolded)."""
    if not _CYRILLIC.search(word or ""):
        return frozenset()
    import iuliia

    return frozenset(getattr(iuliia, name).translate(word).casefold() for name in SCHEMAS)


def is_cyrillic(word):
    return bool(_CYRILLIC.search(word or ""))
