"""Splink (DuckDB in process) on the labelled set, beside our scan: measured before writing the model by hand,
as issue 18 asks. Skipped (one line saying so) when splink is not installed: it is not a dependency.

The records go to DuckDB as the same normalised values our match keys hold (names as typed, E.164 phones,
emails, the company key, the address key, the birthday); Splink's comparisons are its standard ones with
term-frequency adjustments on surname, phone, email and company; u by random sampling, m by EM on two
blocking rules, as its tutorials do; predictions over the same blocking as our scan, clustered at 0.8.
"""

import time

from ..harness import peak_rss_mb, reset_peak_rss
from ..labelled import metrics

FULL = 1_000_000


def run(ctx, people, pks, queryset, judged, our_seconds, our_projected, our_rss):
    try:
        import duckdb  # noqa: F401
        import splink  # noqa: F401
    except ImportError:
        ctx.emit("scan", "splink_scan_s", None, note="splink is not installed (pip install splink): not measured")
        return
    n = len(pks)
    rows = _records(queryset)
    reset_peak_rss()
    started = time.perf_counter()
    clusters = _splink(rows, train=True)
    seconds = time.perf_counter() - started
    rss = peak_rss_mb()
    half = rows[: len(rows) // 2]
    started = time.perf_counter()
    _splink(half, train=True)
    half_seconds = time.perf_counter() - started
    import math

    exponent = max(math.log(seconds / half_seconds) / math.log(2) if half_seconds > 0 else 1.0, 1.0)
    projected = seconds * (FULL / n) ** exponent
    position = {pk: i for i, pk in enumerate(pks)}
    groups = {}
    for object_id, cluster in clusters:
        groups.setdefault(cluster, []).append(position[object_id])
    result = metrics(people, list(groups.values()), "judge")
    note = "Splink 5 with DuckDB, standard comparisons, TF on surname/phone/email/company, u by sampling, m by EM"
    ctx.emit("scan", "splink_precision", result["all"]["precision"], baseline="our scan",
             baseline_value=judged["all"]["precision"], note=note)
    ctx.emit("scan", "splink_recall", result["all"]["recall"], baseline="our scan",
             baseline_value=judged["all"]["recall"], note=note)
    worst = min(("colleagues", "namesakes", "family", "branches"), key=lambda c: result[c]["precision"])
    ctx.emit("scan", "splink_worst_hard_negative_precision", result[worst]["precision"], baseline="our scan",
             baseline_value=judged[worst]["precision"], note=f"the hard-negative case type where Splink does worst: {worst}")
    ctx.emit("scan", "splink_scan_s", seconds, unit="s", baseline="our scan", baseline_value=our_seconds,
             note="training (u sampling + 2 EM passes) and prediction and clustering; the data export from "
                  "PostgreSQL not counted")
    ctx.emit("scan", "splink_projected_1m_s", projected, unit="s", baseline="our scan projected",
             baseline_value=our_projected, goal="<= 60", goal_on="value",
             note=f"at {n // 2}: {half_seconds:.2f}s, at {n}: {seconds:.2f}s, projected as n^{exponent:.2f}")
    ctx.emit("scan", "splink_peak_rss_mb", rss, unit="MB", baseline="our scan projected to 1M", baseline_value=our_rss,
             note="peak of the process while Splink ran (DuckDB's memory is in the process)")


def _records(queryset):
    """One row per contact: the values our match keys hold, first of each kind."""
    from django.contrib.contenttypes.models import ContentType

    from contacts.models import Contact
    from dedup.keys import split_person
    from dedup.models import MatchKey

    content_type = ContentType.objects.get_for_model(Contact)
    by_id = {}
    wanted = ("person", "phone", "email", "company", "address", "birthday", "position")
    for object_id, kind, value in MatchKey.objects.filter(
            content_type=content_type, kind__in=wanted, object_id__in=queryset.values("pk")).values_list(
            "object_id", "kind", "value").order_by("object_id", "kind", "value"):
        row = by_id.setdefault(object_id, {"unique_id": object_id})
        if kind == "person":
            last, first, middle, _gender = split_person(value)
            row.update(surname=last.casefold(), first_name=first.casefold(), middle_name=middle.casefold())
        else:
            row.setdefault(kind, value)
    columns = ("unique_id", "first_name", "surname", "middle_name", "phone", "email", "company", "address",
               "birthday", "position")
    return [tuple(row.get(c) or None for c in columns) for row in by_id.values()]


def _splink(rows, train=True):
    import duckdb
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    columns = ("unique_id", "first_name", "surname", "middle_name", "phone", "email", "company", "address",
               "birthday", "position")
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    con = duckdb.connect()
    con.register("people_arrow", table)
    con.execute("CREATE TABLE people AS SELECT * FROM people_arrow")
    db_api = DuckDBAPI(con)
    blocking = [block_on("phone"), block_on("email"), block_on("company", "substr(surname, 1, 2)"),
                block_on("birthday", "substr(surname, 1, 1)"), block_on("address", "substr(surname, 1, 1)"),
                block_on("birthday", "substr(first_name, 1, 1)")]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.ExactMatch("middle_name"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
            cl.DateOfBirthComparison("birthday", input_is_string=True),
            cl.ExactMatch("company").configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("address", 3),
            cl.ExactMatch("position"),
        ],
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(db_api.register("people"), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone", "surname"), block_on("email")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birthday"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.8)
    out = con.execute(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").fetchall()
    con.close()
    return out
