"""Run benchmarks in the current database (the smoke test) or in a throwaway one (`make bench`)."""

from django.db import connection

from .benches import BENCHES, NAMES
from .context import BenchContext
from .harness import Reporter


class NotPostgres(RuntimeError):
    pass


def run_benchmarks(*, scale, names=None, out=None, seed=42, repeat=5):
    if connection.vendor != "postgresql":
        raise NotPostgres("Benchmarks run against PostgreSQL only: set DATABASE_URL=postgres://…")
    unknown = set(names or ()) - set(NAMES)
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(NAMES)}")
    ctx = BenchContext(scale=scale, reporter=Reporter(scale=scale, out=out), seed=seed, repeat=repeat)
    for bench in BENCHES:
        if names and bench.NAME not in names and bench.NAME != "seed":
            continue
        if bench.NAME == "seed" and names and all(getattr(b, "OWN_DATA", False) for b in BENCHES if b.NAME in names):
            continue  # the benches asked for top their base up themselves
        bench.run(ctx)
    return ctx.reporter.lines
