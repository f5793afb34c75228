from django.core.management.base import BaseCommand

from trash.services import trash_purge_expired


class Command(BaseCommand):
    help = "Delete for good the recycle bin items whose retention period is over (the same purge as the beat task)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, dry_run=False, batch_size=500, **options):
        if batch_size < 1:
            self.stderr.write("--batch-size must be positive")
            return
        report = trash_purge_expired(dry_run=dry_run, batch_size=batch_size)
        if dry_run:
            for key, pk, deleted_at in report.would_purge:
                self.stdout.write(f"{key} #{pk} deleted {deleted_at:%Y-%m-%d %H:%M}")
            self.stdout.write(f"{len(report.would_purge)} item(s) would be purged.")
            return
        for key, count in sorted(report.purged.items()):
            self.stdout.write(f"{key}: {count}")
        self.stdout.write(f"{report.total} item(s) purged in {report.batches} batch(es).")
