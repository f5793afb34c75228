"""Duplicate rules, pair scoring and explanations, and candidates for one record or for typed values.

A pair's score (0-100) and reasons come from one function, `score_pair()`, used by the form warnings and
by the background scan, so both explain a match the same way.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from crm_site.normalize import format_phone
from crm_site.registry import registry

from . import keys as keymod
from .models import DuplicateRule, MatchKey, NotDuplicate

# Criterion -> the exact match-key kind it compares.
EXACT_KINDS = {"phone": "phone", "email": "email", "tax_id": "tax_id", "domain": "domain", "company_name": "company"}
EXACT_SCORES = {"tax_id": 98, "email": 95, "phone": 92, "company": 85, "domain": 80}
CROSS_COMPANY_SCORE = 70  # a lead's company name equal to a company's name
SUPPORT_KINDS = ("company", "birthday", "address")


@dataclass
class Rule:
    entity: str
    criteria: list
    name_threshold: int = 90
    match_against: list = field(default_factory=list)

    @property
    def exact_kinds(self):
        return [EXACT_KINDS[c] for c in self.criteria if c in EXACT_KINDS]

    @property
    def uses_names(self):
        return "name" in self.criteria

    @property
    def name_cutoff(self):
        """rapidfuzz `score_cutoff` (on the unrounded ratio) equivalent to `name_similarity() >= threshold`,
        which rounds: 89.7 counts as 90 in the warnings, so it must in the bulk scan too."""
        return max(self.name_threshold - 0.5, 0)


def rule_for(entity_key):
    """The entity's enabled rule (admin-edited), else the built-in default; None when it has no rule."""
    row = DuplicateRule.objects.filter(entity=entity_key).first()
    if row is not None:
        if not row.enabled:
            return None
        return Rule(row.entity, list(row.criteria), row.name_threshold, list(row.match_against or []))
    default = default_rule(entity_key)
    return Rule(entity_key, **default) if default else None


def default_rule(entity_key):
    """The built-in rule an entity declares in the registry (`Entity.duplicate_rule`), or None."""
    return registry[entity_key].duplicate_rule if entity_key in registry else None


# ---------------------------------------------------------------------------
# Scoring


def name_similarity(a, b):
    """Similarity of two order-free transliterated name keys, 0-100."""
    if not a or not b:
        return 0
    return int(round(fuzz.ratio(a, b)))


def score_pair(rule, keys_a, keys_b, *, cross_company=False):
    """(score, reasons) of two records' key sets under `rule`; score 0 when the rule does not match.

    Reasons are plain dicts ({"code": "phone", "value": "+74951234567"}) rendered by `explain()`, so they
    can be stored (scan groups) and translated when shown.
    """
    by_kind_a, by_kind_b = _by_kind(keys_a), _by_kind(keys_b)
    reasons = []
    kinds = list(rule.exact_kinds)
    if cross_company and "company" not in kinds:
        kinds.append("company")
    for kind in kinds:
        for value in sorted(by_kind_a.get(kind, set()) & by_kind_b.get(kind, set())):
            reasons.append(exact_reason(kind, value, cross_company))
            break
    if rule.uses_names:
        name_a, name_b = _one(by_kind_a.get("name")), _one(by_kind_b.get("name"))
        similarity = name_similarity(name_a, name_b)
        if similarity >= rule.name_threshold:
            support = [k for k in SUPPORT_KINDS if by_kind_a.get(k, set()) & by_kind_b.get(k, set())]
            if support:
                reasons.append(name_reason(similarity, rule.name_threshold, support))
    return combine(reasons)


def name_reason(similarity, threshold, support):
    """Similar names plus at least one shared company/birthday/address: 60 at the threshold, 95 when equal."""
    span = max(100 - threshold, 1)
    score = 60 + round(35 * (similarity - threshold) / span) + 5 * (len(support) - 1)
    return {"code": "name", "score": min(score, 99), "similarity": int(similarity), "support": list(support)}


def exact_reason(kind, value, cross_company=False):
    score = CROSS_COMPANY_SCORE if (kind == "company" and cross_company) else EXACT_SCORES[kind]
    return {"code": kind, "value": value, "score": score}


def combine(reasons):
    """(score, reasons best first): the best reason's score, plus 3 for each further one, at most 100."""
    if not reasons:
        return 0, []
    best = max(r["score"] for r in reasons)
    return min(100, best + 3 * (len(reasons) - 1)), sorted(reasons, key=lambda r: -r["score"])


def _by_kind(pairs):
    out = {}
    for kind, value in pairs:
        out.setdefault(kind, set()).add(value)
    return out


def _one(values):
    return min(values) if values else ""


SUPPORT_LABELS = {"company": lambda: _("same company"), "birthday": lambda: _("same birthday"),
                  "address": lambda: _("same address")}


def explain(reason, names=None):
    """One reason as a sentence, e.g. "same phone +7 495 123-45-67" or "name similarity 91% (A ~ B)"."""
    code = reason.get("code")
    if code == "phone":
        return _("same phone %(value)s") % {"value": format_phone(reason["value"])}
    if code == "email":
        return _("same email %(value)s") % {"value": reason["value"]}
    if code == "tax_id":
        return _("same tax ID %(value)s") % {"value": reason["value"]}
    if code == "domain":
        return _("same website %(value)s") % {"value": reason["value"]}
    if code == "company":
        return _("same company name")
    if code == "name":
        support = ", ".join(SUPPORT_LABELS[k]() for k in reason.get("support", ()) if k in SUPPORT_LABELS)
        pair = reason.get("names") or names
        if pair:
            text = _("name similarity %(score)s%% (%(a)s ~ %(b)s)") % {
                "score": reason["similarity"], "a": pair[0], "b": pair[1]}
        else:
            text = _("name similarity %(score)s%%") % {"score": reason["similarity"]}
        return f"{text}; {support}" if support else text
    return str(reason.get("value", ""))


def explain_all(reasons):
    return "; ".join(explain(r) for r in reasons)


# ---------------------------------------------------------------------------
# Candidates for one record or for values typed in a form


@dataclass
class Candidate:
    entity: object
    obj: object
    score: int
    reasons: list

    @property
    def explanation(self):
        return explain_all(self.reasons)


def keys_from_form(entity_key, data):
    """Match keys of unsaved form input: model fields by name, phones/emails/links from the channel formsets."""
    from django.utils.dateparse import parse_date

    from crm_site.models import Communication

    spec = keymod.spec_for(entity_key)
    row = {name: (data.get(name) or "").strip() for name in spec.fields}
    if "birthday" in row:
        try:
            row["birthday"] = parse_date(row["birthday"]) if row["birthday"] else None
        except ValueError:
            row["birthday"] = None
    comms = []
    for key, value in data.items():
        for channel in ("phone", "email", "web"):
            if key.startswith(f"ch-{channel}-") and key.endswith("-value") and (value or "").strip():
                comms.append((channel, Communication.normalize_value(channel, value), value.strip()))
    return keymod.keys_from_values(spec, row, comms, ())


def form_display_name(entity_key, data):
    spec = keymod.spec_for(entity_key)
    fields = spec.person or ((spec.own_name,) if spec.own_name else ())
    return " ".join((data.get(f) or "").strip() for f in fields if (data.get(f) or "").strip())


def find_candidates(entity_key, record_keys, *, exclude=None, display="", limit=20):
    """Records (live, any owner) whose keys match `record_keys` under the entity's rule, best first.

    `exclude`: (model, pk) of the record itself. Access is applied by the caller (warnings show records the
    user may not read as "exists, owned by ...").
    """
    rule = rule_for(entity_key)
    if rule is None or not record_keys:
        return []
    by_kind = _by_kind(record_keys)
    results = []
    for target_key in [entity_key] + [k for k in rule.match_against if k in registry and k != entity_key]:
        target = registry[target_key]
        target_spec = keymod.spec_for(target_key)
        if not target_spec.enabled:
            continue
        cross_company = target_key != entity_key and bool(target_spec.own_name)
        content_type = ContentType.objects.get_for_model(target.model)
        wanted = {kind: by_kind.get(kind, set()) for kind in rule.exact_kinds}
        if cross_company:
            wanted["company"] = by_kind.get("company", set())
        if rule.uses_names:
            wanted["name_block"] = by_kind.get("name_block", set())
            for kind in SUPPORT_KINDS:  # same birthday/company/address: names that differ more than a typo
                wanted[kind] = by_kind.get(kind, set())
        lookup = MatchKey.objects.none()
        for kind, values in wanted.items():
            if values:
                lookup = lookup | MatchKey.objects.filter(content_type=content_type, kind=kind, value__in=values)
        ids = set(lookup.values_list("object_id", flat=True)[:2000])
        if exclude is not None and exclude[0] is target.model:
            ids.discard(exclude[1])
            ids -= _not_duplicates(content_type, exclude[1])
        if not ids:
            continue
        live = target.model.objects.filter(pk__in=ids).select_related("owner")
        their_keys = {}
        for object_id, kind, value in MatchKey.objects.filter(content_type=content_type, object_id__in=ids).values_list(
            "object_id", "kind", "value"
        ):
            their_keys.setdefault(object_id, set()).add((kind, value))
        for obj in live:
            score, reasons = score_pair(rule, record_keys, their_keys.get(obj.pk, set()), cross_company=cross_company)
            if score:
                for reason in reasons:
                    if reason["code"] == "name":
                        reason["names"] = [display, str(obj)]
                results.append(Candidate(target, obj, score, reasons))
    results.sort(key=lambda c: (-c.score, c.entity.key, c.obj.pk))
    return results[:limit]


def _not_duplicates(content_type, pk):
    marks = NotDuplicate.objects.filter(content_type=content_type).filter(first_id=pk).values_list("second_id", flat=True)
    back = NotDuplicate.objects.filter(content_type=content_type, second_id=pk).values_list("first_id", flat=True)
    return set(marks) | set(back)


def candidates_for_record(obj, **kwargs):
    entity_key = type(obj).entity().key
    return find_candidates(entity_key, keymod.record_keys(obj), exclude=(type(obj), obj.pk), display=str(obj),
                           **kwargs)
