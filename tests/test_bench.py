"""Smoke test of `make bench`: every benchmark runs at a tiny scale and prints well-formed lines. No timing."""

import io
import json

import pytest
from django.db import connection

from bench.benches import NAMES
from bench.runner import NotPostgres, run_benchmarks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="benchmarks run against PostgreSQL only")
@pytest.mark.parametrize("name", NAMES)  # one test a benchmark, so parallel workers share them out
def test_every_benchmark_prints_well_formed_lines(name):
    out = io.StringIO()
    run_benchmarks(scale=40, names=[name], out=out, repeat=1)
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    assert name in {line["bench"] for line in lines}
    assert {line["bench"] for line in lines} <= {name, "seed"}  # every benchmark seeds the base first
    for line in lines:
        assert {"bench", "figure", "value", "scale", "db"} <= set(line)
        assert line["db"] == "postgresql"
        assert line["scale"] == 40
        assert line["value"] is None or isinstance(line["value"], (int, float))
        if "baseline" in line:
            assert "baseline_value" in line and "ratio" in line
        if "goal" in line:
            assert line["meets_goal"] in (True, False, None)


def test_refuses_anything_but_postgresql(settings):
    if connection.vendor == "postgresql":
        pytest.skip("only meaningful where the suite runs on SQLite")
    with pytest.raises(NotPostgres):
        run_benchmarks(scale=10, out=io.StringIO())


def test_unknown_benchmark_name_is_a_clear_error():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with pytest.raises(ValueError, match="unknown benchmark"):
        run_benchmarks(scale=10, names=["nope"], out=io.StringIO())


def test_markdown_table_lists_every_figure():
    from bench.harness import markdown_table

    lines = [
        {"bench": "list", "figure": "contacts_page_ms", "value": 12.5, "unit": "ms", "baseline": "raw SQL",
         "baseline_value": 2.0, "ratio": 6.25},
        {"bench": "access", "figure": "manager_list_ms", "value": 13.0, "unit": "ms", "goal": "<= 1.5",
         "meets_goal": False},
    ]
    table = markdown_table(lines, scale=5000, machine="2 cores")
    assert "Scale 5,000 contacts; 2 cores" in table
    assert "| list | contacts_page_ms | 12.5 ms | raw SQL | 2 | 6.25 |" in table
    assert "| **no** |" in table
