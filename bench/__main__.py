"""`python -m bench [--scale N] [--only seed,list,...]`: every benchmark in a throwaway PostgreSQL database.

The scale comes from --scale or BENCH_SCALE (default 5000 contacts; up to 1,000,000).
"""

import argparse
import os
import platform
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=int, default=int(os.environ.get("BENCH_SCALE", "5000")))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""), help="comma-separated bench names")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keepdb", action="store_true", help="reuse the bench database (skips re-seeding)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a Markdown table (README)")
    args = parser.parse_args(argv)
    if not 1 <= args.scale <= 1_000_000:
        parser.error("--scale must be between 1 and 1000000")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("Benchmarks run against PostgreSQL only: set DATABASE_URL=postgres://user@host:5432/db", file=sys.stderr)
        return 2
    from django.test.utils import setup_test_environment

    from .runner import run_benchmarks

    setup_test_environment()  # the test client's host and a locmem mail outbox

    names = [name.strip() for name in args.only.split(",") if name.strip()]
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    # The throwaway database is made through the server's maintenance database, so DATABASE_URL's own
    # database need not exist.
    creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keepdb, serialize=False)
    print(f"# bench: PostgreSQL {connection.cursor().connection.info.server_version}, scale {args.scale}, "
          f"{os.cpu_count()} cores, {platform.platform()}", file=sys.stderr)
    try:
        lines = run_benchmarks(scale=args.scale, names=names, seed=args.seed, repeat=args.repeat)
        if args.markdown:
            from .harness import markdown_table

            version = connection.cursor().connection.info.server_version  # 150020 -> 15.20
            machine = f"{os.cpu_count()} cores, PostgreSQL {version // 10000}.{version % 100}"
            with open(args.markdown, "w", encoding="utf-8") as handle:
                handle.write(markdown_table(lines, scale=args.scale, machine=machine))
    finally:
        if not args.keepdb:
            creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
