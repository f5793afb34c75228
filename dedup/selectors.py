"""Reads: recent merges of a record, duplicate groups a user may see, warnings as a user may see them."""

from django.contrib.contenttypes.models import ContentType

from access.fields import hidden_fields
from access.scopes import EDIT, READ, can
from crm_site.registry import registry

from .matching import explain, shown_reasons
from .models import DuplicateGroup, MergeRecord, ScanRun


def merges_for_card(*, user, obj, limit=5):
    """The record's recent merges that are not undone, each with whether this user may undo it now."""
    from .services import merge_undo_blocker

    merges = list(MergeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(type(obj)), survivor_id=obj.pk, undone_at__isnull=True
    ).select_related("user")[:limit])
    allowed = can(user, obj, EDIT)
    return [{"merge": m, "blocker": merge_undo_blocker(m), "can_undo": allowed} for m in merges]


def visible_groups(*, user, entity_key, limit=200):
    """Groups of the latest finished scan whose live members the user can all read (2+), best first."""
    entity = registry[entity_key]
    scan = ScanRun.objects.filter(entity=entity_key, status=ScanRun.Status.DONE).first()
    if scan is None:
        return None, []
    groups = list(DuplicateGroup.objects.filter(scan=scan, resolved_at__isnull=True).order_by("-score", "pk")[:5000])
    all_ids = {pk for g in groups for pk in g.object_ids}
    visible = {obj.pk: obj for obj in entity.model.objects.visible_to(user, READ).filter(pk__in=all_ids)}
    hidden = hidden_fields(user, entity_key)  # a custom field hidden from the user is not named in the reasons
    out = []
    for group in groups:
        members = [visible[pk] for pk in group.object_ids if pk in visible]
        # A group with a member the user cannot read, or already merged away, is not shown to them.
        if len(members) < 2 or len(members) != len(group.object_ids):
            continue
        reasons = [text for text in (explain(r) for r in shown_reasons(group.reasons, hidden)) if text]
        out.append({"group": group, "members": members, "reasons": reasons})
        if len(out) >= limit:
            break
    return scan, out


def warnings_for(user, candidates):
    """Candidates as a user may see them: full details when readable, else only that it exists and whose."""
    out = []
    hidden = {}
    for candidate in candidates:
        model = candidate.entity.model
        if candidate.entity.key not in hidden:
            hidden[candidate.entity.key] = hidden_fields(user, candidate.entity.key)
        readable = model.objects.visible_to(user, READ).filter(pk=candidate.obj.pk).exists()
        owner = candidate.obj.owner
        out.append({
            "entity": candidate.entity,
            "readable": readable,
            "object": candidate.obj if readable else None,
            "owner": owner.get_full_name() or owner.get_username(),
            "score": candidate.score,
            "explanation": candidate.explanation_for(hidden[candidate.entity.key]) if readable else "",
            "different_person": candidate.different_person,
            "fields": [f for f in candidate.fields if f not in hidden[candidate.entity.key]],
            "sure": candidate.verdict is not None and candidate.verdict.is_duplicate,
        })
    return out
