"""`scan`: the duplicate engine's quality and speed on the harder labelled set, beside the engine before issue 18.

1. The labelled set (bench/labelled.py: `scale` contact cards, their companies, per-field corruptions and hard
   negatives, split into an estimation and a judging part) is written into the database (rolled back at the
   end, so other benchmarks never see it), and the match keys are built in bulk.
2. The scan (the one behind the Duplicates page and `find_duplicates`) runs with the built-in parameters —
   estimated on the estimation part of another seed's set (dedup/defaults.py) — and with parameters
   re-estimated by EM on this base, as `estimate_match_weights` would. Precision, recall and F1 are computed
   on the judging part, overall and per case type, with the old engine's figures on the same set as the
   baseline of each line (bench/legacy_scan.py).
3. Calibration: on the judging part's candidate pairs, how far the percent shown is from the share of true
   duplicates, per band of percent.
4. Speed and memory: the scan at the full scale, on the first half and on the first fifth of the cards (20k,
   50k and 100k at BENCH_SCALE=100000): a least-squares fit of log(time) on log(records) gives the growth
   exponent used to project 1M cards (never better than linear), on wall time and on the process's CPU time
   (which the other work on the machine does not inflate); the peak memory growth of the three is fitted as a
   line and projected to 1M.
5. Blocking: naive all-pairs rapidfuzz on a sample of name keys; the share of similar-name pairs the blocking
   keeps (name blocks or a shared company/birthday/address).
6. Splink (DuckDB in process), when installed: the same set through Splink's Fellegi–Sunter model with EM,
   term frequencies and comparable comparisons — its time, memory and quality beside ours.
"""

import gc
import time

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from ..harness import peak_rss_mb, reset_peak_rss
from ..labelled import NEGATIVE_CASES, POSITIVE_CASES, generate, insert, metrics

NAME = "scan"
SAMPLE = 20_000
FULL = 1_000_000


def run(ctx):
    with transaction.atomic():
        _run(ctx)
        transaction.set_rollback(True)


def _groups_as_positions(result, position):
    return [[position[pk] for pk in g["ids"] if pk in position] for g in result.groups]


def _run(ctx):
    from bench.legacy_scan import scan_entity as legacy_scan
    from contacts.models import Contact
    from dedup.keys import keys_rebuild
    from dedup.scan import scan_entity

    n = ctx.scale
    startup_rss = _rss_mb()  # Django and the libraries, before any bench data: what a worker starts with
    owner = get_user_model().objects.create(username="bench_dupes", is_active=True)
    people, companies = generate(n, seed=ctx.seed)
    started = time.perf_counter()
    pks = insert(people, companies, owner)
    insert_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:  # as autovacuum would after a load
        cursor.execute("ANALYZE contacts_contact")
    position = {pk: i for i, pk in enumerate(pks)}
    queryset = Contact.objects.filter(owner=owner)

    reset_peak_rss()
    started = time.perf_counter()
    keys = keys_rebuild("contact", queryset=queryset) + keys_rebuild("company")
    keys_seconds = time.perf_counter() - started

    # The scan at the full scale first, then on the first half and the first fifth of the cards (pk order),
    # each from memory handed back to the system, so its growth is all its own: three points to fit.
    points = []  # (records, wall seconds, cpu seconds, peak growth MB)
    scan_entity("contact", queryset=queryset.filter(pk__lte=pks[min(200, len(pks)) - 1]))  # imports, tables
    result = None
    for share in (1, 2, 5):
        part = queryset if share == 1 else queryset.filter(pk__lte=pks[len(pks) // share - 1])
        gc.collect()
        _malloc_trim()
        before_scan_rss = _rss_mb()
        reset_peak_rss()
        started, cpu_started = time.perf_counter(), time.process_time()
        scanned = scan_entity("contact", queryset=part)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        points.append((scanned.records, wall, cpu, max(peak_rss_mb() - before_scan_rss, 0.0)))
        if share == 1:
            result = scanned
        del scanned
    seconds, cpu_seconds, scan_growth = points[0][1], points[0][2], points[0][3]
    started = time.perf_counter()
    old = legacy_scan("contact", queryset=queryset)
    old_seconds = time.perf_counter() - started

    new_groups, old_groups = _groups_as_positions(result, position), _groups_as_positions(old, position)
    judged = metrics(people, new_groups, "judge")
    before = metrics(people, old_groups, "judge")
    true_pairs = judged["all"]["true"]
    note = (f"{n} cards ({sum(p.part == 'judge' for p in people)} in the judging part, {true_pairs} true pairs "
            f"there); baseline: the engine before issue 18 on the same set")
    for figure, goal in (("precision", ">= 0.97"), ("recall", ">= 0.93"), ("f1", None)):
        ctx.emit(NAME, figure, judged["all"][figure], baseline="old engine", baseline_value=before["all"][figure],
                 goal=goal, goal_on="value", note=note)
    for case in POSITIVE_CASES + NEGATIVE_CASES:
        new, was = judged[case], before[case]
        hard_negative = case in NEGATIVE_CASES
        case_note = (f"{'hard negative' if hard_negative else 'corruption'} '{case}': {new['true']} true pairs, "
                     f"{new['predicted']} predicted (old engine {was['predicted']}); F1 {new['f1']:.3f} "
                     f"(old {was['f1']:.3f})")
        ctx.emit(NAME, f"{case}_precision", new["precision"], baseline="old engine", baseline_value=was["precision"],
                 goal=">= 0.95" if hard_negative else None, goal_on="value", note=case_note)
        ctx.emit(NAME, f"{case}_recall", new["recall"], baseline="old engine", baseline_value=was["recall"],
                 note=case_note)

    em = _em_figures(people, pks, queryset, position)
    ctx.emit(NAME, "em_precision", em["all"]["precision"], baseline="built-in parameters",
             baseline_value=judged["all"]["precision"],
             note="parameters re-estimated on this base by EM (u from random pairs, m over the candidate pairs), "
                  "as `manage.py estimate_match_weights contact` does; judged on the judging part")
    ctx.emit(NAME, "em_recall", em["all"]["recall"], baseline="built-in parameters",
             baseline_value=judged["all"]["recall"])
    gap, bands = _calibration(people, pks)
    ctx.emit(NAME, "calibration_gap", gap, goal="<= 0.1", goal_on="value",
             note="largest |mean percent shown − share of true duplicates| over bands with 20+ candidate pairs of "
                  "the judging part: " + "; ".join(f"{lo:.0%}–{hi:.0%}: {count} pairs, shown {shown:.1%}, "
                                                    f"true {true:.1%}" for lo, hi, count, shown, true in bands))

    ctx.emit(NAME, "insert_s", insert_seconds, unit="s", note="writing the labelled set with history (setup)")
    ctx.emit(NAME, "keys_build_s", keys_seconds, unit="s", note=f"bulk rebuild of {keys} match keys")
    exponent, projected, fit_note = _project_time([(r, w) for r, w, _c, _m in points])
    cpu_exponent, cpu_projected, _cpu_note = _project_time([(r, c) for r, _w, c, _m in points])
    sizes = ", ".join(f"{r:,} in {w:.2f}s (CPU {c:.2f}s, +{m:.0f} MB)" for r, w, c, m in sorted(points))
    ctx.emit(NAME, "scan_s", seconds, unit="s", baseline="old engine", baseline_value=old_seconds,
             note=f"{result.candidate_pairs} candidate pairs weighed, {result.matched_pairs} called duplicates, "
                  f"{result.skipped_blocks} oversized blocks skipped; load average {_load()} while it ran")
    ctx.emit(NAME, "scan_cpu_s", cpu_seconds, unit="s",
             note="CPU seconds of this process (rapidfuzz's threads included; PostgreSQL's own work is not): "
                  "what the scan costs whatever else the machine runs")
    ctx.emit(NAME, "scan_projected_1m_s", projected, unit="s", goal="<= 60", goal_on="value",
             note=f"the scan of {sizes}: {fit_note}; the key rebuild, done on save, not per scan, would add "
                  f"~{keys_seconds * FULL / n:.0f}s")
    ctx.emit(NAME, "scan_cpu_projected_1m_s", cpu_projected, unit="s",
             note=f"the same fit on the CPU seconds (growth n^{cpu_exponent:.2f}): the projection on a machine "
                  f"that runs nothing else, PostgreSQL's reads aside")
    slope, intercept = _linear_fit([(r, m) for r, _w, _c, m in points])
    rss_projected = startup_rss + max(intercept, 0.0) + max(slope, scan_growth / n) * FULL
    ctx.emit(NAME, "scan_rss_projected_1m_mb", rss_projected, unit="MB", goal="<= 2048", goal_on="value",
             note=f"peak growth of the process per scan ({sizes}) fitted as a line, growth = "
                  f"{intercept:.0f} MB + {slope * 1000:.2f} MB per 1,000 cards (never less steep than the full "
                  f"scan's own average), projected to 1M on top of the {startup_rss:.0f} MB a fresh process holds")

    sample_ids, names = _sample_names(queryset, min(n, SAMPLE))
    pairs, all_pairs_seconds = _all_pairs(names, 89.5)
    rate = len(names) ** 2 / all_pairs_seconds
    ctx.emit(NAME, "all_pairs_projected_1m_s", FULL**2 / rate, unit="s", baseline="blocked scan projected to 1M",
             baseline_value=projected, note=f"naive all-pairs rapidfuzz ran {rate / 1e6:.1f}M pairs/s on "
                                            f"{len(names)} names; ratio = how many times slower than the scan")
    kept = _blocking_recall(queryset, sample_ids, pairs)
    ctx.emit(NAME, "blocking_recall", kept / len(pairs) if len(pairs) else 1.0, goal=">= 0.98", goal_on="value",
             note=f"of {len(pairs)} name pairs with rounded fuzz.ratio >= 90 found by all-pairs on the sample, the "
                  f"share sharing a name block or a company/birthday/address block (the blocking)")

    from . import splink_scan

    splink_scan.run(ctx, people, pks, queryset, judged, seconds, projected, rss_projected)


def _linear_fit(points):
    """Least squares y = slope * x + intercept over (x, y) points."""
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points], dtype=np.float64)
    if len(set(x.tolist())) < 2:
        return (y[0] / x[0] if x[0] else 0.0), 0.0
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def _project_time(points):
    """(exponent, seconds at 1M, note) from (records, seconds) measured at several sizes: a least-squares fit
    of log(seconds) on log(records), projected from the largest run with the fitted exponent — but never
    better than linear (fixed costs flatter small runs)."""
    points = sorted(p for p in points if p[0] > 0 and p[1] > 0)
    if len(points) < 2:
        n, seconds = points[-1] if points else (1, 0.0)
        return 1.0, seconds * FULL / n, "one size measured, projected linearly"
    x = np.log([p[0] for p in points])
    y = np.log([p[1] for p in points])
    fitted = float(np.polyfit(x, y, 1)[0])
    exponent = max(fitted, 1.0)
    n, seconds = points[-1]
    projected = seconds * (FULL / n) ** exponent
    note = (f"least-squares fit of log(time) on log(records) over the {len(points)} sizes gives growth "
            f"n^{fitted:.2f}; projected from the largest run as n^{exponent:.2f}"
            + (" (linear: the fit was flatter)" if fitted < 1.0 else ""))
    return exponent, projected, note


def _load():
    try:
        with open("/proc/loadavg") as handle:
            return handle.read().split()[0]
    except OSError:
        return "?"


def _em_figures(people, pks, queryset, position):
    from dedup import estimate as est
    from dedup import scan, scoring
    from dedup.matching import rule_for

    cols = scan.load_columns("contact", queryset=queryset)
    model = scoring.model_for("contact")
    u = est.estimate_u(cols, model)
    a, b = scan.candidate_pairs(cols, "contact", rule_for("contact"))
    m, prior, _share = est.estimate_m_em(cols, a, b, model, u)
    model.m, model.u, model.prior = m, u, prior
    weighed = scoring.weigh(cols, a, b, model, cols.n)
    keep = scoring.outcome_of(weighed, model) == scoring.DUPLICATE
    pair_scores = {(int(x), int(y)): 100 for x, y in zip(weighed.a[keep].tolist(), weighed.b[keep].tolist(),
                                                         strict=True)}
    apart = list(zip(weighed.a[weighed.contradiction].tolist(), weighed.b[weighed.contradiction].tolist(),
                     strict=True))
    groups = scan._groups(cols.ids, pair_scores, apart)
    return metrics(people, [[position[pk] for pk in g["ids"] if pk in position] for g in groups], "judge")


def _calibration(people, pks):
    from bench.estimate import labelled_pairs
    from dedup import estimate as est
    from dedup import scan, scoring

    cols = scan.load_columns("contact")
    model = scoring.model_for("contact")
    a, b, same = labelled_pairs(cols, people, pks, "judge")
    weighed = scoring.weigh(cols, a, b, model, cols.n)
    bands = est.reliability(weighed.probability, same)
    gaps = [abs(shown - true) for _lo, _hi, count, shown, true in bands if count >= 20]
    return (max(gaps) if gaps else 0.0), bands


def _malloc_trim():
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _rss_mb():
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def _sample_names(queryset, size):
    from django.contrib.contenttypes.models import ContentType

    from contacts.models import Contact
    from dedup.models import MatchKey

    content_type = ContentType.objects.get_for_model(Contact)
    rows = list(MatchKey.objects.filter(content_type=content_type, kind="name", object_id__in=queryset.values("pk"))
                .order_by("object_id").values_list("object_id", "value")[:size])
    return [r[0] for r in rows], [r[1] for r in rows]


def _all_pairs(names, cutoff, chunk=500):
    from rapidfuzz import fuzz, process

    found = []
    started = time.perf_counter()
    for offset in range(0, len(names), chunk):
        block = process.cdist(names[offset:offset + chunk], names, scorer=fuzz.ratio, dtype=np.uint8,
                              score_cutoff=cutoff, workers=-1)
        rows, cols = np.nonzero(block)
        rows = rows + offset
        upper = rows < cols
        found.append(np.stack([rows[upper], cols[upper]], axis=1))
    seconds = time.perf_counter() - started
    pairs = np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)
    return pairs, seconds


def _blocking_recall(queryset, sample_ids, pairs):
    """How many all-pairs matches share a block (name block or support key)."""
    from django.contrib.contenttypes.models import ContentType

    from contacts.models import Contact
    from dedup.models import MatchKey

    content_type = ContentType.objects.get_for_model(Contact)
    wanted = ("name_block", "company", "birthday", "address")
    blocks = {}
    for object_id, kind, value in MatchKey.objects.filter(
        content_type=content_type, kind__in=wanted, object_id__in=sample_ids
    ).values_list("object_id", "kind", "value"):
        blocks.setdefault(object_id, set()).add((kind, value))
    kept = 0
    for i, j in pairs.tolist():
        if blocks.get(sample_ids[i], set()) & blocks.get(sample_ids[j], set()):
            kept += 1
    return kept
