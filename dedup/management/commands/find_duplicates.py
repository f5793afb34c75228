import json

from django.core.management.base import BaseCommand

from crm_site.registry import registry
from dedup.management.entity_arg import resolve_entity
from dedup.matching import explain


class Command(BaseCommand):
    help = "Scan one entity for duplicates (the same scan as the Duplicates page) and print the groups."

    def add_arguments(self, parser):
        parser.add_argument("entity", help="entity, e.g. contact or contacts: " + ", ".join(registry.keys()))
        parser.add_argument("--json", action="store_true", help='print [{"ids": [...], "score": ..., "reasons": [...]}]')
        parser.add_argument("--save", action="store_true", help="also store the groups for the Duplicates page")

    def handle(self, *args, entity, **options):
        entity = resolve_entity(entity)
        if options["save"]:
            from dedup.services import duplicates_scan

            groups = duplicates_scan(entity_key=entity).result.groups
        else:
            from dedup.scan import scan_entity

            groups = scan_entity(entity).groups
        rows = [{"ids": g["ids"], "score": g["score"], "reasons": [explain(r) for r in g["reasons"]]} for g in groups]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            self.stdout.write(f"{row['score']:3d}  {', '.join(map(str, row['ids']))}  {'; '.join(row['reasons'])}")
        self.stdout.write(f"{len(rows)} group(s)")
