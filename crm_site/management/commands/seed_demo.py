"""`manage.py seed_demo`: demo users and a coherent, deterministic demo base (see crm_site/demo.py)."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from crm_site import demo

DEFAULT_CONTACTS = 300


class Command(BaseCommand):
    help = (
        "Create the demo users (admin, head, manager1, manager2, marketer; password from DEMO_PASSWORD, "
        "default 'demo', set only when a user is created) with their departments, and a demo base: "
        "contacts, companies (about contacts/3), leads and deals (about contacts/2 each) with phones, e-mails, "
        "links, stage changes and full audit history. manager1 and manager2 always get at least 30 records of "
        "each kind that are not opened to everyone, so small bases are grown to that. "
        "Without --contacts the command is idempotent: when the demo users and contacts already exist it "
        "prints 'Demo data already present' and does nothing; otherwise it seeds 300 contacts. "
        "With an explicit --contacts N it always ADDS N contacts (and their companies, leads and deals) to "
        "whatever is there, e.g. to grow a base for benchmarks; additions to a non-empty base use a seed "
        "derived from --seed and the number of contacts already present, so they are new records. "
        "On PostgreSQL rows are written with COPY and their history rows with INSERT ... SELECT in the same "
        "transaction; a superuser role skips the per-row foreign-key triggers and checks every reference in "
        "bulk instead, and a big load (50,000 contacts or more, and no fewer than already present) drops the "
        "non-unique indexes and rebuilds them at the end (the tables are locked until the commit). "
        "Elsewhere simple-history's bulk_create_with_history is used. Everything is one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts", type=int, default=None,
            help=f"contacts to add (default: {DEFAULT_CONTACTS}, and only when no demo data exists yet)",
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42): same seed, same data")
        parser.add_argument(
            "--chunk", type=int, default=20_000,
            help="contacts per slice written at a time (memory stays bounded; default 20000)",
        )

    def handle(self, *args, contacts=None, seed=42, chunk=20_000, verbosity=1, **options):
        from contacts.models import Contact

        if contacts is not None and contacts < 0:
            raise CommandError("--contacts must be zero or more")
        existing = Contact.all_objects.count()
        if contacts is None:
            if existing and demo.demo_users_exist():
                self.stdout.write("Demo data already present")
                return
            contacts = DEFAULT_CONTACTS

        users = demo.ensure_demo_users(os.environ.get("DEMO_PASSWORD") or "demo")
        # A base that already has contacts gets new people, not the same ones again.
        effective_seed = seed if not existing else f"{seed}:{existing}"
        writer = demo.writer_for(connection)
        if verbosity >= 1:
            self.stdout.write(f"Seeding {contacts} contacts (seed {effective_seed}) via {writer.label}")

        def progress(done, total, counts, seconds):
            if verbosity < 1:
                return
            rows = sum(counts.values())
            self.stdout.write(
                f"  slice {done}/{total}: {counts['contact']} contacts, {counts['company']} companies, "
                f"{counts['lead']} leads, {counts['deal']} deals, {rows} rows in {seconds:.1f} s "
                f"({rows / max(seconds, 1e-9):,.0f} rows/s, {counts['contact'] / max(seconds, 1e-9):,.0f} "
                f"contacts/s; history rows not counted)"
            )
            self.stdout.flush()

        result = demo.seed_demo_data(users=users, contacts=contacts, seed=effective_seed, chunk=chunk,
                                     progress=progress)
        counts = result.counts
        activity = self.seed_activity(users, effective_seed, contacts, verbosity)
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(
                f"Seeded {counts['contact']} contacts, {counts['company']} companies, {counts['lead']} leads, "
                f"{counts['deal']} deals, {counts['communication']} phones/e-mails/links, "
                f"{counts['contactcompany']} contact-company links, {counts['dealcontact']} deal contacts, "
                f"{counts['stagechange']} stage changes in {result.seconds:.1f} s via {result.writer}"
            ))
            if result.phases:
                self.stdout.write("  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.phases.items()))
            self.stdout.write(activity)
            self.stdout.write("Demo logins: admin, head, manager1, manager2, marketer")

    MATCH_KEYS_LIMIT = 50_000

    def seed_activity(self, users, seed, contacts, verbosity):
        """Timeline entries on the demo users' latest records, and the duplicate match keys of the new base.

        The seed writes rows in bulk without the services' events, so the keys are built here; past
        MATCH_KEYS_LIMIT contacts that is left to `manage.py rebuild_match_keys` (minutes at a million).
        """
        from dedup.keys import enabled_entities, keys_rebuild
        from timeline.demo import seed_activity

        entries = seed_activity(users=list(users.values()), seed=seed)
        if contacts <= self.MATCH_KEYS_LIMIT:
            keys = sum(keys_rebuild(key) for key in enabled_entities())
            return f"  {entries} timeline entries, {keys} duplicate match keys"
        return (f"  {entries} timeline entries; run `manage.py rebuild_match_keys` to build the duplicate "
                f"match keys of {contacts} contacts")
