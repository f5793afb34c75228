"""Duplicate rules, explanations, and candidates for one record or for typed values.

A pair's percent and reasons come from one engine, `dedup.scoring` (evidence weighed field by field), used by
the form warnings, the background scan and the import, so all of them explain a match the same way.
`score_pair()` is the rule-based scorer of before issue 18, kept for comparison (bench) and old stored groups.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from crm_site.normalize import format_phone
from crm_site.registry import registry

from . import keys as keymod
from .models import DuplicateRule, NotDuplicate

# Criterion -> the exact match-key kind it compares.
EXACT_KINDS = {"phone": "phone", "email": "email", "tax_id": "tax_id", "domain": "domain", "company_name": "company"}
EXACT_SCORES = {"tax_id": 98, "email": 95, "phone": 92, "company": 85, "domain": 80, "custom": 95}
CROSS_COMPANY_SCORE = 70  # a lead's company name equal to a company's name
SUPPORT_KINDS = ("company", "birthday", "address")


@dataclass
class Rule:
    entity: str
    criteria: list
    name_threshold: int = 90
    match_against: list = field(default_factory=list)
    possible_percent: int = 50
    duplicate_percent: int = 80
    auto_merge_percent: int = 97
    parameters: dict = field(default_factory=dict)  # estimated m/u, prior, calibration ({} = defaults)
    custom: list = field(default_factory=list)  # codes of the custom fields marked "finds duplicates"

    @property
    def exact_kinds(self):
        kinds = [EXACT_KINDS[c] for c in self.criteria if c in EXACT_KINDS]
        return kinds + [keymod.CUSTOM] if self.custom else kinds

    @property
    def uses_names(self):
        return "name" in self.criteria

    @property
    def name_cutoff(self):
        """rapidfuzz `score_cutoff` (on the unrounded ratio) equivalent to `name_similarity() >= threshold`,
        which rounds: 89.7 counts as 90 in the warnings, so it must in the bulk scan too."""
        return max(self.name_threshold - 0.5, 0)


def rule_for(entity_key):
    """The entity's enabled rule (admin-edited), else the built-in default; None when it has no rule.
    Everything the engine is tuned by — criteria, thresholds, estimated parameters — is read here."""
    row = DuplicateRule.objects.filter(entity=entity_key).first()
    custom = [f.code for f in keymod.criterion_fields(entity_key)] if entity_key in registry else []
    if row is not None:
        if not row.enabled:
            return None
        return Rule(row.entity, list(row.criteria), row.name_threshold, list(row.match_against or []),
                    row.possible_percent, row.duplicate_percent, row.auto_merge_percent, dict(row.parameters or {}),
                    custom)
    default = default_rule(entity_key)
    return Rule(entity_key, **default, custom=custom) if default else None


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


def _pair(reason):
    values = reason.get("values") or ["", ""]
    return {"a": values[0], "b": values[1]}


# Sentences of the scoring engine's reasons: (comparison, level) -> text with %(value)s or %(a)s / %(b)s.
LEVEL_TEXTS = {
    ("first_name", "exact"): lambda: _("same first name %(a)s"),
    ("first_name", "alias"): lambda: _("first names are forms of one name: %(a)s / %(b)s"),
    ("first_name", "initial"): lambda: _("first name initial fits: %(a)s / %(b)s"),
    ("first_name", "fuzzy"): lambda: _("first names alike: %(a)s / %(b)s"),
    ("first_name", "different"): lambda: _("first names differ: %(a)s / %(b)s"),
    ("last_name", "exact"): lambda: _("same last name %(a)s"),
    ("last_name", "fuzzy"): lambda: _("last names alike: %(a)s / %(b)s"),
    ("last_name", "different"): lambda: _("last names differ: %(a)s / %(b)s"),
    ("middle_name", "exact"): lambda: _("same patronymic %(a)s"),
    ("middle_name", "initial"): lambda: _("patronymic initial fits: %(a)s / %(b)s"),
    ("middle_name", "fuzzy"): lambda: _("patronymics alike: %(a)s / %(b)s"),
    ("middle_name", "different"): lambda: _("patronymics differ: %(a)s / %(b)s"),
    ("gender", "different"): lambda: _("different gender: %(a)s / %(b)s"),
    ("phone", "exact"): lambda: _("same phone %(value)s"),
    ("phone", "shared_line"): lambda: _("same phone %(value)s, a company's main line"),
    ("phone", "different"): lambda: _("phones differ"),
    ("email", "exact"): lambda: _("same email %(value)s"),
    ("email", "mailbox"): lambda: _("same shared mailbox %(value)s"),
    ("email", "domain"): lambda: _("same email domain %(value)s"),
    ("email", "different"): lambda: _("emails differ"),
    ("birthday", "exact"): lambda: _("same birthday %(a)s"),
    ("birthday", "close"): lambda: _("birthdays close: %(a)s / %(b)s"),
    ("birthday", "different"): lambda: _("birthdays differ: %(a)s / %(b)s"),
    ("address", "exact"): lambda: _("same address"),
    ("address", "fuzzy"): lambda: _("addresses alike"),
    ("address", "different"): lambda: _("addresses differ"),
    ("company", "exact"): lambda: _("same company"),
    ("company", "fuzzy"): lambda: _("companies alike"),
    ("company", "different"): lambda: _("companies differ"),
    ("position", "exact"): lambda: _("same position"),
    ("position", "fuzzy"): lambda: _("positions alike"),
    ("position", "different"): lambda: _("positions differ"),
    ("company_name", "exact"): lambda: _("same company name"),
    ("company_name", "fuzzy"): lambda: _("company names alike"),
    ("company_name", "different"): lambda: _("company names differ"),
    ("tax_id", "exact"): lambda: _("same tax ID %(a)s"),
    ("tax_id", "different"): lambda: _("tax IDs differ: %(a)s / %(b)s"),
    ("kpp", "exact"): lambda: _("same KPP"),
    ("kpp", "different"): lambda: _("another branch (KPP %(a)s / %(b)s)"),
    ("domain", "exact"): lambda: _("same website %(value)s"),
    ("domain", "different"): lambda: _("websites differ"),
    ("swapped", "swapped"): lambda: _("first and last name swapped"),
}
# A custom field that finds duplicates: %(field)s is its name.
CUSTOM_TEXTS = {
    "exact": lambda: _("same %(field)s: %(value)s"),
    "different": lambda: _("%(field)s differ: %(a)s / %(b)s"),
}


def custom_label(entity_key, name):
    """A custom field's name as the admin gave it, from its `cf_<code>` (the code when it is gone)."""
    from crm_site.customfields import code_of
    from crm_site.customfields.registry import definition

    field = definition(entity_key, name) if entity_key else None
    return field.label if field is not None else code_of(name)


def _explain_custom(reason):
    from .scoring import is_custom

    text = CUSTOM_TEXTS.get(reason["level"]) if is_custom(reason.get("code") or "") else None
    if text is None:
        return ""
    values = reason.get("values") or ["", ""]
    return text() % {"field": custom_label(reason.get("entity", ""), reason["code"]),
                     "value": reason.get("value", ""), "a": values[0], "b": values[1]}


def explain(reason, names=None):
    """One reason as a sentence, e.g. "same phone +7 495 123-45-67" or "first names differ: Руслан / Николай"."""
    code = reason.get("code")
    if "level" in reason and str(code).startswith("cf_"):
        return _explain_custom(reason)
    if "level" in reason:  # the scoring engine's reasons
        text = LEVEL_TEXTS.get((code, reason["level"]))
        if text is None:
            return ""
        value = reason.get("value", "")
        if code == "phone" and value:
            value = format_phone(value)
        pair = _pair(reason)
        if reason["level"] == "exact" and pair["a"] and pair["b"] and pair["a"].casefold() != pair["b"].casefold():
            pair["a"] = f"{pair['a']} / {pair['b']}"  # the same name spelled otherwise (Щербаков / Shcherbakov)
        return text() % {"value": value, **pair}
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
    if code == "custom":  # the rule-based scorer's reason: "<code>:<value>"
        field_code, value = keymod.split_custom(reason.get("value"))
        return _("same %(field)s: %(value)s") % {"field": field_code, "value": value}
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


def explain_all(reasons, limit=6, hidden=()):
    """The reasons as one sentence: what agreed first, then what disagreed (a reason of no weight is left out).
    `hidden`: field names the reader's roles hide (a custom field's reason is not shown to them)."""
    texts = [explain(r) for r in shown_reasons(reasons, hidden) if not ("level" in r and r["level"] in ("same",))]
    return "; ".join([t for t in texts if t][:limit])


def shown_reasons(reasons, hidden=()):
    """The reasons a reader may see: none about a field hidden from them (a custom field named `cf_<code>`)."""
    hidden = set(hidden or ())
    return [r for r in reasons if r.get("code") not in hidden] if hidden else list(reasons)


# ---------------------------------------------------------------------------
# Candidates for one record or for values typed in a form


@dataclass
class Candidate:
    entity: object
    obj: object
    score: int
    reasons: list
    verdict: object = None  # dedup.scoring.Verdict

    @property
    def explanation(self):
        return explain_all(self.reasons)

    def explanation_for(self, hidden=()):
        return explain_all(self.reasons, hidden=hidden)

    @property
    def different_person(self):
        """Same phone or email, but the names contradict: shown as such, never as a duplicate."""
        return self.verdict is not None and self.verdict.outcome == "different_person"

    @property
    def fields(self):
        """The form fields the match is about, for showing the warning next to them: phone, email, name."""
        out = []
        for reason in self.reasons:
            code = reason.get("code")
            field_name = {"phone": "phone", "email": "email", "first_name": "name", "last_name": "name",
                          "middle_name": "name", "name": "name", "company_name": "name"}.get(code)
            if str(code).startswith("cf_"):  # a custom field that finds duplicates: its own form field
                field_name = code
            if field_name and reason.get("agree", True) and field_name not in out:
                out.append(field_name)
        return out


def keys_from_form(entity_key, data):
    """Match keys of unsaved form input: model fields by name, phones/emails/links from the channel formsets."""
    from django.utils.dateparse import parse_date

    from crm_site.models import Communication

    spec = keymod.spec_for(entity_key)
    row = {name: (data.get(name) or "").strip() for name in spec.fields if name != keymod.CUSTOM_COLUMN}
    # Custom fields that find duplicates, as the form posts them (`cf_<code>`); a field the user's roles hide
    # is not in the form, nor in `data` (the views drop it), so it can't be used to probe the base.
    row[keymod.CUSTOM_COLUMN] = {field.code: data.get(field.name) for field in keymod.criterion_fields(entity_key)
                                 if (data.get(field.name) or "").strip()}
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
    """Records (live, any owner) that may be the record with `record_keys`, best first: possible duplicates and
    better, and "same phone, different person" ones (flagged, after the others).

    `exclude`: (model, pk) of the record itself. Access is applied by the caller (warnings show records the
    user may not read as "exists, owned by ...")."""
    from . import scoring

    rule = rule_for(entity_key)
    if rule is None or not record_keys:
        return []
    results = []
    for target_key in [entity_key] + [k for k in rule.match_against if k in registry and k != entity_key]:
        target = registry[target_key]
        if not keymod.spec_for(target_key).enabled or rule_for(target_key) is None:
            continue
        skip = set()
        if exclude is not None and exclude[0] is target.model:
            skip = {exclude[1]} | _not_duplicates(ContentType.objects.get_for_model(target.model), exclude[1])
        [matches] = scoring.match_rows(entity_key, [set(record_keys)], target=target_key, exclude=skip, limit=limit,
                                       shared_contacts=True)
        objects = target.model.objects.filter(pk__in=[m.object_id for m in matches]).select_related("owner")
        by_pk = {obj.pk: obj for obj in objects}
        for match in matches:
            obj = by_pk.get(match.object_id)
            if obj is not None:
                verdict = match.verdict
                results.append(Candidate(target, obj, verdict.percent, list(verdict.reasons), verdict))
    results.sort(key=lambda c: (c.different_person, -c.score, c.entity.key, c.obj.pk))
    return results[:limit]


def _not_duplicates(content_type, pk):
    marks = NotDuplicate.objects.filter(content_type=content_type).filter(first_id=pk).values_list("second_id", flat=True)
    back = NotDuplicate.objects.filter(content_type=content_type, second_id=pk).values_list("first_id", flat=True)
    return set(marks) | set(back)


def candidates_for_record(obj, **kwargs):
    entity_key = type(obj).entity().key
    return find_candidates(entity_key, keymod.record_keys(obj), exclude=(type(obj), obj.pk), display=str(obj),
                           **kwargs)
