from django.core.management.base import BaseCommand

from dedup.keys import enabled_entities, keys_rebuild
from dedup.management.entity_arg import resolve_entity


class Command(BaseCommand):
    help = "Recompute the duplicate match keys of every live record (all entities, or the ones named)."

    def add_arguments(self, parser):
        parser.add_argument("entities", nargs="*", help="e.g. contact or contacts; all when none is given")

    def handle(self, *args, entities, **options):
        entities = [resolve_entity(name) for name in entities]
        for key in entities or enabled_entities():
            count = keys_rebuild(key)
            self.stdout.write(f"{key}: {count} keys")
