"""Is this the same person? Duplicate evidence weighed field by field — one engine for the scan, the
warnings while typing, the import and the API.

For the import engineer (and the REST upsert)
----------------------------------------------
Give the rows of a file as plain dicts of field values, phones, emails and company names::

    rows = [{"last_name": "Иванов", "first_name": "Саша", "middle_name": "", "birthday": date(1985, 4, 12),
             "position": "", "address": "", "phones": ["8 (495) 123-45-67"], "emails": ["a@x.ru"],
             "companies": ["ООО Ромашка"]}, ...]

    matches = scoring.match_rows("contact", rows)          # against the base, a handful of queries a batch
    for row, found in zip(rows, matches):                  # found: [Match(object_id, verdict)], best first
        best = found[0] if found else None
        if best and best.verdict.is_duplicate: ...         # update best.object_id (merge / replace / skip)
        else: ...                                          # create (POSSIBLE / DIFFERENT_PERSON / nothing)

    within = scoring.match_within("contact", rows)         # the file against itself: [(i, j, verdict)], i < j

- `verdict.is_duplicate` is the only test for "same record": a pair whose names contradict each other
  (`verdict.outcome == DIFFERENT_PERSON`: same phone or email, different first name or gender — colleagues
  on an office line, a husband and wife on a home phone) is never a duplicate, whatever its probability.
- `verdict.auto_mergeable` is true only above the entity's auto-merge threshold *and* with no field
  conflicts (two different non-empty values of a name part, birthday, address, position...). Anything else
  needs a person (or the import's explicit merge/replace choice).
- Several duplicates for one row: `found[0]` is the best; when `found[1].verdict.is_duplicate` too, the row is
  ambiguous (issue 17 reports it and skips it).
- `verdict.percent` is calibrated on the labelled set (bench/labelled.py): of pairs shown at 90%, about 90% were
  true duplicates. `verdict.reasons` say what agreed and what disagreed; `verdict.explanation` is a translated
  sentence ("same phone +7 495 123-45-67; first names differ: Руслан / Николай").
- Rows may also be match-key sets (`dedup.keys.keys_from_values`), so saved records and unsaved rows are
  scored the same way; `score(entity_key, a, b)` compares two of either.

How the evidence is weighed (Fellegi–Sunter, as Splink does it)
---------------------------------------------------------------
Each comparison (first name, last name, patronymic, gender, phone, email, birthday, address, company,
position; for companies their name, tax id, KPP, website) falls into a level — exact, a close level (a typo,
a diminutive, an initial, a birthday a day off, the same email domain...), different, or missing. Each level has
m = P(level | same record) and u = P(level | different records); its weight is log2(m/u), a missing value
weighs 0. An exact match on a value many records share weighs less: for it u is the value's share of the base
(term-frequency adjustment, counted in SQL from the match-key table), so an office switchboard, `info@` or
Иванов counts for little and a rare surname for a lot. The sum plus the prior log-odds (expected duplicates
per record / records) is the match weight; a calibration table turns it into the percent shown.
Parameters are per entity (`DuplicateRule.parameters`, defaults in dedup/defaults.py), re-estimated with
`manage.py estimate_match_weights` (EM on the base, or the users' merges and "not a duplicate" marks).
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler

from crm_site.models import Communication
from crm_site.registry import registry

from . import keys as keymod
from . import names

DUPLICATE, POSSIBLE, DIFFERENT_PERSON, NO_MATCH = "duplicate", "possible", "different_person", "no_match"

CUSTOM_PREFIX = "cf_"  # a custom field that finds duplicates is compared as "cf_<code>"
CUSTOM_LEVELS = ("missing", "exact", "different")


class _Levels(dict):
    """Levels per comparison; every custom field that finds duplicates has the identifier's levels."""

    def __missing__(self, comparison):
        if isinstance(comparison, str) and comparison.startswith(CUSTOM_PREFIX):
            return CUSTOM_LEVELS
        raise KeyError(comparison)


def is_custom(comparison):
    return comparison.startswith(CUSTOM_PREFIX)


# Comparisons and their levels; level 0 is always "missing" (no evidence either way).
LEVELS = _Levels({
    "first_name": ("missing", "exact", "alias", "initial", "fuzzy", "different"),
    "last_name": ("missing", "exact", "fuzzy", "different"),
    "middle_name": ("missing", "exact", "initial", "fuzzy", "different"),
    "gender": ("missing", "same", "different"),
    "phone": ("missing", "exact", "shared_line", "different"),
    "email": ("missing", "exact", "mailbox", "domain", "different"),
    "birthday": ("missing", "exact", "close", "different"),
    "address": ("missing", "exact", "fuzzy", "different"),
    "company": ("missing", "exact", "fuzzy", "different"),
    "position": ("missing", "exact", "fuzzy", "different"),
    "company_name": ("missing", "exact", "fuzzy", "different"),
    "tax_id": ("missing", "exact", "different"),
    "kpp": ("missing", "exact", "different"),
    "domain": ("missing", "exact", "different"),
})
# (comparison, level) whose u is the value's frequency in the base, and the key kind it is counted on.
TF_LEVELS = {("phone", "exact"): "phone", ("email", "exact"): "email", ("email", "domain"): "email_domain",
             ("last_name", "exact"): "surname", ("address", "exact"): "address", ("company", "exact"): "company",
             ("company_name", "exact"): "company", ("domain", "exact"): "domain"}
# Single-valued fields where two different non-empty values are a conflict (a person must choose).
CONFLICT_FIELDS = ("first_name", "last_name", "middle_name", "gender", "birthday", "address", "position",
                   "company_name", "tax_id", "kpp")
CONTACT_POINTS = ("phone", "email")
CONTRADICTION_CAP = 0.05  # names that contradict: never more likely than this
# A shared role account (info@, a company's switchboard) says the records belong to one organisation, not
# that they are one person: whatever its estimated weight, it counts at most this much.
ROLE_ACCOUNT_MAX = 2.0
# The prior (expected duplicates per record / records) counts the base as at least this many records: in a
# small base it would otherwise make every pair likely.
MIN_BASE = 100_000
# A term frequency is the value's share of the base it was counted in: held / records, both of the same base
# (a surname one card in 500 holds weighs the same in a base of 20k and of 100k). Only a base smaller than
# this counts as this many records: there a value one card or two hold says little about how rare it is.
# (Dividing the counts of a 20k base by MIN_BASE overrated every shared value 5× below 100k and the percent
# fitted there was too cautious at 100k: calibration gap 0.25, issue 18.)
MIN_SHARE_BASE = 20_000

# Mailboxes a team shares (info@, office@...) and free mail providers: their agreement says little.
GENERIC_MAILBOXES = frozenset(
    "info office sales support admin administrator hello contact contacts mail post reception secretary "
    "buh bukh buhgalter accounting booking zakaz order orders hr kadry noreply no-reply manager team marketing "
    "pr press service help feedback billing welcome general enquiries inquiries priem priemnaya kancelyariya "
    "tender snab supply director ceo".split())
PUBLIC_MAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com mail.ru bk.ru list.ru inbox.ru internet.ru yandex.ru ya.ru yandex.ua yandex.com "
    "rambler.ru ukr.net i.ua meta.ua bigmir.net outlook.com hotmail.com live.com msn.com yahoo.com icloud.com "
    "me.com aol.com proton.me protonmail.com gmx.de gmx.net web.de example.com".split())


def comparisons_for(entity_key):
    """The comparisons an entity's records are weighed on (from what its model has)."""
    spec = keymod.spec_for(entity_key)
    out = []
    if spec.person:
        out += ["first_name", "last_name", "middle_name", "gender"]
    if spec.own_name:
        out.append("company_name")
    if spec.has_channels:
        out += ["phone", "email"]
    plain = {kind for kind, _f in spec.plain}
    out += [kind for kind in ("birthday", "address", "tax_id", "kpp", "position") if kind in plain]
    if spec.person and (spec.company_links or spec.company_name):
        out.append("company")
    if spec.own_name and ("domain" in plain or spec.has_channels):
        out.append("domain")
    out += [field.name for field in keymod.criterion_fields(entity_key)]  # cf_<code>, admin-marked
    return tuple(out)


# ---------------------------------------------------------------------------
# Records as columns: the comparison values of many records (saved or not) side by side.

_MULTI = MULTI_VALUED = ("phone", "email", "email_domain", "company", "domain")
_SINGLE = ("birthday", "address", "position", "tax_id", "kpp", "surname")
SLOTS = 3  # phones/emails/companies compared per record (more are rare; the shared one is found by SQL anyway)


class Columns:
    """n records' values in numpy arrays; pairs are compared by index. Values are coded per kind (equal values,
    equal codes) with `counts[kind][code]` = how many records of the base hold the value (term frequency)."""

    def __init__(self, n):
        self.n = n
        self.ids = np.full(n, -1, dtype=np.int64)
        empty = np.full(n, "", dtype=object)
        self.last, self.first, self.middle = empty.copy(), empty.copy(), empty.copy()  # as typed
        self.last_sk, self.first_sk, self.middle_sk = empty.copy(), empty.copy(), empty.copy()  # skeletons
        self.last_stem = empty.copy()
        self.gender = np.zeros(n, dtype=np.int8)  # 0 unknown, 1 male, 2 female
        self.first_groups = np.full((n, 2), -1, dtype=np.int32)
        # value codes (-1: none); int32 halves the memory of a big scan (codes stay far below 2**31)
        self.multi = {kind: np.full((n, SLOTS), -1, dtype=np.int32) for kind in _MULTI}
        self.single = {kind: np.full(n, -1, dtype=np.int32) for kind in _SINGLE}
        self.text = {kind: empty.copy() for kind in ("address", "position", "company")}
        self.birthday_day = np.full(n, -1, dtype=np.int64)  # days since 0001-01-01
        self.values = {}  # kind -> list: code -> value (for explanations and TF look-ups)
        self.counts = {}  # kind -> np.array: code -> records holding it
        self.file_counts = None  # kind -> np.array: code -> rows of the file holding it (when weighing a file)
        self.company_lines = np.zeros(0, dtype=np.int64)  # phone codes that are a company's own phone
        self._factors = {}  # attribute -> (codes, distinct values), see set_factor()

    # -- building from match-key sets (unsaved rows, saved records read back, a pair) --

    @classmethod
    def from_keysets(cls, keysets, ids=None):
        cols = cls(len(keysets))
        coders = {}

        def code(kind, value):
            table = coders.setdefault(kind, {})
            if value not in table:
                table[value] = len(table)
            return table[value]

        # Positions and values are gathered in lists and each array is filled once at the end: setting numpy
        # elements one by one cost most of the time of a 100k-row import's preview.
        groups = {}
        people = ([], [])  # (index, person key)
        multi = {kind: ([], [], []) for kind in _MULTI}  # (index, slot, code)
        single = {kind: ([], []) for kind in _SINGLE}  # (index, code)
        text = {kind: ([], []) for kind in ("address", "position", "company")}  # (index, text)
        birthdays = ([], [])
        custom_at = {}  # kind -> (index, slot, code)
        for index, keys in enumerate(keysets):
            by_kind = keys_by_kind(keys)
            person = by_kind.get("person")
            if person:
                people[0].append(index)
                people[1].append(min(person))
            for kind, slot, value in coded_values(by_kind):
                if slot is None:
                    at = single[kind]
                    at[0].append(index)
                    at[1].append(code(kind, value))
                else:
                    at = multi[kind] if kind in multi else custom_at.setdefault(kind, ([], [], []))
                    at[0].append(index)
                    at[1].append(slot)
                    at[2].append(code(kind, value))
            for kind, at in text.items():
                values = by_kind.get(kind)
                if values:
                    at[0].append(index)
                    at[1].append(min(values))
            if by_kind.get("birthday"):
                birthdays[0].append(index)
                birthdays[1].append(_day(min(by_kind["birthday"])))
        cols._set_people(people[0], people[1], groups)
        for kind, (rows, slots, codes) in multi.items():
            if rows:
                cols.multi[kind][rows, slots] = codes
        for kind, (rows, slots, codes) in custom_at.items():
            cols.custom_codes(kind)[rows, slots] = codes
        for kind, (rows, codes) in single.items():
            if rows:
                cols.single[kind][rows] = codes
        for kind, (rows, values) in text.items():
            if rows:
                cols.text[kind][rows] = _objects(values)
        if birthdays[0]:
            cols.birthday_day[birthdays[0]] = birthdays[1]
        for kind, table in coders.items():
            values = [""] * len(table)
            for value, c in table.items():
                values[c] = value
            cols.values[kind] = values
            cols.counts[kind] = np.zeros(len(values), dtype=np.int64)
        if ids is not None:
            cols.ids[:] = ids
        cols.derive()
        return cols

    def custom_codes(self, kind):
        """The value codes of a custom field that finds duplicates ("cf_<code>"), up to SLOTS a record."""
        if kind not in self.multi:
            self.multi[kind] = np.full((self.n, SLOTS), -1, dtype=np.int32)
        return self.multi[kind]

    def set_factor(self, name, codes, distinct, index):
        """Records `index` get `distinct[codes]` as attribute `name`, the others "" (codes of `index` as a
        dict {"codes": ..., "full": None} are shared between the attributes set from them); the codes are
        kept, so forms derived from it are worked out once per distinct value."""
        distinct = np.append(distinct, _objects([""]))
        if codes.get("full") is None:
            full = np.full(self.n, -1, dtype=np.int32)
            full[index] = codes["codes"]
            codes["full"] = full
        full = codes["full"]
        # the empty value's code is -1, i.e. the last of `distinct`
        setattr(self, name, distinct[full])
        self._factors[name] = (full, distinct)

    def factor(self, name):
        """(codes, distinct values) of an attribute: equal values, equal codes (computed once)."""
        if name not in self._factors:
            values = getattr(self, name).tolist()
            distinct = list(dict.fromkeys(values))
            position = dict(zip(distinct, range(len(distinct)), strict=True))
            codes = np.fromiter(map(position.__getitem__, values), dtype=np.int32, count=len(values))
            self._factors[name] = (codes, _objects(distinct))
        return self._factors[name]

    def mapped(self, name, fn, out=None, dtype=object):
        """`fn` of each record's attribute `name`, worked out once per distinct value (kept as `out`)."""
        codes, distinct = self.factor(name)
        values = [fn(v) for v in distinct.tolist()]
        table = _objects(values) if dtype is object else np.array(values, dtype=dtype)
        if out is not None and dtype is object:
            self._factors[out] = (codes, table)
        return table[codes]

    def derive(self):
        """Per-record forms the pair comparisons need, worked out once per distinct value (not per pair)."""
        mapped = self.mapped
        self.first_lo = mapped("first_sk", str.lower, "first_lo")
        self.last_lo = mapped("last_stem", str.lower, "last_lo")
        self.last_sk_lo = mapped("last_sk", str.lower, "last_sk_lo")
        self.middle_lo = mapped("middle_sk", str.lower, "middle_lo")
        self.first_stem = mapped("first_sk", names.fold_surname, "first_stem")
        self.first_stem_lo = mapped("first_stem", str.lower, "first_stem_lo")

        def raw(value):
            return value.strip(" .").lower()

        self.first_raw, self.last_raw, self.middle_raw = (mapped("first", raw), mapped("last", raw),
                                                          mapped("middle", raw))
        self.first_cyr = mapped("first", names.is_cyrillic, dtype=bool)
        self.short = mapped("first_sk", lambda x: len(x) == 1, dtype=bool) | mapped(
            "last_sk", lambda x: len(x) == 1, dtype=bool)
        self.female_form = mapped("last_sk", lambda x: x.endswith("a"), dtype=bool)
        # Initials: the sound a name starts with (one and two letters), to tell whether "Ю." fits "Yuri".
        for side in ("first", "last"):
            setattr(self, f"{side}_len", mapped(side, lambda v: len(v.strip(" .")), dtype=np.int32))
            setattr(self, f"{side}_init1", mapped(side, lambda v: names.skeleton(v.strip(" .")[:1])))
            setattr(self, f"{side}_init2", mapped(side, lambda v: names.skeleton(v.strip(" .")[:2])))
        self.address_numbers = self.mapped_text("address", lambda v: tuple(w for w in v.split() if w.isdigit()))
        days = np.where(self.birthday_day >= 0, self.birthday_day - 719163, 0).astype("datetime64[D]")
        self.birth_year = days.astype("datetime64[Y]").astype(np.int64) + 1970
        self.birth_month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        self.birth_dom = (days - days.astype("datetime64[M]")).astype(np.int64) + 1

    def mapped_text(self, kind, fn):
        """`fn` of each record's text of a kind (address...), once per distinct value."""
        values = self.text[kind]
        codes = self.single[kind] if kind in self.single else None
        if codes is None or kind not in self.values:
            table = {v: fn(v) for v in set(values.tolist())}
            return _objects([table[v] for v in values.tolist()])
        table = _objects([fn(v) for v in self.values[kind]] + [fn("")])
        return table[np.where(codes >= 0, codes, len(table) - 1)]

    def _set_people(self, indexes, values, groups):
        """The name parts of records `indexes` from their `person` keys (each array filled once)."""
        if not indexes:
            return
        parts = [keymod.split_person(value) for value in values]
        last = [p[0] for p in parts]
        first = [p[1] for p in parts]
        middle = [p[2] for p in parts]
        self.last[indexes], self.first[indexes], self.middle[indexes] = _objects(last), _objects(first), \
            _objects(middle)
        self.last_sk[indexes] = _objects([names.skeleton(v) for v in last])
        self.first_sk[indexes] = _objects([_first_word_skeleton(v) for v in first])
        self.middle_sk[indexes] = _objects([names.skeleton(v) for v in middle])
        self.last_stem[indexes] = _objects([names.surname_stem(v) for v in last])
        genders = {"m": 1, "f": 2}
        self.gender[indexes] = [genders.get(p[3], 0) for p in parts]
        rows, slots, gids = [], [], []
        for index, name in zip(indexes, first, strict=True):
            for slot, gid in enumerate(sorted(names.first_name_groups(name))[:2]):
                rows.append(index)
                slots.append(slot)
                gids.append(groups.setdefault(gid, len(groups)))
        if rows:
            self.first_groups[rows, slots] = gids

    def fill_counts_from_base(self, content_type, unsaved=(), in_file=None):
        """Term frequencies: how many saved records hold each value (one query), plus the unsaved rows
        (`unsaved`: their indexes) that hold it, or plus `in_file.of(kind, values)`: the rows of a whole file
        holding each (dedup.within).

        With `in_file`, the rows are the file's own, weighed against each other: a value only one of them holds
        can't be shared by a pair, and only a shared value's frequency weighs, so the base is asked only for the
        values two rows hold (and for every surname: the exact surname level compares stems, not codes)."""
        wanted = {kind: values for kind, values in self.values.items() if kind in set(TF_LEVELS.values())}
        if in_file is not None:
            self.file_counts = {kind: in_file.of(kind, values) for kind, values in self.values.items()}
            wanted = {kind: values if kind == "surname" else
                      [value for value, held in zip(values, self.file_counts[kind].tolist(), strict=True) if held > 1]
                      for kind, values in wanted.items()}
        custom = [f"{kind[len(CUSTOM_PREFIX):]}:{value}" for kind, values in self.values.items() if is_custom(kind)
                  for value, held in zip(values, self._held_in_file(kind, values), strict=True) if held > 1]
        if custom:  # custom fields' keys are of one kind, "custom", valued "<code>:<value>"
            wanted[keymod.CUSTOM] = custom
        counts = base_counts(content_type, wanted)
        for kind, values in self.values.items():
            if is_custom(kind):
                prefix = kind[len(CUSTOM_PREFIX):]
                counts.update({(kind, v): counts.get((keymod.CUSTOM, f"{prefix}:{v}"), 0) for v in values})
        unsaved = np.asarray(list(unsaved), dtype=np.int64)
        for kind, values in self.values.items():
            array = np.array([counts.get((kind, v), 0) for v in values], dtype=np.int64)
            if len(unsaved):
                codes = (self.multi[kind][unsaved].ravel() if kind in self.multi else self.single[kind][unsaved])
                codes = codes[codes >= 0]
                if len(codes):
                    array += np.bincount(codes, minlength=len(values))
            if in_file is not None:
                array += self.file_counts[kind]
            self.counts[kind] = array

    def _held_in_file(self, kind, values):
        """The file's rows holding each value (fill_counts_from_base), or 2 for each when not weighing a file."""
        return self.file_counts[kind].tolist() if self.file_counts is not None else [2] * len(values)

    def shared_phones(self):
        """The phones a weighed pair may share: those two of the file's rows hold (fill_counts_from_base with
        `in_file`), else all of them."""
        phones = self.values.get("phone", [])
        return [phone for phone, held in zip(phones, self._held_in_file("phone", phones), strict=True) if held > 1]

    def email_flags(self):
        """(per email code: a shared mailbox like info@; per email-domain code: a free mail provider)."""
        if not hasattr(self, "_email_flags"):
            emails = self.values.get("email", [])
            domains = self.values.get("email_domain", [])
            self._email_flags = (
                np.array([e.split("@", 1)[0] in GENERIC_MAILBOXES for e in emails], dtype=bool),
                np.array([d in PUBLIC_MAIL_DOMAINS for d in domains], dtype=bool))
        return self._email_flags

    def mark_company_lines(self, phones):
        """Phones that are a company's own number (its switchboard), given as values."""
        lookup = {v: c for c, v in enumerate(self.values.get("phone", ()))}
        self.company_lines = np.array(sorted(lookup[p] for p in phones if p in lookup), dtype=np.int64)


def keys_by_kind(keys):
    """A record's match keys as {kind: [values]}."""
    by_kind = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    return by_kind


def coded_values(by_kind):
    """(kind, slot, value) of each value a record is compared on, as Columns codes it (and so counts it): the
    first SLOTS values of a multi-valued kind and of a custom field (as "cf_<code>"), the least value of a
    single-valued kind (slot None)."""
    for kind in _MULTI:
        values = by_kind.get(kind)
        if values:
            for slot, value in enumerate(sorted(set(values))[:SLOTS]):
                yield kind, slot, value
    for kind in _SINGLE:
        values = by_kind.get(kind)
        if values:
            yield kind, None, min(values)
    custom = {}
    for value in by_kind.get(keymod.CUSTOM, ()):
        field_code, key = keymod.split_custom(value)
        custom.setdefault(CUSTOM_PREFIX + field_code, []).append(key)
    for kind, values in custom.items():
        for slot, value in enumerate(sorted(set(values))[:SLOTS]):
            yield kind, slot, value


def _objects(values):
    """A 1-d object array of `values` (tuples stay elements)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _first_word_skeleton(first):
    """A first name typed with a second word ("Анна-Мария", "Mary Ann") is compared on its first word."""
    words = (first or "").replace("-", " ").split()
    return names.skeleton(words[0]) if words else ""


def _day(iso):
    try:
        return date.fromisoformat(iso).toordinal()
    except (TypeError, ValueError):
        return -1


# What the base answered, kept while `base_unchanged()` is on: an import's preview matches its rows chunk by chunk
# and then against each other, and the same common values (surnames, name blocks, a company) came back at every
# chunk; at 100k rows their counts were the preview's largest PostgreSQL cost.
_remembered = ContextVar("dedup_base_lookups", default=None)


REMEMBERED = 100_000  # values whose base look-ups a preview remembers at most


@contextmanager
def base_unchanged():
    """Within this block, term frequencies and company lines read from the base are remembered (the caller
    writes nothing to the base meanwhile: a preview)."""
    token = _remembered.set({"counts": {}, "company_phones": {}})
    try:
        yield
    finally:
        _remembered.reset(token)


def base_counts(content_type, wanted):
    """{(kind, value): records holding it} for the given values, from the match-key table: one query (only for
    the values not remembered, see base_unchanged)."""
    pairs = [(kind, value) for kind, values in wanted.items() for value in values if value]
    if not pairs:
        return {}
    memory = _remembered.get()
    if memory is None:
        return _base_counts(content_type, pairs)
    known = memory["counts"]
    missing = [(kind, value) for kind, value in pairs if (content_type.pk, kind, value) not in known]
    if len(known) + len(missing) > REMEMBERED:
        known.clear()  # a 1M-row file's values: forgotten rather than held (a look-up more)
        missing = pairs
    if missing:
        found = _base_counts(content_type, missing)
        for kind, value in missing:
            known[(content_type.pk, kind, value)] = found.get((kind, value), 0)
    out = {}
    for kind, value in pairs:
        count = known[(content_type.pk, kind, value)]
        if count:
            out[(kind, value)] = count
    return out


def _base_counts(content_type, pairs):
    from .models import MatchKey

    table = MatchKey._meta.db_table
    out = {}
    by_kind = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, set()).add(value)
    if connection.vendor == "postgresql":
        pairs, params = _wanted_pairs(by_kind)
        sql = (f"SELECT * FROM (SELECT w.kind, w.value, (SELECT count(*) FROM {table} m WHERE m.content_type_id = %s "
               f"AND m.kind = w.kind AND m.value = w.value) AS n FROM {pairs}) counted WHERE n > 0")
        params = [content_type.pk, *params]
    else:
        clauses, params = _in_clauses(by_kind)
        sql = (f"SELECT kind, value, count(*) FROM {table} WHERE content_type_id = %s AND ({clauses}) "
               f"GROUP BY kind, value")
        params = [content_type.pk, *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, value, count in cursor.fetchall():
            out[(kind, value)] = count
    return out


# ---------------------------------------------------------------------------
# Parameters


@dataclass
class Model:
    """One entity's parameters: m/u per comparison level, the prior, the calibration and the thresholds."""

    entity: str
    comparisons: tuple
    m: dict  # comparison -> {level: probability}
    u: dict
    prior: float = 0.3  # expected duplicates per record
    calibration: dict = field(default_factory=dict)  # {"slope", "intercept"}: sigmoid(slope × weight + intercept)
    possible_percent: int = 50
    duplicate_percent: int = 80
    auto_merge_percent: int = 97
    min_share_base: int = MIN_SHARE_BASE  # term frequencies count a smaller base as this many records

    def weight(self, comparison, level):
        m = self.m.get(comparison, {}).get(level)
        u = self.u.get(comparison, {}).get(level)
        if level == "missing" or not m or not u:
            return 0.0
        return float(np.log2(m / u))

    def weight_table(self, comparison):
        return np.array([self.weight(comparison, level) for level in LEVELS[comparison]], dtype=np.float64)

    def probability(self, weights):
        """Calibrated probability of match weights (array)."""
        weights = np.asarray(weights, dtype=np.float64)
        if self.calibration.get("slope"):
            z = self.calibration["slope"] * weights + self.calibration.get("intercept", 0.0)
            return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
        return 1.0 / (1.0 + np.exp2(-np.clip(weights, -60, 60)))

    def as_json(self):
        return {"m": self.m, "u": self.u, "prior": self.prior, "calibration": self.calibration}


def model_for(entity_key):
    """The entity's model: its rule's thresholds and parameters (admin-edited or estimated), else the defaults."""
    from .defaults import COMPANY, IDENTIFIER, PERSON
    from .matching import rule_for

    rule = rule_for(entity_key)
    comparisons = comparisons_for(entity_key)
    base = PERSON if "first_name" in comparisons else COMPANY  # people and organisations, whatever the entity
    stored = (rule.parameters if rule else None) or {}

    def level_table(table, comparison):
        # A custom field that finds duplicates weighs as an identifier, always: its u estimated from random pairs
        # of a base where few records have a value would be mostly smoothing (and make the field weigh nothing).
        if is_custom(comparison):
            return dict(IDENTIFIER[table])
        return {**base[table].get(comparison, {}), **stored.get(table, {}).get(comparison, {})}

    m = {c: level_table("m", c) for c in comparisons}
    u = {c: level_table("u", c) for c in comparisons}
    model = Model(entity_key, comparisons, m, u, prior=stored.get("prior", base["prior"]),
                  calibration=stored.get("calibration") or base.get("calibration") or {},
                  min_share_base=base.get("min_share_base", MIN_SHARE_BASE))
    if rule is not None:
        model.possible_percent = rule.possible_percent
        model.duplicate_percent = rule.duplicate_percent
        model.auto_merge_percent = rule.auto_merge_percent
    return model


# ---------------------------------------------------------------------------
# Levels of many pairs at once


@dataclass
class Weighed:
    """Levels and weights of pairs (a[i], b[i]) of one Columns."""

    a: np.ndarray
    b: np.ndarray
    comparisons: tuple
    levels: np.ndarray  # (pairs, comparisons) int8
    weights: np.ndarray  # (pairs, comparisons) float32, term-frequency adjusted
    total: np.ndarray  # match weight incl. the prior
    probability: np.ndarray
    contradiction: np.ndarray  # bool: names contradict
    swapped: np.ndarray  # bool: first and last name swapped
    shared: dict  # kind -> code of the shared value (or -1) per pair


def _jw(left, right):
    """Jaro-Winkler of case-folded skeletons (a typo may drop the h of ch/sh: Chad ~ Cad)."""
    return process.cpdist(left.tolist(), right.tolist(), scorer=JaroWinkler.normalized_similarity,
                          dtype=np.float32, workers=-1)


def _ratio(left, right, scorer=fuzz.token_set_ratio):
    return process.cpdist(left.tolist(), right.tolist(), scorer=scorer, dtype=np.uint8, workers=-1)


def _shared(codes, a, b, counts=None):
    """Per pair, the code both records hold (the rarest when several), else -1."""
    ca, cb = codes[a], codes[b]
    best = np.full(len(a), -1, dtype=np.int64)
    best_count = np.full(len(a), np.iinfo(np.int64).max, dtype=np.int64)
    for i in range(ca.shape[1]):
        for j in range(cb.shape[1]):
            hit = (ca[:, i] == cb[:, j]) & (ca[:, i] >= 0)
            if not hit.any():
                continue
            count = counts[ca[:, i].clip(0)] if counts is not None and len(counts) else np.ones(len(a), np.int64)
            better = hit & (count < best_count)
            best[better] = ca[better, i]
            best_count[better] = count[better]
    return best


def _role_last(counts, role_codes):
    """Counts to choose the shared value by: a switchboard or a shared mailbox only when the two share nothing
    more personal (whatever the order the values were coded in), else the rarest."""
    if counts is None or not len(counts) or not len(role_codes):
        return counts
    ranked = counts.astype(np.int64, copy=True)
    ranked[role_codes] += 1 << 40
    return ranked


def weigh(cols, a, b, model, records, *, min_count=2):
    """Levels, weights and probabilities of the pairs (a[i], b[i]); `records` = the size of the base the
    term frequencies were counted in (for them and the prior); `min_count`: records that hold a shared value at least (2 when both sides
    are records of the base, 1 when one side is a row of another entity)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    pairs = len(a)
    comparisons = model.comparisons
    levels = np.zeros((pairs, len(comparisons)), dtype=np.int8)
    weights = np.zeros((pairs, len(comparisons)), dtype=np.float32)
    swapped = np.zeros(pairs, dtype=bool)
    shared = {}
    shares_of = max(int(records), model.min_share_base)  # term frequencies: held / shares_of
    records = max(int(records), MIN_BASE)  # the prior
    col = {c: i for i, c in enumerate(comparisons)}

    def put(comparison, level_codes, tf_kind=None, tf_codes=None):
        index = col[comparison]
        levels[:, index] = level_codes
        table = model.weight_table(comparison)
        weights[:, index] = table[level_codes]
        for level_name, kind in TF_LEVELS.items():
            if level_name[0] != comparison or tf_codes is None or kind != tf_kind:
                continue
            level = LEVELS[comparison].index(level_name[1])
            hit = (level_codes == level) & (tf_codes >= 0)
            if hit.any():
                counts = cols.counts.get(kind)
                held = np.maximum(counts[tf_codes[hit]] if counts is not None and len(counts) else 2, min_count)
                m = model.m.get(comparison, {}).get(level_name[1]) or 0.5
                weights[hit, index] = np.log2(m * shares_of / held)

    if "first_name" in col:
        swapped, first_a, first_b, last_a, last_b = _orient(cols, a, b)
        put("first_name", _first_levels(cols, a, b, first_a, first_b, swapped))
        last_codes = cols.single["surname"]
        raw_last_b = np.where(swapped, cols.first_raw[b], cols.last_raw[b])
        last_level = _name_levels(last_a, last_b, fuzzy=0.9, raw=(cols.last_raw[a], raw_last_b))
        rest = np.nonzero((cols.short[a] | cols.short[b]) & (last_level == 3))[0]
        if len(rest):  # an initial where the surname should be (swapped fields)
            ra, rb, sw = a[rest], b[rest], swapped[rest]
            one = (np.fromiter(map(len, last_a[rest].tolist()), np.int32, len(rest)) == 1) | (
                np.fromiter(map(len, last_b[rest].tolist()), np.int32, len(rest)) == 1)
            fits = np.where(sw, _fits(cols, ra, "first", rb, "first"), _fits(cols, ra, "last", rb, "last"))
            last_level[rest[one & fits]] = 2
        # the exact surname's frequency: the code of a's surname (same stem on both sides)
        tf_codes = np.where(swapped, -1, last_codes[a])
        put("last_name", last_level, "surname", tf_codes)
        put("middle_name", _middle_levels(cols.middle_lo[a], cols.middle_lo[b], raw=(cols.middle_raw[a],
                                                                                    cols.middle_raw[b])))
        ga, gb = cols.gender[a], cols.gender[b]
        # A gender read from names typed in the wrong fields means nothing; Иванов / Иванова differ in gender.
        forms = ((cols.last_stem[a] == cols.last_stem[b]) & (cols.last_sk[a] != cols.last_sk[b])
                 & (cols.female_form[a] != cols.female_form[b]) & ~swapped)
        unknown = (ga == 0) | (gb == 0) | swapped
        level = np.where(unknown, 0, np.where(ga == gb, 1, 2))
        put("gender", np.where(forms, 2, level).astype(np.int8))
    if "company_name" in col:
        code = _shared(cols.multi["company"], a, b, cols.counts.get("company"))
        has_a, has_b = cols.multi["company"][a, 0] >= 0, cols.multi["company"][b, 0] >= 0
        fuzzy = np.zeros(pairs, dtype=bool)
        rest = np.nonzero((code < 0) & has_a & has_b)[0]
        if len(rest):
            fuzzy[rest] = _ratio(cols.text["company"][a[rest]], cols.text["company"][b[rest]], fuzz.ratio) >= 90
        put("company_name", _levels(code >= 0, fuzzy, has_a & has_b), "company", code)
    if "phone" in col:
        codes = cols.multi["phone"]
        code = _shared(codes, a, b, _role_last(cols.counts.get("phone"), cols.company_lines))
        shared["phone"] = code
        both = (codes[a, 0] >= 0) & (codes[b, 0] >= 0)
        line = np.isin(code, cols.company_lines) & (code >= 0)
        level = np.where(code >= 0, np.where(line, 2, 1), np.where(both, 3, 0)).astype(np.int8)
        put("phone", level, "phone", np.where(line, -1, code))
    if "email" in col:
        codes = cols.multi["email"]
        generic, public = cols.email_flags()
        code = _shared(codes, a, b, _role_last(cols.counts.get("email"), np.nonzero(generic)[0]))
        shared["email"] = code
        both = (codes[a, 0] >= 0) & (codes[b, 0] >= 0)
        domain = _shared(cols.multi["email_domain"], a, b, cols.counts.get("email_domain"))
        mailbox = (code >= 0) & generic[code.clip(0)] if len(generic) else np.zeros(pairs, dtype=bool)
        private = (domain >= 0) & ~public[domain.clip(0)] if len(public) else np.zeros(pairs, dtype=bool)
        shared["email_domain"] = np.where(private, domain, -1)
        level = np.where(code >= 0, np.where(mailbox, 2, 1),
                         np.where(private & both, 3, np.where(both, 4, 0))).astype(np.int8)
        put("email", level, "email", np.where(mailbox, -1, code))
        if (level == 3).any():  # the same private domain: weighed by how many share it
            index = col["email"]
            hit = level == 3
            counts = cols.counts.get("email_domain")
            held = np.maximum(counts[domain[hit]] if counts is not None and len(counts) else 2, min_count)
            m = model.m["email"].get("domain") or 0.05
            weights[hit, index] = np.minimum(np.log2(m * shares_of / held), model.weight("email", "domain") + 4)
    if "birthday" in col:
        put("birthday", _birthday_levels(cols, a, b))
    if "address" in col:
        codes = cols.single["address"]
        exact = (codes[a] == codes[b]) & (codes[a] >= 0)
        both = (codes[a] >= 0) & (codes[b] >= 0)
        fuzzy = np.zeros(pairs, dtype=bool)
        rest = np.nonzero(both & ~exact)[0]
        if len(rest):
            left, right = cols.text["address"][a[rest]], cols.text["address"][b[rest]]
            alike = np.nonzero(_ratio(left, right) >= 85)[0]
            fuzzy[rest[alike]] = [_numbers_fit(x, y) for x, y in zip(cols.address_numbers[a[rest[alike]]].tolist(),
                                                                  cols.address_numbers[b[rest[alike]]].tolist(),
                                                                  strict=True)]
        put("address", _levels(exact, fuzzy, both), "address", np.where(exact, codes[a], -1))
    if "company" in col:
        code = _shared(cols.multi["company"], a, b, cols.counts.get("company"))
        shared["company"] = code
        has_a, has_b = cols.multi["company"][a, 0] >= 0, cols.multi["company"][b, 0] >= 0
        fuzzy = np.zeros(pairs, dtype=bool)
        rest = np.nonzero((code < 0) & has_a & has_b)[0]
        if len(rest):
            fuzzy[rest] = _ratio(cols.text["company"][a[rest]], cols.text["company"][b[rest]], fuzz.ratio) >= 90
        put("company", _levels(code >= 0, fuzzy, has_a & has_b), "company", code)
    if "position" in col:
        codes = cols.single["position"]
        exact = (codes[a] == codes[b]) & (codes[a] >= 0)
        both = (codes[a] >= 0) & (codes[b] >= 0)
        fuzzy = np.zeros(pairs, dtype=bool)
        rest = np.nonzero(both & ~exact)[0]
        if len(rest):
            fuzzy[rest] = _ratio(cols.text["position"][a[rest]], cols.text["position"][b[rest]]) >= 85
        put("position", _levels(exact, fuzzy, both))
    for kind in ("tax_id", "kpp"):
        if kind in col:
            codes = cols.single[kind]
            both = (codes[a] >= 0) & (codes[b] >= 0)
            put(kind, np.where(both, np.where(codes[a] == codes[b], 1, 2), 0).astype(np.int8))
    if "domain" in col:
        codes = cols.multi["domain"]
        code = _shared(codes, a, b, cols.counts.get("domain"))
        shared["domain"] = code
        both = (codes[a, 0] >= 0) & (codes[b, 0] >= 0)
        put("domain", np.where(code >= 0, 1, np.where(both, 2, 0)).astype(np.int8), "domain", code)
    for comparison in comparisons:
        if is_custom(comparison):
            _weigh_identifier(cols, a, b, model, comparison, col[comparison], levels, weights, shared)

    for comparison, level in (("email", "mailbox"), ("phone", "shared_line")):
        if comparison in col:
            index = col[comparison]
            hit = levels[:, index] == LEVELS[comparison].index(level)
            weights[hit, index] = np.minimum(weights[hit, index], ROLE_ACCOUNT_MAX)
    # Colleagues share the company, the mail domain and the switchboard together: one piece of evidence
    # ("the same workplace"), so only the strongest of the three counts.
    workplace = [(col["company"], 1)] if "company" in col else []
    if "email" in col:
        workplace.append((col["email"], LEVELS["email"].index("domain")))
    if "phone" in col:
        workplace.append((col["phone"], LEVELS["phone"].index("shared_line")))
    if len(workplace) > 1:
        parts = np.stack([np.where(levels[:, i] == level, np.maximum(weights[:, i], 0), 0) for i, level in workplace])
        extra = parts.sum(axis=0) - parts.max(axis=0)
        for i, level in workplace:  # take the surplus off the weaker ones, so the reasons still add up
            hit = (levels[:, i] == level) & (weights[:, i] > 0) & (parts.max(axis=0) > weights[:, i])
            weights[hit, i] = 0
        del extra

    contradiction = np.zeros(pairs, dtype=bool)
    if "first_name" in col:
        contradiction |= levels[:, col["first_name"]] == LEVELS["first_name"].index("different")
        contradiction |= levels[:, col["gender"]] == LEVELS["gender"].index("different")
    if "tax_id" in col:  # two legal entities, or two branches of one (same INN, another KPP)
        contradiction |= levels[:, col["tax_id"]] == LEVELS["tax_id"].index("different")
        if "kpp" in col:
            contradiction |= ((levels[:, col["tax_id"]] == 1)
                              & (levels[:, col["kpp"]] == LEVELS["kpp"].index("different")))
    prior = np.log2(model.prior / records) - np.log2(1 - min(model.prior / records, 0.5))
    total = prior + weights.sum(axis=1, dtype=np.float64)
    probability = model.probability(total)
    probability = np.where(contradiction, np.minimum(probability, CONTRADICTION_CAP), probability)
    return Weighed(a, b, comparisons, levels, weights, total, probability, contradiction, swapped, shared)


def _weigh_identifier(cols, a, b, model, comparison, index, levels, weights, shared):
    """A custom field that finds duplicates (a customer number, a VIN): exact when the two share a value,
    different when both have values and share none, missing (no evidence) when either has none.

    Its u is an identifier's: two different records share a real one only by mistake (defaults.IDENTIFIER),
    so the same value alone makes a duplicate, as the same INN does for companies — unless the names say
    otherwise (another first name or gender is still a contradiction). A value more records hold than the
    pair is less and less likely an identifier (a placeholder like "0"): u grows with the square of the
    holders over two (three records: −1.2 bits, ten: −4.6, fifty: −9.3)."""
    codes = cols.multi.get(comparison)
    if codes is None:  # nobody has a value
        shared[comparison] = np.full(len(a), -1, dtype=np.int64)
        return
    counts = cols.counts.get(comparison)
    code = _shared(codes, a, b, counts)
    shared[comparison] = code
    both = (codes[a, 0] >= 0) & (codes[b, 0] >= 0)
    level = np.where(code >= 0, 1, np.where(both, 2, 0)).astype(np.int8)
    levels[:, index] = level
    weights[:, index] = model.weight_table(comparison)[level]
    hit = level == 1
    if hit.any() and counts is not None and len(counts):
        held = np.maximum(counts[code[hit]], 2).astype(np.float64)
        weights[hit, index] = model.weight(comparison, "exact") - 2 * np.log2(held / 2)


def _levels(exact, fuzzy, both):
    return np.where(exact, 1, np.where(fuzzy, 2, np.where(both, 3, 0))).astype(np.int8)


def _orient(cols, a, b):
    """First and last names of b as they line up with a's: swapped when b's first name is a's surname and the
    other way round (typed in the wrong fields; an initial counts as fitting: "Е. Дмитриев").
    Returns (swapped, a's first, b's first, a's last, b's last) as case-folded skeletons."""
    fa, fb, la, lb = cols.first_lo[a], cols.first_lo[b], cols.last_lo[a], cols.last_lo[b]
    d_first, d_last = _jw(fa, fb), _jw(la, lb)
    # Only pairs whose names do not line up as typed can be swapped.
    s_fl, s_lf = np.zeros(len(a), dtype=np.float32), np.zeros(len(a), dtype=np.float32)
    loose = np.nonzero((fa != fb) | (la != lb))[0]
    if len(loose):
        s_fl[loose] = _jw(fa[loose], cols.last_sk_lo[b[loose]])
        s_lf[loose] = _jw(la[loose], cols.first_stem_lo[b[loose]])
    short = np.nonzero(cols.short[a] | cols.short[b])[0]  # initials
    if len(short):
        sa, sb = a[short], b[short]
        d_first[short] = np.where(_fits(cols, sa, "first", sb, "first"), np.maximum(d_first[short], 0.9), d_first[short])
        s_fl[short] = np.where(_fits(cols, sa, "first", sb, "last"), np.maximum(s_fl[short], 0.9), s_fl[short])
        s_lf[short] = np.where(_fits(cols, sa, "last", sb, "first"), np.maximum(s_lf[short], 0.9), s_lf[short])
    swapped = (s_fl + s_lf > d_first + d_last + 0.01) & (s_fl >= 0.88) & (s_lf >= 0.88)
    first_b = np.where(swapped, cols.last_sk_lo[b], fb)
    last_b = np.where(swapped, cols.first_stem_lo[b], lb)
    return swapped, fa, first_b, la, last_b


def _one_edit(left, right):
    """A typo: one letter dropped, added, changed or two swapped (case-folded names of four letters or more)."""
    left, right = left.tolist(), right.tolist()
    distance = process.cpdist(left, right, scorer=OSA.distance, dtype=np.int32, workers=-1)
    longer = (np.fromiter(map(len, left), np.int32, len(left)) >= 4) | (np.fromiter(map(len, right), np.int32,
                                                                                    len(right)) >= 4)
    return (distance <= 1) & longer


def _name_levels(left, right, fuzzy, raw=None):
    """exact (1) / fuzzy (2: Jaro-Winkler of the skeletons, or one typo in the skeletons or as typed) /
    different (3) / missing (0)."""
    both = (left != "") & (right != "")
    exact = both & (left == right)
    close = both & ~exact
    out = np.where(exact, 1, np.where(both, 3, 0)).astype(np.int8)
    rest = np.nonzero(close)[0]
    if len(rest):
        hit = (_jw(left[rest], right[rest]) >= fuzzy) | _one_edit(left[rest], right[rest])
        if raw is not None:
            hit |= _one_edit(raw[0][rest], raw[1][rest])
        out[rest[hit]] = 2
    return out


def _first_levels(cols, a, b, first_a, first_b, swapped):
    level = np.zeros(len(a), dtype=np.int8)
    both = (first_a != "") & (first_b != "")
    exact = both & (first_a == first_b)
    level[exact] = 1
    ga = cols.first_groups[a]
    gb = np.where(swapped[:, None], -1, cols.first_groups[b])
    alias = np.zeros(len(a), dtype=bool)
    for i in range(2):
        for j in range(2):
            alias |= (ga[:, i] == gb[:, j]) & (ga[:, i] >= 0)
    rest = both & ~exact
    level[rest & alias] = 2
    raw_b = np.where(swapped, cols.last[b], cols.first[b])
    initial = np.zeros(len(a), dtype=bool)
    cand = np.nonzero(rest & ~alias & (cols.short[a] | cols.short[b]))[0]
    if len(cand):
        ca, cb = a[cand], b[cand]
        one = (np.fromiter(map(len, first_a[cand].tolist()), np.int32, len(cand)) == 1) | (
            np.fromiter(map(len, first_b[cand].tolist()), np.int32, len(cand)) == 1)
        fits = np.where(swapped[cand], _fits(cols, ca, "first", cb, "last"), _fits(cols, ca, "first", cb, "first"))
        initial[cand] = one & fits
    level[initial] = 3
    open_ = np.nonzero(rest & ~alias & ~initial)[0]
    if len(open_):
        raw_lo = np.where(swapped, cols.last_raw[b], cols.first_raw[b])
        close = ((_jw(first_a[open_], first_b[open_]) >= 0.88) | _one_edit(first_a[open_], first_b[open_])
                 | _one_edit(cols.first_raw[a[open_]], raw_lo[open_]))
        level[open_[close]] = 4
        level[open_[~close]] = 5
        # Across scripts, a spelling of one of the transliteration standards is the same name.
        scripts = cols.first_cyr[a[open_]] != np.where(swapped[open_], False, cols.first_cyr[b[open_]])
        for i in open_[~close & scripts].tolist():
            if _same_spelling(cols.first[a[i]], raw_b[i]):
                level[i] = 1
    return level


def _fits(cols, a, side_a, b, side_b):
    """Vectorised `_initial_fits` of a's `side_a` name ("first"/"last") and b's `side_b` name."""
    len_a, len_b = getattr(cols, f"{side_a}_len")[a], getattr(cols, f"{side_b}_len")[b]
    i1a, i2a = getattr(cols, f"{side_a}_init1")[a], getattr(cols, f"{side_a}_init2")[a]
    i1b, i2b = getattr(cols, f"{side_b}_init1")[b], getattr(cols, f"{side_b}_init2")[b]
    a_short = len_a <= len_b
    fits = np.where(a_short, (i1a == i1b) | (i1a == i2b), (i1b == i1a) | (i1b == i2a))
    return fits.astype(bool) & (len_a > 0) & (len_b > 0)


def _numbers_fit(nx, ny):
    """House and flat numbers agree (one address may leave the flat out): Франка 188 is not Франка 71."""
    short, long_ = (nx, ny) if len(nx) <= len(ny) else (ny, nx)
    return long_[: len(short)] == short or set(short) <= set(long_)


def _initial_fits(x, y):
    """`J.` ~ Jorge, `Ю.` ~ Yuri, `Ж.` ~ Zhanna: the initial's sound starts the other name."""
    x, y = x.strip(" ."), y.strip(" .")
    if not x or not y:
        return False
    short, full = (x, y) if len(x) <= len(y) else (y, x)
    initial = names.skeleton(short[:1])
    return initial in (names.skeleton(full[:1]), names.skeleton(full[:2]))


@lru_cache(maxsize=200_000)
def _same_spelling(x, y):
    if names.is_cyrillic(x) == names.is_cyrillic(y):
        return False
    cyr, lat = (x, y) if names.is_cyrillic(x) else (y, x)
    if not names.may_be_spelled(cyr, lat):  # most pairs: no schema's spelling starts with that letter
        return False
    return lat.strip().casefold() in names.latin_spellings(cyr.strip())


def _middle_levels(left, right, raw=None):
    level = _name_levels(left, right, fuzzy=0.9, raw=raw)
    both = (left != "") & (right != "")
    init = np.zeros(len(left), dtype=bool)
    short = (np.fromiter(map(len, left.tolist()), np.int32, len(left)) == 1) | (
        np.fromiter(map(len, right.tolist()), np.int32, len(right)) == 1)
    for i in np.nonzero(short & both)[0].tolist():
        init[i] = left[i][:1] == right[i][:1]
    level = np.where((level == 3) & init & both, 2, np.where(level == 2, 3, np.where(level == 3, 4, level)))
    return level.astype(np.int8)


def _birthday_levels(cols, a, b):
    """exact / close (a day off, a month off, day and month swapped, the year one digit off) / different."""
    da, db = cols.birthday_day[a], cols.birthday_day[b]
    both = (da >= 0) & (db >= 0)
    exact = both & (da == db)
    ya, yb = cols.birth_year[a], cols.birth_year[b]
    ma, mb = cols.birth_month[a], cols.birth_month[b]
    xa, xb = cols.birth_dom[a], cols.birth_dom[b]
    digits = sum(((ya // 10**k) % 10 != (yb // 10**k) % 10).astype(np.int64) for k in range(4))
    close = (np.abs(da - db) <= 1) | ((ya == yb) & (xa == xb) & (np.abs(ma - mb) == 1))
    close |= (ya == yb) & (xa == mb) & (ma == xb)
    close |= (ma == mb) & (xa == xb) & (digits == 1)
    return np.where(exact, 1, np.where(both & close, 2, np.where(both, 3, 0))).astype(np.int8)


def _close_dates(x, y):
    """A day off, a month off, day and month swapped, or the year one off or mistyped by one digit."""
    if abs(x.toordinal() - y.toordinal()) <= 1:
        return True
    if x.year == y.year and x.day == y.day and abs(x.month - y.month) == 1:
        return True
    if x.year == y.year and x.day == y.month and x.month == y.day:
        return True
    if (x.month, x.day) == (y.month, y.day):
        diff = [p != q for p, q in zip(f"{x.year:04d}", f"{y.year:04d}", strict=True)]
        return sum(diff) == 1
    return False


# ---------------------------------------------------------------------------
# Verdicts


@dataclass(frozen=True)
class Verdict:
    """What the engine says about one pair. `reasons` are plain dicts (storable, translated when shown)."""

    outcome: str
    probability: float
    weight: float
    reasons: tuple
    conflicts: tuple
    auto_merge_percent: int = 97

    @property
    def percent(self):
        return int(round(self.probability * 100))

    @property
    def is_duplicate(self):
        return self.outcome == DUPLICATE

    @property
    def auto_mergeable(self):
        return self.is_duplicate and not self.conflicts and self.percent >= self.auto_merge_percent

    @property
    def agreed(self):
        return [r for r in self.reasons if r.get("agree")]

    @property
    def disagreed(self):
        return [r for r in self.reasons if r.get("agree") is False]

    @property
    def explanation(self):
        from .matching import explain_all

        return explain_all(self.reasons)


def verdicts(cols, weighed, model, indexes=None):
    """Verdicts of the weighed pairs (all, or those at `indexes`)."""
    indexes = np.arange(len(weighed.a)) if indexes is None else np.asarray(indexes, dtype=np.int64)
    outcomes = outcome_of(weighed, model)[indexes].tolist()
    levels, weights = weighed.levels[indexes].tolist(), weighed.weights[indexes].tolist()
    shared = {kind: codes[indexes].tolist() for kind, codes in weighed.shared.items()}
    rows = zip(indexes.tolist(), weighed.a[indexes].tolist(), weighed.b[indexes].tolist(),
               weighed.swapped[indexes].tolist(), weighed.probability[indexes].tolist(),
               weighed.total[indexes].tolist(), outcomes, levels, weights, range(len(indexes)), strict=True)
    return [_verdict(cols, weighed.comparisons, model, row, shared) for row in rows]


def outcome_of(weighed, model):
    """Outcome codes of every weighed pair (vectorised): what the scan groups is DUPLICATE."""
    percent = np.rint(weighed.probability * 100)
    contact = np.zeros(len(weighed.a), dtype=bool)
    for comparison in CONTACT_POINTS:
        if comparison in weighed.comparisons:
            level = weighed.levels[:, weighed.comparisons.index(comparison)]
            contact |= (level >= 1) & (level <= (3 if comparison == "email" else 2))
    out = np.full(len(weighed.a), NO_MATCH, dtype=object)
    out[percent >= model.possible_percent] = POSSIBLE
    out[percent >= model.duplicate_percent] = DUPLICATE
    out[weighed.contradiction] = NO_MATCH
    out[weighed.contradiction & contact] = DIFFERENT_PERSON
    return out


def _shares_contact(weighed):
    out = np.zeros(len(weighed.a), dtype=bool)
    for comparison in CONTACT_POINTS:
        if comparison in weighed.comparisons:
            level = weighed.levels[:, weighed.comparisons.index(comparison)]
            out |= (level == 1) | (level == 2)
    return out


def _verdict(cols, comparisons, model, row, shared):
    _i, a, b, swapped, probability, total, outcome, levels, weights, k = row
    reasons, conflicts = [], []
    for comparison, level_code, weight in zip(comparisons, levels, weights, strict=True):
        level = LEVELS[comparison][level_code]
        if level == "missing" or (comparison == "gender" and level == "same"):
            continue  # nothing to say (the same gender still counts in the weight)
        reason = {"code": comparison, "level": level, "weight": round(weight, 1),
                  "agree": level != "different" and weight >= 0}
        reason.update(_reason_values(cols, shared, comparison, a, b, k, swapped))
        if is_custom(comparison):
            reason["entity"] = model.entity  # its label is looked up when shown
        reasons.append(reason)
        if (comparison in CONFLICT_FIELDS or is_custom(comparison)) and (
                level != "exact" and level != "same" or _texts_differ(reason)):
            conflicts.append(comparison)
    if swapped:
        reasons.append({"code": "swapped", "level": "swapped", "weight": 0.0, "agree": True})
        conflicts.append("swapped")
    reasons.sort(key=lambda r: (not r["agree"], -abs(r["weight"])))
    return Verdict(outcome, probability, total, tuple(reasons), tuple(dict.fromkeys(conflicts)),
                   model.auto_merge_percent)


def _texts_differ(reason):
    values = reason.get("values")
    return bool(values) and len(values) == 2 and values[0].casefold() != values[1].casefold()


def _reason_values(cols, shared, comparison, a, b, k, swapped):
    if comparison == "first_name":  # described as b's fields (the saved record when a is a typed row)
        return {"values": [cols.last[a] if swapped else cols.first[a], cols.first[b]]}
    if comparison == "last_name":
        return {"values": [cols.first[a] if swapped else cols.last[a], cols.last[b]]}
    if comparison == "middle_name":
        return {"values": [cols.middle[a], cols.middle[b]]}
    if comparison == "gender":
        return {"values": [_display_name(cols, a), _display_name(cols, b)]}
    if comparison in ("phone", "email", "company", "domain"):
        code = shared[comparison][k] if comparison in shared else -1
        if code >= 0:
            return {"value": cols.values[comparison][code]}
        if comparison == "email" and "email_domain" in shared and shared["email_domain"][k] >= 0:
            return {"value": cols.values["email_domain"][shared["email_domain"][k]]}
        return {}
    if comparison == "birthday":
        return {"values": [_iso(cols.birthday_day[a]), _iso(cols.birthday_day[b])]}
    if comparison in ("address", "position"):
        return {"values": [cols.text[comparison][a], cols.text[comparison][b]]}
    if comparison in ("tax_id", "kpp"):
        return {"values": [_value(cols, comparison, a), _value(cols, comparison, b)]}
    if is_custom(comparison):
        code = shared[comparison][k] if comparison in shared else -1
        if code >= 0:
            return {"value": cols.values[comparison][code]}
        codes = cols.multi.get(comparison)
        if codes is not None and codes[a, 0] >= 0 and codes[b, 0] >= 0:
            return {"values": [cols.values[comparison][codes[a, 0]], cols.values[comparison][codes[b, 0]]]}
        return {}
    return {}


def _value(cols, kind, index):
    code = int(cols.single[kind][index])
    return cols.values[kind][code] if code >= 0 else ""


def _iso(day):
    return date.fromordinal(int(day)).isoformat() if day >= 0 else ""


def _display_name(cols, index):
    return " ".join(p for p in (cols.last[index], cols.first[index], cols.middle[index]) if p)


# ---------------------------------------------------------------------------
# The public API: a pair, a batch of rows against the base, a batch against itself


@dataclass(frozen=True)
class Match:
    object_id: int
    verdict: Verdict


def keys_of(entity_key, value):
    """Match keys of `value`: already a key set, or a dict of field values with optional "phones", "emails",
    "websites" and "companies" lists (computed with dedup.keys.keys_from_values)."""
    if isinstance(value, (set, frozenset, list, tuple)):
        return set(value)
    spec = keymod.spec_for(entity_key)
    row = {f: value.get(f) for f in spec.fields}
    if keymod.CUSTOM_COLUMN in row:  # custom fields given as {"custom_fields": {code: value}} or as cf_<code>
        custom = dict(row[keymod.CUSTOM_COLUMN] or {})
        custom.update({name[len(CUSTOM_PREFIX):]: item for name, item in value.items()
                       if isinstance(name, str) and name.startswith(CUSTOM_PREFIX)})
        row[keymod.CUSTOM_COLUMN] = custom
    if isinstance(row.get("birthday"), str):
        try:
            row["birthday"] = date.fromisoformat(row["birthday"].strip()) if row["birthday"].strip() else None
        except ValueError:
            row["birthday"] = None
    comms = []
    for channel, name in ((Communication.Channel.PHONE, "phones"), (Communication.Channel.EMAIL, "emails"),
                          (Communication.Channel.WEB, "websites")):
        for raw in value.get(name) or ():
            if raw and str(raw).strip():
                comms.append((channel, Communication.normalize_value(channel, str(raw)), str(raw).strip()))
    return keymod.keys_from_values(spec, row, comms, [c for c in value.get("companies") or () if c])


def score(entity_key, a, b, *, counts=None, records=None):
    """The verdict on two records of `entity_key` (dicts of field values or match-key sets).

    Term frequencies come from the base unless `counts` ({(kind, value): records}) is given; `records` is the
    size of the base (default: the entity's live records)."""
    model = model_for(entity_key)
    cols = Columns.from_keysets([keys_of(entity_key, a), keys_of(entity_key, b)])
    _frequencies(entity_key, cols, counts, unsaved=[0, 1])
    n = records if records is not None else _base_size(entity_key) + 2
    return verdicts(cols, weigh(cols, [0], [1], model, n), model)[0]


CROSS_PRIOR = 5.0  # a lead's person or company is often one of the base's clients: matches expected per row


def match_rows(entity_key, rows, *, limit=3, target=None, exclude=(), shared_contacts=False, different_person=True):
    """For each row (dict of values or key set), the saved records of `target` (default: the same entity) that
    are possible duplicates or better, best first, at most `limit`: [[Match, ...], ...].

    A handful of queries for the whole batch: candidates by shared keys, their keys, term frequencies, the
    base's size, company lines. `exclude`: object ids never proposed (e.g. the record being edited).
    `shared_contacts`: also return records that only share a phone or email (NO_MATCH verdicts), for the
    warnings while typing ("this phone belongs to ..."). `different_person=False`: leave out the records the
    engine calls another person (an import never uses them: they cost most of the verdicts of a big file)."""
    target = target or entity_key
    keymod.ensure_current(target)
    model = model_for(target)
    if target != entity_key:
        model.prior = CROSS_PRIOR
    keysets = [keys_of(entity_key, row) for row in rows]
    found = candidates_for_keysets(target, keysets, exclude=exclude)
    ids = sorted({pk for pks in found for pk in pks})
    their = saved_keysets(target, ids)
    cols = Columns.from_keysets(keysets + [their.get(pk, set()) for pk in ids],
                                ids=[-1] * len(keysets) + ids)
    # A row of another entity (a lead against companies) is not one of the target's records: not counted.
    _frequencies(target, cols, None, unsaved=range(len(keysets)) if target == entity_key else ())
    position = {pk: len(keysets) + i for i, pk in enumerate(ids)}
    a = [r for r, pks in enumerate(found) for _pk in pks]
    b = [position[pk] for pks in found for pk in pks]
    out = [[] for _ in rows]
    if not a:
        return out
    weighed = weigh(cols, a, b, model, _base_size(target) + len(rows), min_count=2 if target == entity_key else 1)
    outcomes = outcome_of(weighed, model)
    wanted = outcomes != NO_MATCH
    if shared_contacts:
        wanted |= _shares_contact(weighed)
    if not different_person:
        wanted &= outcomes != DIFFERENT_PERSON
    keep = np.nonzero(wanted)[0].tolist()
    for i, verdict in zip(keep, verdicts(cols, weighed, model, keep), strict=True):
        out[a[i]].append(Match(int(cols.ids[b[i]]), verdict))
    rank = {DUPLICATE: 0, POSSIBLE: 1, NO_MATCH: 2, DIFFERENT_PERSON: 3}
    for matches in out:
        matches.sort(key=lambda m: (rank[m.verdict.outcome], -m.verdict.probability, m.object_id))
        del matches[limit:]
    return out


def match_within(entity_key, rows, *, different_person=True):
    """Pairs of rows of one batch that are possible duplicates or better, or (`different_person`) that share a
    phone or email but are another person: [(i, j, Verdict)], i < j. Rows are blocked like the scan (a shared
    key; a shared company/birthday/address with a shared surname or name block); term frequencies come from
    the base plus the batch. A big file goes through `within_pairs` instead, which keeps no verdict."""
    keysets = [row if isinstance(row, (set, frozenset)) else keys_of(entity_key, row) for row in rows]
    found = {}
    for i, j, verdict in within_pairs(entity_key, keysets, different_person=different_person):
        found.setdefault((i, j), verdict)  # a pair two blocks give is weighed twice, kept once
    return [(i, j, verdict) for (i, j), verdict in sorted(found.items())]


def within_pairs(entity_key, keysets, *, different_person=True):
    """match_within's pairs as they are weighed, a chunk at a time, in no particular order (a pair may come
    twice), from `keysets`, a sequence of match-key sets read by position: the preview's spill of a 1M-row
    file's keys on disk. What is held meanwhile does not grow with the file (dedup.within)."""
    from .within import within_pairs as pairs

    kept = (DUPLICATE, POSSIBLE, DIFFERENT_PERSON) if different_person else (DUPLICATE, POSSIBLE)
    return pairs(entity_key, keysets, kept=kept)


SUPPORT_KINDS = ("company", "birthday", "address")
MAX_SUPPORT = 5000  # a company/birthday/address shared by more records is too common to propose on


def _exact_kinds(entity_key):
    from .matching import rule_for

    rule = rule_for(entity_key)
    return rule.exact_kinds if rule else []


def candidates_for_keysets(entity_key, keysets, *, exclude=(), limit=200):
    """For each key set, the live records of `entity_key` sharing an exact key (phone, email, tax id...), or a
    company/birthday/address together with a surname or a name block. Two queries for the whole batch."""
    from .models import MatchKey

    content_type = ContentType.objects.get_for_model(registry[entity_key].model)
    exact_kinds = set(_exact_kinds(entity_key)) | {"phone", "email"}
    comparisons = comparisons_for(entity_key)
    if "company_name" in comparisons:
        exact_kinds.add("company")
    wanted_exact, wanted_support, wanted_names = {}, {}, {}
    for keys in keysets:
        for kind, value in keys:
            if kind in exact_kinds:
                wanted_exact.setdefault(kind, set()).add(value)
            elif kind in SUPPORT_KINDS:
                wanted_support.setdefault(kind, set()).add(value)
            elif kind in ("name_block", "surname"):
                wanted_names.setdefault(kind, set()).add(value)
    table = MatchKey._meta.db_table
    hits = {}  # (kind, value) -> object ids
    for kind, value, object_id in _holders(table, content_type, wanted_exact):
        hits.setdefault((kind, value), set()).add(object_id)
    support_hits, name_hits = {}, {}
    if wanted_support and wanted_names:
        sql_s, params_s = _in_clauses(wanted_support, alias="s")
        sql_n, params_n = _in_clauses(wanted_names, alias="n")
        rows = _fetch(
            f"SELECT s.kind, s.value, n.kind, n.value, s.object_id FROM {table} s JOIN {table} n "
            f"ON n.content_type_id = s.content_type_id AND n.object_id = s.object_id AND ({sql_n}) "
            f"WHERE s.content_type_id = %s AND ({sql_s})", [*params_n, content_type.pk, *params_s])
        for s_kind, s_value, n_kind, n_value, object_id in rows:
            support_hits.setdefault((s_kind, s_value), set()).add(object_id)
            name_hits.setdefault((n_kind, n_value), set()).add(object_id)
    excluded = set(exclude)
    out = []
    for keys in keysets:
        ids = set()
        for key in keys:
            members = hits.get(key)
            if members and len(members) <= MAX_SUPPORT:
                ids |= members
        by_support = set()
        for key in keys:
            if key[0] in SUPPORT_KINDS and len(support_hits.get(key, ())) <= MAX_SUPPORT:
                by_support |= support_hits.get(key, set())
        if by_support:
            for key in keys:  # intersect per name key: a common surname's set is large, the company's small
                members = name_hits.get(key)
                if members:
                    ids |= by_support & members
        out.append(sorted(ids - excluded)[:limit])
    return out


def saved_keysets(entity_key, ids):
    """{object_id: key set} of saved records (one query)."""
    from .models import MatchKey

    if not ids:
        return {}
    content_type = ContentType.objects.get_for_model(registry[entity_key].model)
    out = {}
    for object_id, kind, value in MatchKey.objects.filter(content_type=content_type, object_id__any=ids).values_list(
            "object_id", "kind", "value"):
        out.setdefault(object_id, set()).add((kind, value))
    return out


def _frequencies(entity_key, cols, counts, unsaved, in_file=None):
    content_type = ContentType.objects.get_for_model(registry[entity_key].model)
    if counts is None:
        cols.fill_counts_from_base(content_type, unsaved=unsaved, in_file=in_file)
    else:
        for kind, values in cols.values.items():
            cols.counts[kind] = np.array([counts.get((kind, v), 1) for v in values], dtype=np.int64)
    if "phone" in comparisons_for(entity_key) and cols.values.get("phone"):
        cols.mark_company_lines(company_phones(cols.shared_phones(), exclude_entity=entity_key))


def company_phones(phones, exclude_entity=None):
    """The phones (E.164) among `phones` that are a company-like record's own number: one query."""
    from .models import MatchKey

    models = [e.model for e in registry if e.key != exclude_entity and keymod.spec_for(e.key).own_name]
    if not models or not phones:
        return set()
    types = [ContentType.objects.get_for_model(m) for m in models]

    def query(values):
        if connection.vendor == "postgresql":  # a look-up per value (see _wanted_pairs), 130-150 -> 37 ms for 25k
            rows = _fetch(f"SELECT w.value FROM unnest(%s::text[]) AS w(value) WHERE EXISTS (SELECT 1 FROM "
                          f"{MatchKey._meta.db_table} m WHERE m.content_type_id = ANY(%s) AND m.kind = 'phone' "
                          f"AND m.value = w.value)", [text_array(values), [t.pk for t in types]])
            return {value for (value,) in rows}
        return set(MatchKey.objects.filter(content_type__in=types, kind="phone", value__any=list(values))
                   .values_list("value", flat=True).distinct())

    memory = _remembered.get()
    if memory is None:
        return query(phones)
    known = memory["company_phones"].setdefault(exclude_entity, {})
    missing = [phone for phone in phones if phone not in known]
    if len(known) + len(missing) > REMEMBERED:
        known.clear()
        missing = list(phones)
    if missing:
        found = query(missing)
        known.update({phone: phone in found for phone in missing})
    return {phone for phone in phones if known[phone]}


def _base_size(entity_key):
    return registry[entity_key].model.objects.count()


def text_array(values):
    """A PostgreSQL array literal of texts (`{"a","b \\"c\\""}`), for `= ANY(%s::text[])`: psycopg adapts a list
    element by element in Python, which for the 100,000 values of an import's keys cost seconds."""
    quoted = (str(value).replace("\\", "\\\\").replace('"', '\\"') for value in values)
    return "{" + ",".join(f'"{value}"' for value in quoted) + "}"


def _holders(table, content_type, wanted):
    """(kind, value, object_id) of the saved records holding any of `wanted` ({kind: values})."""
    if not wanted:
        return []
    if connection.vendor == "postgresql":
        pairs, params = _wanted_pairs(wanted)
        return _fetch(f"SELECT w.kind, w.value, m.object_id FROM {pairs} CROSS JOIN LATERAL (SELECT object_id "
                      f"FROM {table} m WHERE m.content_type_id = %s AND m.kind = w.kind AND m.value = w.value "
                      f"OFFSET 0) m", [*params, content_type.pk])  # OFFSET 0: a look-up per value, never a join
    sql, params = _in_clauses(wanted)
    return _fetch(f"SELECT kind, value, object_id FROM {table} WHERE content_type_id = %s AND ({sql})",
                  [content_type.pk, *params])


def _wanted_pairs(wanted):
    """`unnest(kinds, values) AS w(kind, value)`, every (kind, value) of `wanted` ({kind: values}) as a row, and
    its two parameters (PostgreSQL). Joined to the match keys it is one index look-up per value: the same values
    as `kind = … AND value = ANY(…)` conditions made PostgreSQL estimate each element while planning (90–175 ms
    for an import chunk's 30,000 values) and then scan the whole table (the estimate being high) — 0.3–0.5 s a
    query at 100,000 contacts, growing with the base."""
    kinds, values = [], []
    for kind, of_kind in wanted.items():
        for value in of_kind:
            kinds.append(kind)
            values.append(value)
    return "unnest(%s::text[], %s::text[]) AS w(kind, value)", [text_array(kinds), text_array(values)]


def _in_clauses(wanted, alias=""):
    prefix = f"{alias}." if alias else ""
    clauses, params = [], []
    for kind, values in wanted.items():
        values = sorted(values)
        if connection.vendor == "postgresql":
            clauses.append(f"({prefix}kind = %s AND {prefix}value = ANY(%s::text[]))")
            params += [kind, text_array(values)]
        else:
            clauses.append(f"({prefix}kind = %s AND {prefix}value IN ({', '.join(['%s'] * len(values))}))")
            params += [kind, *values]
    return " OR ".join(clauses), params


def _fetch(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def auto_mergeable(cols, weighed, model):
    """Per weighed pair, `Verdict.auto_mergeable` (vectorised): a duplicate at or above the auto-merge
    threshold with no field conflict — no single-valued field with two different values (a name part typed
    otherwise counts), no swapped names."""
    conflict = weighed.swapped.copy()
    texts = {"first_name": cols.first, "last_name": cols.last, "middle_name": cols.middle}
    for index, comparison in enumerate(weighed.comparisons):
        if comparison not in CONFLICT_FIELDS and not is_custom(comparison):
            continue
        level = weighed.levels[:, index]
        conflict |= level >= 2  # anything but missing and exact (or the same gender)
        if comparison in texts:
            exact = np.nonzero(level == 1)[0]
            if len(exact):
                left, right = texts[comparison][weighed.a[exact]], texts[comparison][weighed.b[exact]]
                if comparison != "middle_name":  # described from b's fields when swapped
                    other = cols.last if comparison == "first_name" else cols.first
                    left = np.where(weighed.swapped[exact], other[weighed.a[exact]], left)
                conflict[exact] |= np.fromiter((x.casefold() != y.casefold() for x, y in
                                                zip(left.tolist(), right.tolist(), strict=True)), bool, len(exact))
    percent = np.rint(weighed.probability * 100)
    return (outcome_of(weighed, model) == DUPLICATE) & ~conflict & (percent >= model.auto_merge_percent)
