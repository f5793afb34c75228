"""`manage.py seed_demo`: demo users and a coherent, deterministic demo base.

The records come from the demo generators the installed apps register in their `demo.py` (see
crm_site/demo/); this command knows none of them by name.
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from crm_site import demo

DEFAULT_SCALE = 300

HELP = (
    "Create the demo users (admin, head, manager1, manager2, marketer; password from DEMO_PASSWORD, "
    "default 'demo', set only when a user is created) with their departments, and a demo base made by the "
    "demo generators of the installed apps (each app's demo.py): its records with phones, e-mails, links and "
    "full audit history, then the apps' after-seed steps (timeline activity, duplicate match keys). "
    "--{unit} N sizes the base; the other kinds of records follow from it. manager1 and manager2 always get "
    "at least 30 records of each kind that are not opened to everyone, so small bases are grown to that. "
    "Without --{unit} the command is idempotent: when the demo users and {unit} already exist it "
    "prints 'Demo data already present' and does nothing; otherwise it seeds {default} {unit}. "
    "With an explicit --{unit} N it always ADDS to whatever is there, e.g. to grow a base for benchmarks; "
    "additions to a non-empty base use a seed derived from --seed and the number of {unit} already present, "
    "so they are new records. "
    "On PostgreSQL rows are written with COPY and their history rows with INSERT ... SELECT in the same "
    "transaction; a superuser role skips the per-row foreign-key triggers and checks every reference in "
    "bulk instead, and a big load (50,000 {unit} or more, and no fewer than already present) drops the "
    "non-unique indexes and rebuilds them at the end (the tables are locked until the commit). "
    "Elsewhere simple-history's bulk_create_with_history is used. Everything is one transaction."
)


class Command(BaseCommand):
    @property
    def help(self):
        return HELP.format(unit=demo.scale_generator().unit_option, default=DEFAULT_SCALE)

    def add_arguments(self, parser):
        unit = demo.scale_generator().unit_option
        parser.add_argument(
            f"--{unit}", dest="scale", metavar="N", type=int, default=None,
            help=f"{unit} to add (default: {DEFAULT_SCALE}, and only when no demo data exists yet)",
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42): same seed, same data")
        parser.add_argument(
            "--chunk", type=int, default=20_000,
            help=f"{unit} per slice written at a time (memory stays bounded; default 20000)",
        )

    def handle(self, *args, scale=None, seed=42, chunk=20_000, verbosity=1, **options):
        generator = demo.scale_generator()
        unit = generator.unit_option
        if scale is not None and scale < 0:
            raise CommandError(f"--{unit} must be zero or more")
        existing = demo.existing_units()
        if scale is None:
            if existing and demo.demo_users_exist():
                self.stdout.write("Demo data already present")
                return
            scale = DEFAULT_SCALE

        users = demo.ensure_demo_users(os.environ.get("DEMO_PASSWORD") or "demo")
        # A base that already has records gets new people, not the same ones again.
        effective_seed = seed if not existing else f"{seed}:{existing}"
        writer = demo.writer_for(connection)
        if verbosity >= 1:
            self.stdout.write(f"Seeding {scale} {unit} (seed {effective_seed}) via {writer.label}")

        def progress(done, total, counts, seconds):
            if verbosity < 1:
                return
            rows = sum(counts.values())
            self.stdout.write(
                f"  slice {done}/{total}: {demo.summary(counts, entities_only=True)}, {rows} rows in {seconds:.1f} s "
                f"({rows / max(seconds, 1e-9):,.0f} rows/s, {counts[generator.key] / max(seconds, 1e-9):,.0f} "
                f"{unit}/s; history rows not counted)"
            )
            self.stdout.flush()

        result = demo.seed_demo_data(users=users, scale=scale, seed=effective_seed, chunk=chunk, progress=progress)
        notes = demo.run_after_seed(users=users, seed=effective_seed, scale=scale)
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(
                f"Seeded {demo.summary(result.counts)} in {result.seconds:.1f} s via {result.writer}"
            ))
            if result.phases:
                self.stdout.write("  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.phases.items()))
            if notes:
                self.stdout.write("  " + ", ".join(notes))
            self.stdout.write("Demo logins: admin, head, manager1, manager2, marketer")
