from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from crm_site.customfields import indexes


class Command(BaseCommand):
    help = ("Build the expression indexes of the custom fields marked filterable and drop those no field needs "
            "(PostgreSQL; the tables stay writable while an index is built).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only list what would be built and dropped")
        parser.add_argument("--rebuild", action="store_true", help="drop and build every one again")

    def handle(self, *args, dry_run=False, rebuild=False, **options):
        if connection.vendor != "postgresql":
            self.stdout.write(_("Nothing to do: expression indexes are made on PostgreSQL only."))
            return
        result = indexes.sync(dry_run=dry_run, rebuild=rebuild)
        verb_drop, verb_make = (_("would drop"), _("would build")) if dry_run else (_("dropped"), _("built"))
        for name in result.dropped:
            self.stdout.write(f"{verb_drop} {name}")
        for name in result.created:
            if name not in {failed for failed, _error in result.failed}:
                self.stdout.write(f"{verb_make} {name}")
        if not result.created and not result.dropped:
            self.stdout.write(_("The indexes match the filterable fields."))
        if result.failed:
            for name, error in result.failed:
                self.stderr.write(f"{name}: {error}")
            raise CommandError(_("%(count)s indexes could not be built.") % {"count": len(result.failed)})
