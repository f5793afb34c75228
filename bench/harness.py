"""The benchmark harness: figures as JSON lines, ratios against baselines run in the same process."""

import json
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext


def _goal_met(goal, number):
    if goal is None or number is None:
        return None
    op, _, target = goal.partition(" ")
    target = float(target)
    return {">=": number >= target, "<=": number <= target, ">": number > target, "<": number < target}[op]


@dataclass
class Reporter:
    scale: int
    out: object = None
    lines: list = field(default_factory=list)

    def emit(self, bench, figure, value, *, unit=None, baseline=None, baseline_value=None, goal=None,
             goal_on="ratio", note=None, **extra):
        """One figure. `ratio` = value / baseline_value; `goal` (">= 20", "<= 1.5") applies to `goal_on`."""
        ratio = None
        if value is not None and baseline_value:
            ratio = round(value / baseline_value, 3)
        line = {"bench": bench, "figure": figure, "value": _round(value)}
        if unit:
            line["unit"] = unit
        if baseline:
            line.update({"baseline": baseline, "baseline_value": _round(baseline_value), "ratio": ratio})
        if goal:
            line["goal"] = goal if goal_on == "ratio" else f"{goal} ({unit or 'value'})"
            line["meets_goal"] = _goal_met(goal, ratio if goal_on == "ratio" else value)
        if note:
            line["note"] = note
        line.update(extra)
        line["scale"] = self.scale
        line["db"] = connection.vendor
        self.lines.append(line)
        print(json.dumps(line, ensure_ascii=False, default=str), file=self.out or sys.stdout, flush=True)
        return line


def _round(value):
    if isinstance(value, float):
        return round(value, 3 if abs(value) < 100 else 1)
    return value


@contextmanager
def stopwatch():
    result = {}
    start = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - start


def work_seconds():
    """CPU seconds used so far by this process and by its PostgreSQL backend (same machine: /proc), so a
    figure can be read as work done, whatever else the machine runs. None where /proc can't tell."""
    import os

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        backend = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return time.process_time() + backend


@contextmanager
def as_served():
    """Pages timed as a production server renders them: DEBUG off (templates not in debug mode, no query log)
    and templates rendered without the test framework's instrumentation (setup_test_environment makes every
    template render send a signal, and the test client copies each template's context on it — for a list, once
    per row include). The test client still drives the request through every middleware and the view."""
    from django.conf import settings
    from django.template import Template
    from django.test.utils import override_settings

    def plain_render(self, context):  # Template._render as Django ships it
        return self.nodelist.render(context)

    storages = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # no collectstatic manifest here
    instrumented, Template._render = Template._render, plain_render
    try:
        with override_settings(DEBUG=False, STORAGES=storages):
            yield
    finally:
        Template._render = instrumented


def median_seconds(fn, repeat=5, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def count_queries(fn):
    # The log is a deque capped at 9,000 entries: once earlier captures fill it, its length stops growing and
    # CaptureQueriesContext (which slices by length) counts 0. Start each count with an empty log.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def reset_peak_rss():
    """Linux: writing 5 to clear_refs resets the high-water mark, so each benchmark reads its own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def peak_rss_mb():
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def markdown_table(lines, *, scale, machine):
    """The figures as a Markdown table, for README's Performance section."""
    out = [f"Scale {scale:,} contacts; {machine}; `make bench BENCH_SCALE={scale}`.", "",
           "| bench | figure | value | baseline | baseline value | ratio | goal | met |",
           "|---|---|---|---|---|---|---|---|"]
    for line in lines:
        value = line.get("value")
        unit = line.get("unit", "")
        met = {True: "yes", False: "**no**", None: ""}[line.get("meets_goal")]
        out.append(
            f"| {line['bench']} | {line['figure']} | {_fmt(value)} {unit} | {line.get('baseline', '')} | "
            f"{_fmt(line.get('baseline_value'))} | {_fmt(line.get('ratio'))} | {line.get('goal', '')} | {met} |"
        )
    return "\n".join(out) + "\n"


def _fmt(value):
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
