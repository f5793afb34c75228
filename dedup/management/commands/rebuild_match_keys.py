from django.core.management.base import BaseCommand, CommandError

from crm_site.registry import registry
from dedup.keys import enabled_entities, keys_rebuild


class Command(BaseCommand):
    help = "Recompute the duplicate match keys of every live record (all entities, or the ones named)."

    def add_arguments(self, parser):
        parser.add_argument("entities", nargs="*")

    def handle(self, *args, entities, **options):
        unknown = set(entities) - set(registry.keys())
        if unknown:
            raise CommandError(f"unknown entity: {', '.join(sorted(unknown))}")
        for key in entities or enabled_entities():
            count = keys_rebuild(key)
            self.stdout.write(f"{key}: {count} keys")
