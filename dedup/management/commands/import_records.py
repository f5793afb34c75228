"""Import a CSV, XLSX or vCard file from the command line through the same pipeline as the wizard.

    manage.py import_records contacts clients.csv --on-duplicate merge --match phone,email --owner anna
    manage.py import_records contact export.xlsx --sheet Клиенты --dry-run --report report.csv

Prints the count of each outcome; exits non-zero when the file can't be read.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from dedup.importing.errors import ImportFileError
from dedup.importing.models import ImportBatch, ImportRow
from dedup.importing.pipeline import (
    CRITERIA,
    batch_apply,
    batch_configure,
    batch_prepare,
    batch_upload,
    entity_from_name,
    open_batch_file,
    write_report_csv,
)
from dedup.importing.rows import ImportDefaults


class Command(BaseCommand):
    help = "Import records from a CSV, XLSX or vCard file (duplicate control, dry run, per-row report)."

    def add_arguments(self, parser):
        parser.add_argument("entity", help="contacts, companies, leads, deals (or the singular)")
        parser.add_argument("file")
        parser.add_argument("--on-duplicate", choices=ImportBatch.OnDuplicate.values, default="merge")
        parser.add_argument("--match", default="", help=f"comma-separated: {', '.join(CRITERIA)}, or cf_<code> of a "
                                                        "custom field marked 'finds duplicates'")
        parser.add_argument("--dry-run", action="store_true", help="decide every row, write nothing")
        parser.add_argument("--owner", help="username: imports as this user, who becomes the records' owner")
        parser.add_argument("--mapping", help="a saved column mapping's name")
        parser.add_argument("--sheet")
        parser.add_argument("--encoding")
        parser.add_argument("--all-or-nothing", action="store_true")
        parser.add_argument("--create-possible", action="store_true",
                            help="create the rows the engine calls only possible duplicates (held back by default)")
        parser.add_argument("--report", help="write the per-row report (CSV) to this file")

    def handle(self, *args, **options):
        try:
            entity = entity_from_name(options["entity"])
        except KeyError:
            raise CommandError(f"Unknown record type {options['entity']!r}.") from None
        user = self._user(options["owner"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        match = [c.strip() for c in options["match"].split(",") if c.strip()]
        file_options = {k: options[k] for k in ("sheet", "encoding") if options.get(k)}
        try:
            with path.open("rb") as handle:
                batch = batch_upload(user=user, entity=entity, content=handle, name=path.name, options=file_options)
            batch_configure(batch, on_duplicate=options["on_duplicate"], match=match,
                            all_or_nothing=options["all_or_nothing"], create_possible=options["create_possible"],
                            defaults=ImportDefaults(owner=user.pk))
            if options["mapping"]:
                self._saved_mapping(batch, user, entity, options["mapping"])
            batch = batch_prepare(batch, user=user)
        except ImportFileError as error:
            raise CommandError(error.message) from None
        except (PermissionDenied, ValidationError) as error:
            raise CommandError("; ".join(getattr(error, "messages", [str(error)]))) from None
        if not options["dry_run"]:
            batch = batch_apply(batch.pk, user=user)
        counts = batch.counts
        labels = dict(ImportRow.Outcome.choices)
        self.stdout.write(f"batch {batch.pk}: {batch.total} rows ({batch.get_status_display()})")
        for outcome in ImportRow.Outcome.values:
            if counts.get(outcome):
                self.stdout.write(f"  {outcome}: {counts[outcome]}  ({labels[outcome]})")
        if batch.error:
            self.stderr.write(batch.error)
        if options["report"]:
            with open(options["report"], "w", encoding="utf-8-sig", newline="") as stream:
                write_report_csv(batch, stream)
        if batch.status == ImportBatch.Status.FAILED:
            raise CommandError(batch.error)

    def _user(self, username):
        User = get_user_model()
        if username:
            try:
                return User.objects.get(**{User.USERNAME_FIELD: username})
            except User.DoesNotExist:
                raise CommandError(f"No user {username!r}.") from None
        user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError("Give --owner: there is no superuser to import as.")
        return user

    def _saved_mapping(self, batch, user, entity, name):
        from dedup.importing.services import import_mapping_load

        with open_batch_file(batch) as parsed:
            mapping, saved_options, defaults = import_mapping_load(user=user, entity=entity, name=name,
                                                                   headers=parsed.headers)
        if defaults.owner is None:
            defaults = ImportDefaults(owner=user.pk, source=defaults.source, tags=defaults.tags,
                                      opened=defaults.opened, fields=defaults.fields)
        batch_configure(batch, mapping=mapping, defaults=defaults, options=saved_options)


