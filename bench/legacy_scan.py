"""The duplicate scan as it was before issue 18 (rules: an exact shared key, or similar names with a shared
company/birthday/address), kept only so the bench prints the old engine's figures beside the new one's.

The duplicate scan over one entity: blocking on stored match keys, bulk scoring, connected groups.

Never all pairs. Candidate pairs come from
- exact keys (phone, email, tax id, domain, company name): SQL groups records sharing a value;
- for the name rule (similar names AND a shared company, birthday or address): records sharing one of
  those values form a block; its pairs are made in numpy and their name keys (order-free, transliterated)
  scored in bulk with rapidfuzz `cpdist` (uint8, in chunks). Name-only blocks (`ivan|p`, stored for the
  warnings while typing) would add no pair the rule can report, so the scan does not pay for them.
Only pairs that satisfy the entity's rule are scored in Python (with the same reasons as the warnings),
then joined into groups (connected components). "Not a duplicate" marks remove pairs first.
"""

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from rapidfuzz import fuzz, process

from crm_site.registry import registry
from dedup import keys as keymod
from dedup.matching import SUPPORT_KINDS, combine, exact_reason, name_reason, rule_for
from dedup.models import MatchKey, NotDuplicate

MAX_EXACT_GROUP = 50  # a value shared by more records (an office switchboard) says nothing about duplicates
MAX_BLOCK = 5000  # a company/birthday/address shared by more records is too common to pair them all
PAIR_CHUNK = 1_000_000
_AGGREGATE = {True: "array_agg(object_id ORDER BY object_id)", False: "group_concat(object_id)"}


@dataclass
class ScanResult:
    entity: str
    records: int = 0
    candidate_pairs: int = 0
    matched_pairs: int = 0
    skipped_blocks: int = 0
    groups: list = field(default_factory=list)  # {"ids": [...], "score": int, "reasons": [...]}
    pairs: dict = field(default_factory=dict)  # (a, b) -> (score, reasons): the matched pairs


def _subquery(queryset):
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    return sql, list(params)


def _fetch(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def scan_entity(entity_key, *, queryset=None, progress=None):
    """Find duplicate groups among the live records of an entity (or of `queryset`)."""
    rule = rule_for(entity_key)
    model = registry[entity_key].model
    result = ScanResult(entity_key)
    if rule is None or not keymod.spec_for(entity_key).enabled:
        return result
    content_type = ContentType.objects.get_for_model(model)
    table = MatchKey._meta.db_table
    # Keys exist only for live records (removed on delete); a subset is scanned through a subquery.
    where = "content_type_id = %s AND kind = %s"
    sub_sql, sub_params = "", []
    if queryset is not None:
        sub_sql, sub_params = _subquery(queryset)
        where += f" AND object_id IN ({sub_sql})"
    report = progress or (lambda percent: None)
    collate = ' COLLATE "C"' if connection.vendor == "postgresql" else ""  # byte order: sorting is faster

    # 1. Exact keys: only the values shared by 2..MAX_EXACT_GROUP records come back from the database.
    exact = []
    for kind in rule.exact_kinds:
        for value, members in _fetch(
            f"SELECT value, {_AGGREGATE[connection.vendor == 'postgresql']} FROM {table} WHERE {where} "
            f"GROUP BY value HAVING count(*) > 1", [content_type.pk, kind, *sub_params]
        ):
            if isinstance(members, str):  # SQLite's group_concat
                members = [int(pk) for pk in members.split(",")]
            if len(members) > MAX_EXACT_GROUP:
                result.skipped_blocks += 1
            else:
                exact.append((kind, value, members))
    report(20)

    # 2. Names and, for the name rule, each record's company/birthday/address as dense integer codes.
    rows = _fetch(f"SELECT object_id, value FROM {table} WHERE {where}", [content_type.pk, "name", *sub_params])
    name_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    name_values = [r[1] for r in rows]
    del rows
    support_rows = {}
    if rule.uses_names:
        for kind in SUPPORT_KINDS:
            rows = _fetch(f"SELECT object_id, dense_rank() OVER (ORDER BY value{collate}) FROM {table} "
                          f"WHERE {where}", [content_type.pk, kind, *sub_params])
            support_rows[kind] = np.array(rows, dtype=np.int64).reshape(-1, 2)
            del rows
    member_ids = [pk for _k, _v, members in exact for pk in members]
    ids = np.unique(np.concatenate([name_ids, np.array(member_ids, dtype=np.int64)]
                                   + [arr[:, 0] for arr in support_rows.values()]))
    result.records = len(ids)
    names = np.full(len(ids), "", dtype=object)
    if len(name_ids):
        names[np.searchsorted(ids, name_ids)] = name_values
    has_name = names != ""
    report(40)

    matched = {}  # (index a, index b), a < b -> list of reasons
    for kind, value, members in exact:
        idx = np.searchsorted(ids, np.array(members, dtype=np.int64))
        for a, b in combinations(sorted(idx.tolist()), 2):
            result.candidate_pairs += 1
            matched.setdefault((a, b), []).append(exact_reason(kind, value))

    # 3. Similar names with a shared company, birthday or address. Records sharing one of those values form
    # a block; every pair in a block has its names scored in bulk. (Name-only blocks would add nothing: the
    # rule needs the shared value anyway.)
    if rule.uses_names:
        support = {}
        for kind, arr in support_rows.items():
            codes = np.full(len(ids), -1, dtype=np.int64)
            codes[np.searchsorted(ids, arr[:, 0])] = arr[:, 1]
            support[kind] = codes
        seen = set()
        for step, kind in enumerate(SUPPORT_KINDS):
            arr = support_rows[kind]
            left, right, skipped = block_pairs(np.searchsorted(ids, arr[:, 0]), arr[:, 1], MAX_BLOCK)
            result.skipped_blocks += skipped
            for start in range(0, len(left), PAIR_CHUNK):
                a, b = left[start:start + PAIR_CHUNK], right[start:start + PAIR_CHUNK]
                result.candidate_pairs += len(a)
                keep = has_name[a] & has_name[b]
                a, b = a[keep], b[keep]
                scores = process.cpdist(names[a].tolist(), names[b].tolist(), scorer=fuzz.ratio, dtype=np.uint8,
                                        score_cutoff=rule.name_cutoff, workers=-1)
                keep = np.nonzero(scores)[0]
                a, b, scores = a[keep], b[keep], scores[keep]
                shared = {k: (support[k][a] == support[k][b]) & (support[k][a] >= 0) for k in SUPPORT_KINDS}
                shared[kind] = np.ones(len(a), dtype=bool)  # a multi-valued company may not be the first code
                for i in range(len(a)):
                    pair = (int(a[i]), int(b[i]))
                    if pair in seen:
                        continue
                    seen.add(pair)
                    kinds = [k for k in SUPPORT_KINDS if shared[k][i]]
                    matched.setdefault(pair, []).append(name_reason(int(scores[i]), rule.name_threshold, kinds))
            report(40 + 15 * (step + 1))

    # 3. "Not a duplicate" marks, then scores and groups.
    marks = NotDuplicate.objects.filter(content_type=content_type).values_list("first_id", "second_id")
    index = {int(pk): i for i, pk in enumerate(ids.tolist())} if marks.exists() else {}
    apart = []
    for first, second in marks:
        if first in index and second in index:
            pair = tuple(sorted((index[first], index[second])))
            matched.pop(pair, None)
            apart.append(pair)
    result.matched_pairs = len(matched)
    pair_scores = {pair: combine(reasons) for pair, reasons in matched.items()}
    result.pairs = {(int(ids[a]), int(ids[b])): value for (a, b), value in pair_scores.items()}
    result.groups = _live_only(model, _groups(ids, pair_scores, apart))
    _attach_names(model, result.groups)
    report(100)
    return result


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


def _groups(ids, pair_scores, apart=()):
    """Connected records as groups. `apart`: pairs marked "not a duplicate", which never end up in one group,
    not even through a third record (the strongest pairs are joined first; a join that would bring a marked
    pair together is left out)."""
    parent = {}
    banned = {}  # root -> the records its group may not take in
    members = {}  # root -> its records (kept only when there are marks)
    for a, b in apart:
        banned.setdefault(a, set()).add(b)
        banned.setdefault(b, set()).add(a)

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in sorted(pair_scores, key=lambda pair: -pair_scores[pair][0]) if banned else pair_scores:
        root_a, root_b = find(a), find(b)
        if root_a == root_b:
            continue
        if banned:
            group_a, group_b = members.get(root_a, {root_a}), members.get(root_b, {root_b})
            if banned.get(root_a, set()) & group_b:
                continue
            low, high = min(root_a, root_b), max(root_a, root_b)
            members[low] = group_a | group_b
            banned[low] = banned.get(root_a, set()) | banned.get(root_b, set())
            members.pop(high, None)
            banned.pop(high, None)
        parent[max(root_a, root_b)] = min(root_a, root_b)
    groups_of = {}
    for node in parent:
        groups_of.setdefault(find(node), []).append(node)
    edges = {}
    for (a, b), (score, reasons) in pair_scores.items():
        if find(a) == find(b):  # a pair left out above scores no group
            edges.setdefault(find(a), []).append((score, reasons))
    groups = []
    for root, nodes in groups_of.items():
        if root not in edges:
            continue  # a record whose only pairs were left out
        scores = [score for score, _r in edges[root]]
        reasons, seen = [], set()
        for _score, pair_reasons in sorted(edges[root], key=lambda e: -e[0]):
            for reason in pair_reasons:
                marker = (reason["code"], reason.get("value"), reason.get("similarity"))
                if marker not in seen and len(reasons) < 6:
                    seen.add(marker)
                    reasons.append(dict(reason))
        groups.append({"ids": sorted(int(ids[n]) for n in nodes), "score": round(sum(scores) / len(scores)),
                       "reasons": reasons})
    groups.sort(key=lambda g: (-g["score"], g["ids"][0]))
    return groups


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
    out = []
    for group in groups:
        ids = [pk for pk in group["ids"] if pk in live]
        if len(ids) >= 2:
            out.append({**group, "ids": ids})
    return out


def _attach_names(model, groups):
    """Name reasons show the names compared ("Ivanov Ivan ~ Иванов Иван"): the first two members' names."""
    wanted = {pk for g in groups if any(r["code"] == "name" for r in g["reasons"]) for pk in g["ids"][:2]}
    if not wanted:
        return
    spec = keymod.spec_for(registry.for_model(model).key)
    fields = spec.person or ((spec.own_name,) if spec.own_name else ())
    labels = {row[0]: " ".join(part for part in row[1:] if part)
              for row in _with_pks(model.objects.order_by(), wanted).values_list("pk", *fields)}
    for group in groups:
        for reason in group["reasons"]:
            if reason["code"] == "name":
                reason["names"] = [labels.get(pk, str(pk)) for pk in group["ids"][:2]]
