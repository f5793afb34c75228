"""The duplicate scan over one entity: blocking on stored match keys, every candidate pair weighed in bulk by
the scoring engine, connected groups.

Never all pairs. Candidate pairs come from
- exact keys (phone, email, tax id, domain, company name): records sharing a value form a block (values
  shared by more than MAX_EXACT_GROUP records, an office switchboard, are left out: they prove nothing);
- for people: records sharing a company, birthday or address form a block, and its pairs whose surnames are
  alike (or swapped with the first name) are kept.
Every candidate pair is then weighed field by field (dedup/scoring.py, vectorised over numpy arrays: the same
levels, weights and term frequencies as the warnings and the import), the pairs the model calls duplicates
are joined into groups (connected components, "not a duplicate" marks never joined), and each group is
explained by its strongest pair.
"""

from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from crm_site.gcpause import without_cycle_collector
from crm_site.registry import registry

from . import keys as keymod
from . import names, scoring
from .matching import rule_for
from .models import MatchKey, NotDuplicate

MAX_EXACT_GROUP = 50  # a value shared by more records (an office switchboard) says nothing about duplicates
MAX_BLOCK = 5000  # a company/birthday/address shared by more records is too common to pair them all
PAIR_CHUNK = 200_000  # pairs weighed at a time: the memory of a chunk stays the same at any scale
SURNAME_CUTOFF = 0.8  # Jaro-Winkler of the surnames (or a swapped surname/first name) to weigh a support pair
SUPPORT_KINDS = scoring.SUPPORT_KINDS


@dataclass
class ScanResult:
    entity: str
    records: int = 0
    candidate_pairs: int = 0
    matched_pairs: int = 0
    skipped_blocks: int = 0
    groups: list = field(default_factory=list)  # {"ids": [...], "score": int, "reasons": [...]}
    pairs: dict = field(default_factory=dict)  # (a, b) -> percent: the pairs called duplicates


def _subquery(queryset):
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    return sql, list(params)


_KIND_OF = {"phone": "phone", "email": "email", "company": "company", "company_name": "company",
            "birthday": "birthday", "address": "address", "position": "position", "tax_id": "tax_id", "kpp": "kpp",
            "domain": "domain"}


READ_CHUNK = 50_000  # match-key rows read at a time (a server-side cursor: memory stays flat)
_FIRST, _SECOND, _THIRD = itemgetter(0), itemgetter(1), itemgetter(2)


def load_columns(entity_key, *, queryset=None):
    """Every scanned record's comparison values as scoring.Columns, straight from the match-key table in one
    pass (one query for every kind the entity is compared on, streamed, one row per distinct value): the
    values' codes are their rows, term frequencies are counted on the codes; email domains and surname stems
    are derived from the emails and the names, each distinct value worked out once."""
    model = registry[entity_key].model
    content_type = ContentType.objects.get_for_model(model)
    sub_sql, sub_params = _subquery(queryset) if queryset is not None else ("", [])

    comparisons = scoring.comparisons_for(entity_key)
    kinds = sorted({_KIND_OF[c] for c in comparisons if c in _KIND_OF})
    if "first_name" in comparisons:
        kinds.append("person")
    custom = [c for c in comparisons if scoring.is_custom(c)]  # cf_<code>: its keys are kind "custom"
    if custom:
        kinds.append(keymod.CUSTOM)
    where = f"content_type_id = %s AND kind IN ({', '.join(['%s'] * len(kinds))})"
    if sub_sql:
        where += f" AND object_id IN ({sub_sql})"
    row_kinds, values, sizes, object_ids = _read_keys(where, [content_type.pk, *kinds, *sub_params])
    kind_index = {kind: i for i, kind in enumerate(kinds)}
    kind_of = np.fromiter(map(kind_index.__getitem__, row_kinds), dtype=np.int64, count=len(row_kinds))
    del row_kinds
    codes = np.repeat(np.arange(len(values)), sizes)
    row_kind = kind_of[codes]
    fetched = {}
    for i, kind in enumerate(kinds):  # each kind's values coded 0, 1, ... in the order they came
        own = np.nonzero(kind_of == i)[0]
        local = np.full(len(values), -1, dtype=np.int64)
        local[own] = np.arange(len(own))
        held = row_kind == i
        kind_codes, kind_values = local[codes[held]], [values[c] for c in own.tolist()]
        if kind in scoring.MULTI_VALUED:
            # A record compares its first SLOTS values of these (by code): in value order, whatever order
            # PostgreSQL grouped them in, so the outcome never depends on the plan.
            kind_codes, kind_values = _in_value_order(kind_codes, kind_values)
        fetched[kind] = (object_ids[held], kind_codes, kind_values)
    del values, object_ids, codes, kind_of, row_kind
    if keymod.CUSTOM in fetched:
        fetched.update(_split_custom(fetched.pop(keymod.CUSTOM), custom))
    ids = _distinct(np.concatenate([oids for oids, _c, _v in fetched.values()] or [np.empty(0, np.int64)]))
    cols = scoring.Columns(len(ids))
    cols.ids[:] = ids
    person = fetched.pop("person", None)
    if person is not None and len(person[0]):
        _fill_person(cols, np.searchsorted(ids, person[0]), person[1], person[2])
    del person
    if "email" in fetched:  # the domain of each email, as the email_domain keys hold it
        object_ids_, email_codes, values = fetched["email"]
        domain_of = [v.rsplit("@", 1)[-1] for v in values]
        domain_codes, domains = _factorize(domain_of)
        fetched["email_domain"] = (object_ids_, domain_codes[email_codes], domains)
    for kind, (object_ids_, kind_codes, values) in fetched.items():
        cols.values[kind] = values
        if scoring.is_custom(kind):
            cols.custom_codes(kind)
        _place(cols, kind, np.searchsorted(ids, object_ids_), kind_codes)
    del fetched
    if "first_name" in comparisons:  # surname stems, coded like a kind (their frequency weighs the surname)
        stem_codes, stems = cols.factor("last_stem")
        relabel, stems_list = _factorize(stems.tolist())  # equal stems (Иванов, Иванова), one code
        surname = relabel[stem_codes]
        index = np.nonzero(stems[stem_codes] != "")[0]  # the empty stem is no surname
        cols.values["surname"] = stems_list
        _place(cols, "surname", index, surname[index])
    for kind in ("address", "position", "company"):
        values = np.array(cols.values.get(kind) or [""], dtype=object)
        kind_codes = cols.single[kind] if kind in cols.single else cols.multi[kind][:, 0]
        cols.text[kind] = np.where(kind_codes >= 0, values[kind_codes.clip(0)], "")
    if cols.values.get("birthday"):
        days = np.array([scoring._day(v) for v in cols.values["birthday"]], dtype=np.int64)
        kind_codes = cols.single["birthday"]
        cols.birthday_day = np.where(kind_codes >= 0, days[kind_codes.clip(0)], -1)
    cols.derive()
    cols._factors = {}  # their codes were only needed to derive the forms
    if "phone" in comparisons and cols.values.get("phone"):
        lookup = {v: c for c, v in enumerate(cols.values["phone"])}
        lines = _company_lines(entity_key)
        cols.company_lines = np.array(sorted(lookup[v] for v in lines if v in lookup), dtype=np.int64)
    return cols


def _split_custom(fetched, comparisons):
    """The `custom` keys ("<code>:<value>") as one kind per custom field that finds duplicates ("cf_<code>"),
    each coded in value order like the other multi-valued kinds; keys of other codes are left out."""
    object_ids, codes, values = fetched
    field_of = []
    for value in values:
        code, _value = keymod.split_custom(value)
        field_of.append(scoring.CUSTOM_PREFIX + code)
    field_of = np.array(field_of, dtype=object)
    out = {}
    for kind in comparisons:
        own = np.nonzero(field_of == kind)[0]
        if not len(own):
            continue
        local = np.full(len(values), -1, dtype=np.int64)
        local[own] = np.arange(len(own))
        held = local[codes] >= 0
        kind_codes = local[codes[held]]
        kind_values = [keymod.split_custom(values[i])[1] for i in own.tolist()]
        kind_codes, kind_values = _in_value_order(kind_codes, kind_values)
        out[kind] = (object_ids[held], kind_codes, kind_values)
    return out


def _read_keys(where, params):
    """The match keys `where` selects, one entry per distinct (kind, value): (kinds, values, how many records
    hold each, those records' ids one after another), streamed through a server-side cursor.

    PostgreSQL groups the keys itself and sends each value's records as one bytea of 8-byte integers
    (int8send), which numpy reads at C speed: no Python object per key (an array_agg would be parsed into
    Python ints). Unsorted: sorting the grouped rows cost PostgreSQL more than the grouping. Elsewhere (the
    SQLite demo) the rows come one per key and are grouped here."""
    table = MatchKey._meta.db_table
    kinds, values, sizes = [], [], array("q")
    if connection.vendor == "postgresql":
        blobs = []
        # In a transaction, so the cursor is not held past it (a held one is written out whole first), and
        # planned for every row, not for the first tenth a cursor is planned for by default (twice as slow).
        with transaction.atomic(), _setting("cursor_tuple_fraction", "1"), connection.chunked_cursor() as cursor:
            cursor.execute(f"SELECT kind, value, string_agg(int8send(object_id), '') FROM {table} WHERE {where} "
                           "GROUP BY kind, value", params)
            while rows := cursor.fetchmany(READ_CHUNK):
                kinds += map(_FIRST, rows)
                values += map(_SECOND, rows)
                held = list(map(_THIRD, rows))
                sizes.extend(map(len, held))  # 8 bytes a record
                blobs.append(b"".join(held))
                del rows, held
        object_ids = np.frombuffer(b"".join(blobs), dtype=">i8").astype(np.int64)
        return kinds, values, np.frombuffer(sizes, dtype=np.int64) // 8, object_ids
    with connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT kind, value, object_id FROM {table} WHERE {where} ORDER BY kind, value", params)
        object_ids = array("q")
        while rows := cursor.fetchmany(READ_CHUNK):
            for kind, value, object_id in rows:
                if not values or value != values[-1] or kind != kinds[-1]:
                    kinds.append(kind)
                    values.append(value)
                    sizes.append(0)
                sizes[-1] += 1
                object_ids.append(object_id)
    return kinds, values, np.frombuffer(sizes, dtype=np.int64), np.frombuffer(object_ids, dtype=np.int64)


@contextmanager
def _setting(name, value):
    """A PostgreSQL setting for the block, inside a transaction: put back after it (after an error, the
    rollback of the block puts it back)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
        before = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, before])


def _distinct(values):
    """np.unique(values) by sorting: numpy's hashing unique is ~100x slower on many distinct integers."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _member(values, of):
    """np.isin(values, of) by a binary search in the sorted `of` (numpy's own is a few times slower)."""
    of = np.sort(of)
    if not len(of):
        return np.zeros(len(values), dtype=bool)
    return of[np.searchsorted(of, values).clip(0, len(of) - 1)] == values


def _in_value_order(codes, values):
    """(codes, values) recoded so that the values are sorted."""
    order = sorted(range(len(values)), key=values.__getitem__)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], [values[i] for i in order]


def _factorize(values):
    """(codes, distinct values): equal values, equal codes, in order of first appearance."""
    distinct = list(dict.fromkeys(values))
    position = dict(zip(distinct, range(len(distinct)), strict=True))
    return np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values)), distinct


def _place(cols, kind, index, codes):
    """Codes of one kind into the columns (up to SLOTS per record for multi-valued kinds) and their counts."""
    cols.counts[kind] = np.bincount(codes, minlength=len(cols.values[kind])).astype(np.int64)
    if kind in cols.multi:
        order = np.lexsort((codes, index))
        index, codes = index[order], codes[order]
        starts = np.r_[0, np.nonzero(np.diff(index))[0] + 1] if len(index) else np.zeros(0, np.int64)
        slot = np.arange(len(index)) - np.repeat(starts, np.diff(np.r_[starts, len(index)]))
        keep = slot < scoring.SLOTS
        cols.multi[kind][index[keep], slot[keep]] = codes[keep]
    else:
        cols.single[kind][index] = codes


def _fill_person(cols, index, person_codes, values):
    """Name parts of many records (`values`: the distinct `person` keys, `person_codes` the records'): each
    distinct word is worked out once, the records get theirs by index."""
    parts = [keymod.split_person(v) for v in values]
    last_codes, lasts = _factorize([p[0] for p in parts])
    first_codes, firsts = _factorize([p[1] for p in parts])
    middle_codes, middles = _factorize([p[2] for p in parts])
    gender = np.array([{"m": 1, "f": 2}.get(p[3], 0) for p in parts], dtype=np.int8)
    del parts
    last_of, first_of, middle_of = ({"codes": last_codes[person_codes]}, {"codes": first_codes[person_codes]},
                                    {"codes": middle_codes[person_codes]})
    lasts_a, firsts_a, middles_a = scoring._objects(lasts), scoring._objects(firsts), scoring._objects(middles)
    cols.set_factor("last", last_of, lasts_a, index)
    cols.set_factor("first", first_of, firsts_a, index)
    cols.set_factor("middle", middle_of, middles_a, index)
    cols.set_factor("last_sk", last_of, scoring._objects([names.skeleton(w) for w in lasts]), index)
    cols.set_factor("middle_sk", middle_of, scoring._objects([names.skeleton(w) for w in middles]), index)
    cols.set_factor("last_stem", last_of, scoring._objects([names.surname_stem(w) for w in lasts]), index)
    cols.set_factor("first_sk", first_of, scoring._objects([scoring._first_word_skeleton(w) for w in firsts]), index)
    cols.gender[index] = gender[person_codes]
    group_codes = {}
    groups = np.full((len(firsts), 2), -1, dtype=np.int32)
    for i, word in enumerate(firsts):
        for slot, gid in enumerate(sorted(names.first_name_groups(word))[:2]):
            groups[i, slot] = group_codes.setdefault(gid, len(group_codes))
    cols.first_groups[index] = groups[first_of["codes"]]


def _company_lines(entity_key):
    """The phones that are a company-like record's own number (read from the index on those few keys)."""
    types = [ContentType.objects.get_for_model(e.model).pk for e in registry
             if e.key != entity_key and keymod.spec_for(e.key).own_name]
    if not types:
        return []
    return list(MatchKey.objects.filter(content_type_id__in=types, kind="phone").values_list("value", flat=True)
                .distinct().order_by())


def candidate_pairs(cols, entity_key, rule, result=None, deferred=None):
    """(a, b) index arrays, a < b, of the pairs worth weighing (see the module's doc).

    With `deferred` (a list), the pairs of people that share nothing but a company's switchboard and whose
    names cannot agree (colleagues: most of the pairs at scale) are appended to it as (a, b) instead: they
    can never be called duplicates, and their contradiction only matters inside a group (see scan_entity)."""
    result = result or ScanResult(entity_key)
    lefts, rights = [], []
    exact = list(rule.exact_kinds)
    if "company_name" in scoring.comparisons_for(entity_key) and "company" not in exact:
        exact.append("company")
    if keymod.CUSTOM in exact:  # one block per custom field that finds duplicates, on its columns
        exact.remove(keymod.CUSTOM)
        exact += [kind for kind in cols.multi if scoring.is_custom(kind)]
    by_names = deferred is not None and rule.uses_names and "first_name" in scoring.comparisons_for(entity_key)
    for kind in exact:
        members, codes = _flat(cols, kind)
        if kind == "phone" and by_names and len(cols.company_lines):
            line = _member(codes, cols.company_lines)
            left, right, skipped = block_pairs(members[line], codes[line], MAX_EXACT_GROUP)
            result.skipped_blocks += skipped
            for start in range(0, len(left), PAIR_CHUNK):
                a, b = left[start:start + PAIR_CHUNK], right[start:start + PAIR_CHUNK]
                keep = _names_may_agree(cols, a, b)
                result.candidate_pairs += int(np.count_nonzero(keep))
                lefts.append(a[keep])
                rights.append(b[keep])
                deferred.append((a[~keep], b[~keep]))
            members, codes = members[~line], codes[~line]
        left, right, skipped = block_pairs(members, codes, MAX_EXACT_GROUP)
        result.skipped_blocks += skipped
        result.candidate_pairs += len(left)
        lefts.append(left)
        rights.append(right)
    if rule.uses_names and "first_name" in scoring.comparisons_for(entity_key):
        last_letter = _first_letters(cols.last_lo)
        first_letter = _first_letters(cols.first_lo)
        low, high = np.minimum(last_letter, first_letter), np.maximum(last_letter, first_letter)
        for kind in SUPPORT_KINDS:
            members, codes = _flat(cols, kind)
            # A shared company/birthday/address together with the first letter of the surname, or of the first
            # name, or both letters in either order (swapped fields): blocks stay small as the base grows.
            parts = []
            for letters in (last_letter, first_letter, low * 2048 + high):
                left, right, skipped = block_pairs(members, codes * 4_194_304 + letters[members], MAX_BLOCK)
                result.skipped_blocks += skipped
                parts.append(left.astype(np.int64) * cols.n + right)
            unique = _distinct(np.concatenate(parts))
            left, right = unique // cols.n, unique % cols.n
            result.candidate_pairs += len(left)
            for start in range(0, len(left), PAIR_CHUNK):
                a, b = left[start:start + PAIR_CHUNK], right[start:start + PAIR_CHUNK]
                keep = _surnames_alike(cols, a, b)
                lefts.append(a[keep])
                rights.append(b[keep])
    if not lefts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    left = np.concatenate(lefts).astype(np.int64)
    right = np.concatenate(rights).astype(np.int64)
    unique = _distinct(left * cols.n + right)
    return unique // cols.n, unique % cols.n


def _first_letters(skeletons):
    """Code of each record's first letter (0 when empty)."""
    return np.fromiter((ord(s[0]) % 2048 if s else 0 for s in skeletons.tolist()), dtype=np.int64,
                       count=len(skeletons))


def _flat(cols, kind):
    if kind in cols.multi:
        codes = cols.multi[kind]
        index = np.nonzero(codes >= 0)
        return index[0], codes[index].astype(np.int64)
    codes = cols.single[kind]
    index = np.nonzero(codes >= 0)[0]
    return index, codes[index].astype(np.int64)


def _surnames_alike(cols, a, b):
    la, lb = cols.last_stem[a], cols.last_stem[b]
    fa, fb = cols.first_sk[a], cols.first_sk[b]

    def jw(x, y):
        return process.cpdist(x.tolist(), y.tolist(), scorer=JaroWinkler.normalized_similarity, dtype=np.float32,
                              score_cutoff=SURNAME_CUTOFF, workers=-1)

    keep = jw(la, lb) >= SURNAME_CUTOFF
    rest = np.nonzero(~keep)[0]
    if len(rest):
        keep[rest] = (jw(la[rest], fb[rest]) >= SURNAME_CUTOFF) & (jw(fa[rest], lb[rest]) >= SURNAME_CUTOFF)
    return keep


def _names_may_agree(cols, a, b):
    """Pairs whose surnames are alike, or one half of a swap is ("Щукина Н." / "Наталья Щукина"), or a surname
    is missing: of the pairs that share only a switchboard, the only ones that may be one person."""
    la, lb = cols.last_stem[a], cols.last_stem[b]
    keep = (la == "") | (lb == "")
    rest = np.nonzero(~keep)[0]
    for left, right in ((la, lb), (la, cols.first_sk[b]), (cols.first_sk[a], lb)):
        if not len(rest):
            break
        keep[rest] = _jw_at_least(left[rest], right[rest], SURNAME_CUTOFF)
        rest = rest[~keep[rest]]
    return keep


def _jw_at_least(left, right, cutoff):
    return process.cpdist(left.tolist(), right.tolist(), scorer=JaroWinkler.normalized_similarity,
                          dtype=np.float32, score_cutoff=cutoff, workers=-1) >= cutoff


def scan_entity(entity_key, *, queryset=None, progress=None):
    """Find duplicate groups among the live records of an entity (or of `queryset`)."""
    with without_cycle_collector():
        return _scan_entity(entity_key, queryset=queryset, progress=progress)


def _scan_entity(entity_key, *, queryset=None, progress=None):
    rule = rule_for(entity_key)
    model = registry[entity_key].model
    result = ScanResult(entity_key)
    if rule is None or not keymod.spec_for(entity_key).enabled:
        return result
    report = progress or (lambda percent: None)
    content_type = ContentType.objects.get_for_model(model)
    keymod.ensure_current(entity_key)
    cols = load_columns(entity_key, queryset=queryset)
    result.records = cols.n
    report(30)
    deferred = []
    a, b = candidate_pairs(cols, entity_key, rule, result, deferred=deferred)
    report(50)
    scoring_model = scoring.model_for(entity_key)
    kept, apart = ([], [], []), ([], [])
    for start in range(0, len(a), PAIR_CHUNK):
        _weigh_into(cols, a[start:start + PAIR_CHUNK], b[start:start + PAIR_CHUNK], scoring_model, kept, apart)
        report(50 + 40 * min(start + PAIR_CHUNK, len(a)) / max(len(a), 1))
    # The deferred pairs (colleagues on a switchboard) are weighed only when both of them ended up connected:
    # there their contradiction keeps them apart, as if they had been weighed with the rest.
    if deferred and kept[0]:
        label = _components(cols.n, np.concatenate(kept[0]), np.concatenate(kept[1]))
        late_a, late_b = np.concatenate([x for x, _y in deferred]), np.concatenate([y for _x, y in deferred])
        together = label[late_a] == label[late_b]
        late = _distinct(late_a[together].astype(np.int64) * cols.n + late_b[together])
        late = late[~_member(late, a * cols.n + b)]  # some share another phone or an email as well
        if len(late):
            result.candidate_pairs += len(late)
            _weigh_into(cols, late // cols.n, late % cols.n, scoring_model, kept, apart)
    del a, b, deferred
    a, b, percent = (np.concatenate(kept[0]), np.concatenate(kept[1]), np.concatenate(kept[2])) if kept[0] else (
        np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    contra_a = np.concatenate(apart[0]) if apart[0] else np.empty(0, np.int64)
    contra_b = np.concatenate(apart[1]) if apart[1] else np.empty(0, np.int64)

    # "Not a duplicate" marks, then groups, each explained by its strongest pair.
    marks = np.array(list(NotDuplicate.objects.filter(content_type=content_type)
                          .values_list("first_id", "second_id")), dtype=np.int64).reshape(-1, 2)
    marked_a = marked_b = np.empty(0, np.int64)
    if len(marks) and cols.n:
        where_first = np.searchsorted(cols.ids, marks[:, 0]).clip(0, cols.n - 1)
        where_second = np.searchsorted(cols.ids, marks[:, 1]).clip(0, cols.n - 1)
        known = (cols.ids[where_first] == marks[:, 0]) & (cols.ids[where_second] == marks[:, 1])
        marked_a = np.minimum(where_first, where_second)[known]
        marked_b = np.maximum(where_first, where_second)[known]
        unmarked = ~_member(a * cols.n + b, marked_a * cols.n + marked_b)
        a, b, percent = a[unmarked], b[unmarked], percent[unmarked]
    result.matched_pairs = len(a)
    ids_a, ids_b = cols.ids[a].tolist(), cols.ids[b].tolist()
    result.pairs = dict(zip(zip(ids_a, ids_b, strict=True), percent.tolist(), strict=True))
    in_pairs = np.zeros(cols.n, dtype=bool)  # only those can meet in a group
    in_pairs[a] = True
    in_pairs[b] = True
    inside = in_pairs[contra_a] & in_pairs[contra_b]
    apart_a = np.concatenate([marked_a, contra_a[inside]])
    apart_b = np.concatenate([marked_b, contra_b[inside]])
    groups = _group_arrays(cols.ids, a, b, percent, apart_a, apart_b)
    if groups:
        _explain(cols, groups, scoring_model)
    result.groups = _live_only(model, groups)
    report(100)
    return result


def _weigh_into(cols, a, b, model, kept, apart):
    """Weigh pairs; append those called duplicates to `kept` (a, b, percent) and those whose names contradict
    (never in one group, even through a third record) to `apart` (a, b)."""
    weighed = scoring.weigh(cols, a, b, model, cols.n)
    keep = scoring.outcome_of(weighed, model) == scoring.DUPLICATE
    kept[0].append(weighed.a[keep])
    kept[1].append(weighed.b[keep])
    kept[2].append(np.rint(weighed.probability[keep] * 100).astype(np.int64))
    apart[0].append(weighed.a[weighed.contradiction])
    apart[1].append(weighed.b[weighed.contradiction])


def block_pairs(members, codes, max_block=MAX_BLOCK):
    """All pairs (i < j by position) of members sharing a code, vectorised; blocks over `max_block` skipped.

    Rows are ordered by (block size, code), so the rows of blocks larger than k are a suffix: step k pairs
    each row with the one k places after it when both are in the same block.
    """
    if not len(codes):
        return np.empty(0, np.int32), np.empty(0, np.int32), 0
    members = members.astype(np.int32)  # half the memory of int64 pair arrays at 1M records
    unique, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    sizes = counts[inverse]
    skipped = int(np.count_nonzero(counts > max_block))
    keep = (sizes > 1) & (sizes <= max_block)
    members, codes, sizes = members[keep], codes[keep], sizes[keep]
    order = np.lexsort((members, codes, sizes))
    members, codes, sizes = members[order], codes[order], sizes[order]
    lefts, rights = [], []
    k = 1
    start = 0
    while start < len(codes):
        while start < len(codes) and sizes[start] <= k:
            start += 1
        tail_members, tail_codes = members[start:], codes[start:]
        if len(tail_codes) <= k:
            break
        same = tail_codes[:-k] == tail_codes[k:]
        lefts.append(tail_members[:-k][same])
        rights.append(tail_members[k:][same])
        k += 1
    if not lefts:
        return np.empty(0, np.int32), np.empty(0, np.int32), skipped
    left, right = np.concatenate(lefts), np.concatenate(rights)
    low, high = np.minimum(left, right), np.maximum(left, right)
    distinct = low != high
    return low[distinct], high[distinct], skipped


def _components(nodes, a, b):
    """Connected components of the graph on `nodes` (0..nodes-1) with edges (a, b): each node's smallest
    member (min-label propagation with pointer jumping, vectorised)."""
    label = np.arange(nodes, dtype=np.int64)
    if not len(a):
        return label
    while True:
        low = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        label = label[label]
        while True:  # pointer jumping until every node points at a root
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if np.array_equal(label, before):
            return label


def _group_arrays(ids, a, b, score, apart_a=(), apart_b=()):
    """Connected records as groups, each with its mean pair score and its strongest pair ("best").

    (a[i], b[i]) are the pairs called duplicates (positions in `ids`), score[i] their percent. (apart_a[j],
    apart_b[j]) never end up in one group, not even through a third record: in a component holding such a pair,
    the strongest pairs are joined first and a join that would bring an apart pair together is left out (the
    rest — nearly every component — is joined as it is, vectorised)."""
    a, b, score = np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(score, np.int64)
    apart_a, apart_b = np.asarray(apart_a, np.int64), np.asarray(apart_b, np.int64)
    if not len(a):
        return []
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    la, lb = inverse[:len(a)], inverse[len(a):]
    label = _components(len(nodes), la, lb)
    edge_ok = np.ones(len(a), dtype=bool)
    if len(apart_a):
        pos_a, pos_b = np.searchsorted(nodes, apart_a).clip(0, len(nodes) - 1), np.searchsorted(
            nodes, apart_b).clip(0, len(nodes) - 1)
        known = (nodes[pos_a] == apart_a) & (nodes[pos_b] == apart_b)
        pos_a, pos_b = pos_a[known], pos_b[known]
        clash = label[pos_a] == label[pos_b]
        if clash.any():
            label, edge_ok = _greedy(label, la, lb, score, nodes, pos_a[clash], pos_b[clash])
    la, lb, score_ok = la[edge_ok], lb[edge_ok], score[edge_ok]
    edge_label = label[la]
    order = np.lexsort((lb, la, -score_ok, edge_label))  # per group: the strongest pair, then the lowest
    edge_label, first = edge_label[order], np.r_[True, edge_label[order][1:] != edge_label[order][:-1]]
    best_a, best_b = la[order][first], lb[order][first]
    roots = edge_label[first]
    sums = np.bincount(label[la], weights=score_ok, minlength=len(nodes))[roots]
    counts = np.bincount(label[la], minlength=len(nodes))[roots]
    means = np.round(sums / counts).astype(np.int64)
    member_order = np.lexsort((ids[nodes], label))
    member_label = label[member_order]
    starts = np.searchsorted(member_label, roots)
    ends = np.searchsorted(member_label, roots, side="right")
    member_ids = ids[nodes][member_order].tolist()
    groups = [{"ids": member_ids[s:e], "score": int(m), "best": (int(x), int(y)), "reasons": []}
              for s, e, m, x, y in zip(starts.tolist(), ends.tolist(), means.tolist(), nodes[best_a].tolist(),
                                       nodes[best_b].tolist(), strict=True)]
    groups.sort(key=lambda g: (-g["score"], g["ids"][0]))
    return groups


def _greedy(label, la, lb, score, nodes, ban_a, ban_b):
    """The components holding an apart pair, joined strongest pair first without joining an apart pair (in
    Python: such components are few and small). Returns the new labels and which edges still count."""
    bad = np.unique(label[ban_a])
    edge_ok = np.ones(len(la), dtype=bool)
    label = label.copy()
    touched = np.isin(label[la], bad)
    edge_ok[touched] = False
    index = np.nonzero(touched)[0]
    index = index[np.lexsort((lb[index], la[index], -score[index]))]  # strongest first, then as found
    banned = {}
    for x, y in zip(ban_a.tolist(), ban_b.tolist(), strict=True):
        banned.setdefault(x, set()).add(y)
        banned.setdefault(y, set()).add(x)
    parent, members = {}, {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, x, y in zip(index.tolist(), la[index].tolist(), lb[index].tolist(), strict=True):
        root_x, root_y = find(x), find(y)
        if root_x == root_y:
            edge_ok[i] = True
            continue
        group_x, group_y = members.get(root_x, {root_x}), members.get(root_y, {root_y})
        if banned.get(root_x, set()) & group_y:
            continue
        low, high = min(root_x, root_y), max(root_x, root_y)
        members[low] = group_x | group_y
        banned[low] = banned.get(root_x, set()) | banned.get(root_y, set())
        members.pop(high, None)
        banned.pop(high, None)
        parent[high] = low
        edge_ok[i] = True
    for node in parent:
        label[node] = find(node)
    return label, np.where(touched, label[la] == label[lb], edge_ok)


def _groups(ids, pair_scores, apart=()):
    """`_group_arrays` for pairs given as {(a, b): percent} and [(a, b)] (positions in `ids`)."""
    pairs = np.array(list(pair_scores), dtype=np.int64).reshape(-1, 2)
    apart = np.array(list(apart), dtype=np.int64).reshape(-1, 2)
    return _group_arrays(ids, pairs[:, 0], pairs[:, 1], np.array(list(pair_scores.values()), dtype=np.int64),
                         apart[:, 0], apart[:, 1])


AUTO_MERGE_MAX = 6  # a bigger group is never merged automatically


def _explain(cols, groups, model):
    """Each group's reasons (its strongest pair's), and whether it may be merged automatically: every two of
    its records called duplicates above the auto-merge threshold, with no field conflict between them (checked
    vectorised over all those pairs; the reasons are worked out for the strongest pair only)."""
    position = dict(zip(cols.ids.tolist(), range(cols.n), strict=True))
    a, b, owner = [], [], []
    for index, group in enumerate(groups):
        best = group.pop("best")
        a.append(best[0])
        b.append(best[1])
        owner.append(index)
        members = [position[pk] for pk in group["ids"]]
        if len(members) <= AUTO_MERGE_MAX:
            for i, x in enumerate(members):
                for y in members[i + 1:]:
                    if (x, y) != tuple(best):
                        a.append(x)
                        b.append(y)
                        owner.append(index)
    weighed = scoring.weigh(cols, a, b, model, cols.n)
    mergeable = scoring.auto_mergeable(cols, weighed, model)
    owner = np.asarray(owner, dtype=np.int64)
    first = np.r_[True, owner[1:] != owner[:-1]]  # each group's strongest pair comes first
    verdicts = scoring.verdicts(cols, weighed, model, np.nonzero(first)[0])
    blocked = np.bincount(owner[~mergeable], minlength=len(groups)) > 0
    for group, verdict, no in zip(groups, verdicts, blocked.tolist(), strict=True):
        group["reasons"] = list(verdict.reasons)
        group["auto_mergeable"] = len(group["ids"]) <= AUTO_MERGE_MAX and not no


def _with_pks(queryset, pks):
    """`pk IN (...)` for many pks: one array parameter on PostgreSQL (a long IN list is slow to bind).

    `IN (SELECT unnest(array))`, not `= ANY(array)`: with stale statistics the planner may filter every row
    against the whole array (n x m comparisons, minutes at 1M); a semi-join stays linear."""
    pks = list(pks)
    if not pks:  # unnest('{}') has no type to go by
        return queryset.none()
    if connection.vendor != "postgresql":
        return queryset.filter(pk__in=pks)
    meta = queryset.model._meta
    column = f'"{meta.db_table}"."{meta.pk.column}"'
    return queryset.extra(where=[f"{column} IN (SELECT unnest(%s))"], params=[pks])


def _live_only(model, groups):
    """Safety net: a record in the bin never appears in a group, even if its keys were left behind."""
    wanted = [pk for g in groups for pk in g["ids"]]
    live = set(_with_pks(model.objects.order_by(), wanted).values_list("pk", flat=True))
    if live.issuperset(wanted):  # nearly always
        return groups
    out = []
    for group in groups:
        ids = [pk for pk in group["ids"] if pk in live]
        if len(ids) >= 2:
            out.append({**group, "ids": ids})
    return out
