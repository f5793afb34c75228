"""A file against itself, in a memory that does not grow with the file: its candidate pairs and their verdicts
(`scoring.match_within`, and the import's preview through `within_pairs`).

The rows' key sets are read by position from a sequence — a list, or the preview's spill on disk — and never
all held. What is kept per row is a few integers:

- blocking: each blocking key of a row as one 64-bit integer, the key's hash in the high bits and the row's
  position in the low bits, sorted in place, so that the rows sharing a key sit side by side;
- term frequencies inside the file: the hashes of the values the rows are compared on, sorted; only the values
  two rows or more hold are kept, with their count (any other value of a row is held by that row alone);
- the pairs are weighed a chunk at a time, each chunk's Columns built from the key sets of its rows only;
- a file of more than PARTITION_ROWS rows is blocked in several passes over its key sets, each pass for the
  keys and values whose hash falls in its part (the rows sharing a key meet in the same pass): first the exact
  keys and the counted values, then the support keys, each pass's buckets weighed before the next pass reads
  its keys, so the integers of a pass stay within the same bounds and only the exact pairs' codes (8 bytes a
  pair) are kept from one pass to the next.

Two keys whose hashes agree by chance give one more pair to weigh, which the weighing finds unalike: a hash
never merges anything. The pairs are those `scoring` has always blocked on: sharing an exact key (phone,
email, tax id… held by at most EXACT_BLOCK rows), or sharing a company, birthday or address (held by at most
SUPPORT_BLOCK rows) and a name block or surname.
"""

from array import array
from itertools import combinations

import numpy as np

from . import scoring

EXACT_BLOCK = 50
SUPPORT_BLOCK = 2000
SUPPORT_KINDS = scoring.SUPPORT_KINDS
NAME_KINDS = ("name_block", "surname")
PAIR_CHUNK = 50_000  # pairs weighed at once
PARTITION_ROWS = 125_000  # rows whose keys are blocked in one pass over the key sets: 1M rows take eight (of each kind)
ROW_CHUNK = 20_000  # rows whose Columns are built at once
_SCAN = 1 << 20  # sorted keys compared a slice at a time


def within_pairs(entity_key, keysets, *, kept):
    """(i, j, verdict) of the candidate pairs (i < j) whose outcome is in `kept`, a chunk at a time, in no
    particular order; a pair two blocks give may come twice. `keysets`: a sequence of match-key sets.

    A file of one partition is blocked in one pass. A bigger one in two rounds of passes, each pass for the keys
    whose hash falls in its part: first the exact keys and the values counted (the exact pairs are weighed then),
    then the support keys, each pass's buckets weighed before the next pass, so neither a whole file's buckets
    nor its counting hashes are ever held; only the exact pairs' codes are (a support pair that is an exact pair
    was weighed already)."""
    n = len(keysets)
    if n < 2:
        return
    exact_kinds = set(scoring._exact_kinds(entity_key)) | {"phone", "email"}
    parts = -(-n // PARTITION_ROWS)
    exact, repeated, support_runs = [], [], []
    for part in range(parts):  # a pass over the key sets for the keys and values whose hash falls in `part`
        blocks, held = _Blocks(n, part, parts, support=parts == 1), array("q")
        for position in range(n):
            by_kind = scoring.keys_by_kind(keysets[position])
            blocks.add(position, by_kind, exact_kinds)
            for kind, _slot, value in scoring.coded_values(by_kind):
                value_hash = _hash((kind, value))
                if value_hash % parts == part:
                    held.append(value_hash)
        exact.append(_without_earlier(blocks.exact_pairs(), exact))
        repeated.append(_repeated(held))
        if parts == 1:
            support_runs = blocks.support_runs()
        del blocks, held
    weigher = _Weigher(entity_key, keysets, kept, _FileCounts(repeated))
    del repeated
    for codes in exact:
        yield from _weigh_all(weigher, n, (divmod(code, n) for start in range(0, len(codes), 10_000)
                                           for code in codes[start:start + 10_000].tolist()))
    if parts == 1:
        yield from _weigh_all(weigher, n, _pairs_of(support_runs), exact)
        return
    for part in range(parts):
        blocks = _Blocks(n, part, parts, exact=False)
        for position in range(n):
            blocks.add(position, scoring.keys_by_kind(keysets[position]), ())
        yield from _weigh_all(weigher, n, _pairs_of(blocks.support_runs()), exact)
        del blocks


def _pairs_of(runs):
    return (pair for members in runs for pair in combinations(members, 2))


def _weigh_all(weigher, n, pairs, weighed=None):
    """The verdicts of `pairs`, weighed a chunk at a time; `weighed`: exact pairs' codes left out."""
    chunk = _Chunk(n, weighed)
    for x, y in pairs:
        if chunk.add(x, y):
            yield from weigher.weigh(*chunk.pairs())
            chunk = _Chunk(n, weighed)
    yield from weigher.weigh(*chunk.pairs())


def _without_earlier(codes, earlier):
    """`codes` (sorted) less those of the `earlier` arrays: a pair sharing exact keys of two parts is found by
    both passes."""
    for other in earlier:
        if len(codes) and len(other):
            at = np.minimum(np.searchsorted(other, codes), len(other) - 1)
            codes = codes[other[at] != codes]
    return codes


class _Chunk:
    """The pairs weighed together: at most PAIR_CHUNK, of at most ROW_CHUNK rows (their Columns are built for
    the chunk), each once; `exact`: the exact pairs' codes, weighed already, left out."""

    def __init__(self, n, exact=None):
        self.n, self.exact = n, exact or ()  # sorted arrays of codes
        self.a, self.b, self.rows, self.seen = [], [], set(), set()

    def add(self, x, y):
        """Add the pair (x < y); true when the chunk is full."""
        code = x * self.n + y
        if code not in self.seen:
            self.seen.add(code)
            self.a.append(x)
            self.b.append(y)
            self.rows.update((x, y))
        return self.full()

    def full(self):
        return len(self.a) >= PAIR_CHUNK or len(self.rows) >= ROW_CHUNK - 1

    def pairs(self):
        return _without(self.a, self.b, self.exact, self.n)


def _without(a, b, exact, n):
    """The pairs (a, b) that are not among the exact pairs (arrays of sorted codes x * n + y), weighed already."""
    exact = [codes for codes in exact if len(codes)]
    if not exact or not a:
        return a, b
    codes = np.asarray(a, dtype=np.int64) * n + np.asarray(b, dtype=np.int64)
    new = np.ones(len(codes), dtype=bool)
    for weighed in exact:
        at = np.minimum(np.searchsorted(weighed, codes), len(weighed) - 1)
        new &= weighed[at] != codes
    new = np.flatnonzero(new).tolist()
    return [a[k] for k in new], [b[k] for k in new]


def _hash(key):
    return hash(key) & 0x7FFF_FFFF_FFFF_FFFF


class _Blocks:
    """The blocking keys of n rows, each packed with its row's position into one int64."""

    def __init__(self, n, part=0, parts=1, *, exact=True, support=True):
        """`exact` / `support`: gather those keys (a pass may gather only one kind)."""
        self.n, self.part, self.parts = n, part, parts
        self.with_exact, self.with_support = exact, support
        self.bits = max(1, (n - 1).bit_length())
        self.high = (1 << (63 - self.bits)) - 1
        # A bucket's key: its support key's hash in the upper half, the name key's in the lower, so that the
        # buckets of one company sort side by side and a weighed chunk holds the rows of a few companies (each
        # row's Columns built once or twice, not once per bucket).
        self.name_bits = (63 - self.bits) // 2
        self.exact, self.support, self.named, self.named_support = array("q"), array("q"), array("q"), array("q")

    def _pack(self, key_hash, position):
        return ((key_hash & self.high) << self.bits) | position

    def add(self, position, by_kind, exact_kinds):
        """A row's keys, {kind: [values]} (scoring.keys_by_kind)."""
        part, parts = self.part, self.parts
        for kind in exact_kinds if self.with_exact else ():
            for value in by_kind.get(kind, ()):
                key_hash = _hash((kind, value))
                if key_hash % parts == part:
                    self.exact.append(self._pack(key_hash, position))
        if not self.with_support:
            return
        named = [(kind, value) for kind in NAME_KINDS for value in by_kind.get(kind, ())]
        for kind in SUPPORT_KINDS:
            for value in by_kind.get(kind, ()):
                support = _hash((kind, value))
                if support % parts != part:
                    continue  # its buckets go with it
                self.support.append(self._pack(support, position))
                for name in named:  # the support key and a name key together: the rows of one bucket
                    bucket = (support << self.name_bits) | (_hash(((kind, value), name)) & ((1 << self.name_bits) - 1))
                    self.named.append(self._pack(bucket, position))
                    self.named_support.append(support & self.high)

    def exact_pairs(self):
        """The codes (x * n + y) of the pairs sharing an exact key, sorted, each once."""
        codes = array("q")
        for members in _runs(self.exact, self.bits, EXACT_BLOCK):
            codes.extend(x * self.n + y for x, y in combinations(members, 2))
        self.exact = None
        return np.unique(np.frombuffer(codes, dtype=np.int64)) if codes else np.zeros(0, dtype=np.int64)

    def support_runs(self):
        """The rows of each (support key, name key) bucket whose support key is held by at most SUPPORT_BLOCK
        rows: lists of positions."""
        held = {}  # support key -> rows holding it (two or more)
        for members, key in _runs(self.support, self.bits, None, with_key=True):
            held[key] = len(members)
        self.support = None
        if not held:
            return ()
        wanted = np.fromiter((key for key, count in held.items() if 1 < count <= SUPPORT_BLOCK), dtype=np.int64)
        del held
        if not len(wanted) or not self.named:
            self.named = self.named_support = None
            return ()
        wanted.sort()
        supports = np.frombuffer(self.named_support, dtype=np.int64)
        keep = wanted[np.minimum(np.searchsorted(wanted, supports), len(wanted) - 1)] == supports
        del supports
        self.named_support = None
        kept = np.frombuffer(self.named, dtype=np.int64)[keep]  # a copy: the gathered keys can go
        self.named = None
        return _runs(kept, self.bits, None)


def _runs(packed, bits, largest, *, with_key=False):
    """The positions of each run of two or more equal keys in `packed` (sorted here, in place), a run of more
    than `largest` left out: sorted lists; with_key: (positions, key)."""
    values = packed if isinstance(packed, np.ndarray) else np.frombuffer(packed, dtype=np.int64)
    values.sort()
    low = (1 << bits) - 1
    for start, end in _run_bounds(values, bits):
        if largest is not None and end - start > largest:
            continue
        members = sorted(set((values[start:end] & low).tolist()))
        if len(members) > 1:
            yield (members, int(values[start] >> bits)) if with_key else members


def _run_bounds(values, shift):
    """(start, end) of each run of two or more equal `values >> shift` in sorted `values`. Only the places
    where a key equals the next one are gathered (most keys are held once), a slice at a time."""
    if len(values) < 2:
        return
    equal = []
    for start in range(0, len(values) - 1, _SCAN):
        keys = values[start:start + _SCAN + 1] >> shift
        equal.append(np.flatnonzero(keys[1:] == keys[:-1]) + start)
    equal = np.concatenate(equal)
    if not len(equal):
        return
    breaks = np.flatnonzero(np.diff(equal) != 1) + 1
    for first, last in zip(np.r_[0, breaks].tolist(), np.r_[breaks, len(equal)].tolist(), strict=True):
        yield int(equal[first]), int(equal[last - 1]) + 2


class _Weigher:
    """Weighs pairs of the file's rows, term frequencies from the base plus the whole file."""

    def __init__(self, entity_key, keysets, kept, counts):
        self.entity_key, self.keysets, self.kept, self.counts = entity_key, keysets, kept, counts
        self.model = scoring.model_for(entity_key)
        self.records = scoring._base_size(entity_key) + len(keysets)

    def weigh(self, a, b):
        if not a:
            return
        rows = sorted(set(a) | set(b))
        local = {position: index for index, position in enumerate(rows)}
        cols = scoring.Columns.from_keysets([self.keysets[position] for position in rows])
        scoring._frequencies(self.entity_key, cols, None, unsaved=(), in_file=self.counts)
        weighed = scoring.weigh(cols, [local[x] for x in a], [local[y] for y in b], self.model, self.records)
        outcomes = scoring.outcome_of(weighed, self.model)
        keep = [i for i in range(len(a)) if outcomes[i] in self.kept]
        for i, verdict in zip(keep, scoring.verdicts(cols, weighed, self.model, keep), strict=True):
            yield a[i], b[i], verdict


def _repeated(hashes):
    """(hashes, counts) of the values `hashes` holds twice or more."""
    values = np.frombuffer(hashes, dtype=np.int64)
    values.sort()
    bounds = list(_run_bounds(values, 0))
    return (np.array([values[start] for start, _end in bounds], dtype=np.int64),
            np.array([end - start for start, end in bounds], dtype=np.int64))


class _FileCounts:
    """How many rows of the file hold each value they are compared on (scoring.coded_values: a row's first
    SLOTS phones…), kept only for the values held twice or more: (hashes, counts) of each partition."""

    def __init__(self, repeated):
        keys = np.concatenate([keys for keys, _sizes in repeated])
        sizes = np.concatenate([sizes for _keys, sizes in repeated])
        order = np.argsort(keys, kind="stable")
        self.keys, self.sizes = keys[order], sizes[order]

    def of(self, kind, values):
        """Rows of the file holding each of `values` (1 for a value no other row holds)."""
        out = np.ones(len(values), dtype=np.int64)
        if len(self.keys) and len(values):
            wanted = np.fromiter((_hash((kind, v)) for v in values), dtype=np.int64, count=len(values))
            at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
            found = self.keys[at] == wanted
            out[found] = self.sizes[at[found]]
        return out
