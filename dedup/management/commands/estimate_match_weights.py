"""Re-estimate an entity's duplicate model from its own base (EM, as Splink does) or from what users decided
(merges and "not a duplicate" marks), and store it on the entity's duplicate rule (shown in the admin)."""

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dedup.management.entity_arg import resolve_entity


class Command(BaseCommand):
    help = ("Estimate the duplicate model's weights (m and u of every comparison level) for one entity: from the "
            "base by EM over the scan's candidate pairs, or from the users' merges and 'not a duplicate' marks.")

    def add_arguments(self, parser):
        parser.add_argument("entity", help="e.g. contact or contacts")
        parser.add_argument("--from", dest="source", choices=["base", "feedback"], default="base",
                            help="base: EM on the records themselves (default); feedback: merges and marks")
        parser.add_argument("--sample", type=int, default=200_000, help="random pairs for u (default 200000)")
        parser.add_argument("--dry-run", action="store_true", help="print the weights, store nothing")
        parser.add_argument("--reset", action="store_true", help="forget stored weights: back to the defaults")

    def handle(self, *args, entity, source, sample, dry_run, reset, **options):
        from dedup import estimate as est
        from dedup import scan, scoring
        from dedup.matching import default_rule, rule_for
        from dedup.models import DuplicateRule

        entity = resolve_entity(entity)
        rule = rule_for(entity)
        if rule is None:
            raise CommandError(f"{entity} has no enabled duplicate rule")
        row = DuplicateRule.objects.filter(entity=entity).first() or DuplicateRule(
            entity=entity, **(default_rule(entity) or {"criteria": rule.criteria}))
        if reset:
            row.parameters, row.estimated_at, row.estimated_from = {}, None, ""
            row.save()
            self.stdout.write(f"{entity}: back to the built-in weights")
            return
        model = scoring.model_for(entity)
        cols = scan.load_columns(entity)
        if cols.n < 50:
            raise CommandError(f"{entity}: {cols.n} records are too few to estimate anything")
        u = est.estimate_u(cols, model, sample=sample)
        calibration = model.calibration
        if source == "base":
            a, b = scan.candidate_pairs(cols, entity, rule)
            m, prior, share = est.estimate_m_em(cols, a, b, model, u)
            what = f"EM over {len(a)} candidate pairs of {cols.n} records ({share:.1%} matching)"
        else:
            m, prior, calibration, what = self._from_feedback(entity, cols, model, u, est, scoring)
        parameters = est.parameters_from(m, u, prior, calibration)
        model.m, model.u, model.prior, model.calibration = parameters["m"], parameters["u"], prior, calibration
        for comparison in model.comparisons:
            weights = ", ".join(f"{level} {model.weight(comparison, level):+.1f}"
                                for level in scoring.LEVELS[comparison][1:])
            self.stdout.write(f"  {comparison:13s} {weights}")
        self.stdout.write(f"  prior {prior:.3g} duplicates per record; {what}")
        if dry_run:
            self.stdout.write("dry run: nothing stored")
            return
        row.parameters, row.estimated_at, row.estimated_from = parameters, timezone.now(), what[:200]
        row.save()
        self.stdout.write(f"{entity}: weights stored on the duplicate rule")

    def _from_feedback(self, entity, cols, model, u, est, scoring):
        """m from the pairs users merged (their snapshots before the merge), calibration from those and the
        pairs marked 'not a duplicate'."""
        from django.contrib.contenttypes.models import ContentType

        from crm_site.registry import registry
        from dedup.keys import spec_for
        from dedup.models import MergeRecord, NotDuplicate

        spec = spec_for(entity)
        keysets, same = [], []
        for merge in MergeRecord.objects.filter(entity=entity, undone_at__isnull=True).order_by("-pk")[:5000]:
            states = {int(pk): state for pk, state in merge.before.items()}
            survivor = states.get(merge.survivor_id)
            for other in merge.other_ids:
                if survivor and states.get(other):
                    keysets += [_keys_of_state(entity, spec, survivor), _keys_of_state(entity, spec, states[other])]
                    same.append(True)
        content_type = ContentType.objects.get_for_model(registry[entity].model)
        marks = list(NotDuplicate.objects.filter(content_type=content_type).values_list("first_id", "second_id")[:5000])
        saved = scoring.saved_keysets(entity, sorted({pk for pair in marks for pk in pair}))
        for first, second in marks:
            if first in saved and second in saved:
                keysets += [saved[first], saved[second]]
                same.append(False)
        merged = sum(same)
        if merged < 10:
            raise CommandError(f"{entity}: {merged} merges to learn from; at least 10 are needed (use --from base)")
        pairs = scoring.Columns.from_keysets(keysets)
        pairs.counts = {}  # frequencies from the base
        content = ContentType.objects.get_for_model(registry[entity].model)
        pairs.fill_counts_from_base(content)
        a = np.arange(0, len(keysets), 2)
        b = a + 1
        labels = np.array(same, dtype=bool)
        m = est.estimate_m_labelled(pairs, a[labels], b[labels], model, np.ones(labels.sum(), dtype=bool))
        calibration = model.calibration
        if (~labels).sum() >= 10:
            model.m, model.u = m, u
            weighed = scoring.weigh(pairs, a, b, model, cols.n)
            fit = ~weighed.contradiction
            calibration = est.calibrate(weighed.total[fit], labels[fit]) or calibration
        what = f"{merged} merged pairs and {int((~labels).sum())} 'not a duplicate' marks"
        return m, model.prior, calibration, what


def _keys_of_state(entity, spec, state):
    """Match keys of a record as a merge snapshot saw it (its fields and its phones/emails)."""
    from dedup import scoring

    fields = state.get("fields", {})
    values = {name: fields.get(name) for name in spec.fields}
    values["phones"] = [c["value"] for c in state.get("comms", []) if c.get("channel") == "phone"]
    values["emails"] = [c["value"] for c in state.get("comms", []) if c.get("channel") == "email"]
    values["websites"] = [c["value"] for c in state.get("comms", []) if c.get("channel") == "web"]
    return scoring.keys_of(entity, values)
