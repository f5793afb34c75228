"""Writes of the lists: a user's columns and page size, segments, and bulk actions.

Bulk actions (assign owner, add or remove tags, change stage or status, set a field, delete to the bin) go
through the bulk write services (`records_update_bulk`, `trash.services.records_delete`): rights row by row,
field rules, validation, history and events as for any edit. Rows the user may not change are refused and
counted, never written. Above `CRM_BULK_SYNC_LIMIT` rows the action runs as a Celery task (`BulkJob`) whose
progress the list shows.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.fields import read_only_fields
from access.scopes import DELETE, EDIT

from ..registry import registry
from .models import BulkJob, ListSettings, Segment
from .selectors import available_columns

CHUNK = 500

# ---------------------------------------------------------------------------
# Columns and page size


def list_settings_save(*, user, entity, columns, page_size=None, sort=None, default=False):
    """Remember the user's columns (in order), page size and sort for the entity's list; `default` (superusers
    only): the default view for everyone who has not chosen."""
    from access.fields import hidden_fields

    entity = registry[entity] if isinstance(entity, str) else entity
    if default and not user.is_superuser:
        raise PermissionDenied(_("Only administrators define the default view."))
    allowed = {column.name for column in available_columns(entity, user, hidden_fields(user, entity.key))}
    columns = [name for name in dict.fromkeys(columns or []) if name in allowed]
    values = {"columns": columns}
    if page_size is not None:
        values["page_size"] = max(10, min(int(page_size), 100))
    if sort is not None:
        values["sort"] = str(sort)[:80]
    row, _created = ListSettings.objects.update_or_create(user=None if default else user, entity_key=entity.key,
                                                          defaults=values)
    return row


# ---------------------------------------------------------------------------
# Segments

SEGMENT_DROPPED_PARAMS = ("page", "after", "before", "segment", "format", "csrfmiddlewaretoken", "per_page")


def clean_params(params):
    """The list's query string as a segment keeps it: filters, quick search and sort, no page or cursor."""
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key in params:
        if key in SEGMENT_DROPPED_PARAMS or key.startswith("_"):
            continue
        values = [value for value in params.getlist(key) if value != ""]
        if values:
            query.setlist(key, values)
    return query.urlencode()


def segment_create(*, user, entity, name, params, shared=False):
    entity = registry[entity] if isinstance(entity, str) else entity
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the segment a name.")})
    segment = Segment(name=name[:100], entity_key=entity.key, owner=user, shared=bool(shared),
                      params=clean_params(params))
    segment.full_clean()
    segment.save()
    return segment


def segment_update(*, user, segment, name=None, params=None, shared=None):
    if segment.owner_id != user.pk and not user.is_superuser:
        raise PermissionDenied(_("Only its author may change a segment."))
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": _("Give the segment a name.")})
        segment.name = name.strip()[:100]
    if params is not None:
        segment.params = clean_params(params)
    if shared is not None:
        segment.shared = bool(shared)
    segment.full_clean()
    segment.save()
    return segment


def segment_delete(*, user, segment):
    if segment.owner_id != user.pk and not user.is_superuser:
        raise PermissionDenied(_("Only its author may delete a segment."))
    segment.delete()


# ---------------------------------------------------------------------------
# Bulk actions


@dataclass
class BulkOutcome:
    changed: int = 0
    refused: int = 0
    errors: list = field(default_factory=list)  # a few messages, for the user
    job: object = None  # the BulkJob when it runs in the background


ACTION_LABELS = {
    "owner": gettext_lazy("Assign responsible"),
    "tags_add": gettext_lazy("Add tags"),
    "tags_remove": gettext_lazy("Remove tags"),
    "stage": gettext_lazy("Change stage"),
    "status": gettext_lazy("Change status"),
    "set_field": gettext_lazy("Set a field"),
    "delete": gettext_lazy("Delete to the recycle bin"),
}


def _settable_fields(entity, user, hidden):
    """Plain fields a bulk "set a field" may write: editable, not hidden or read-only for the user."""
    from ..record_input import writable_fields

    read_only = read_only_fields(user, entity.key)
    fields = []
    for name, model_field in writable_fields(entity.model).items():
        if name in hidden or name in read_only or model_field.many_to_many:
            continue
        if name in ("owner", "stage", "status", "pipeline"):
            continue
        fields.append(model_field)
    return fields


def bulk_action_choices(user, entity, hidden=(), can_edit=True, choices=True):
    """[{"key", "label", "choices"?}] the list offers this user on this entity (the services still check each
    row). `choices=False`: the actions whose value is picked from a list (owner, tags, stage, status) say so by
    `"choices": None` and read nothing — the list loads their choices when the bulk form is first used
    (`?_panel=bulk`): every page of every list would otherwise carry all users and tags, twice."""
    from access.scopes import scope_q

    model = entity.model
    names = {f.name for f in model._meta.get_fields()}
    read_only = read_only_fields(user, entity.key)

    def editable(name):
        return can_edit and name in names and name not in hidden and name not in read_only

    actions = []
    if editable("owner"):
        from .filters import person_name

        people = get_user_model()._default_manager.filter(is_active=True).order_by("last_name", "first_name",
                                                                                     "username")
        actions.append({"key": "owner", "label": ACTION_LABELS["owner"],
                        "choices": [(u.pk, person_name(u)) for u in people] if choices else None})
    if editable("tags"):
        tags = model._meta.get_field("tags").related_model._default_manager.all()
        listed = [(t.pk, str(t)) for t in tags] if choices else None
        actions.append({"key": "tags_add", "label": ACTION_LABELS["tags_add"], "choices": listed, "multiple": True})
        actions.append({"key": "tags_remove", "label": ACTION_LABELS["tags_remove"], "choices": listed,
                        "multiple": True})
    for name in ("stage", "status"):
        if editable(name):
            related = model._meta.get_field(name).related_model
            queryset = related._default_manager.all()
            if "pipeline" in {f.name for f in related._meta.get_fields()}:
                queryset = queryset.select_related("pipeline")
            actions.append({"key": name, "label": ACTION_LABELS[name],
                            "choices": [(o.pk, str(o)) for o in queryset] if choices else None})
    settable = _settable_fields(entity, user, hidden) if can_edit else []
    if settable:
        actions.append({"key": "set_field", "label": ACTION_LABELS["set_field"],
                        "fields": [(f.name, str(f.verbose_name).capitalize()) for f in settable]})
    if scope_q(user, model, DELETE) is not None:
        actions.append({"key": "delete", "label": ACTION_LABELS["delete"]})
    return actions


def bulk_records(*, user, entity, action, ids=None, params=None):
    """The rows a bulk action applies to, within the user's edit (or delete) scope: the ticked ids, or the whole
    filtered list (`params`: the list's query string)."""
    from ..selectors import entity_list

    scope = DELETE if action == "delete" else EDIT
    if ids is not None:
        clean = sorted({int(i) for i in ids if str(i).isdigit() and len(str(i)) <= 18})
        return entity.model.objects.visible_to(user, scope).filter(pk__in=clean), len(clean)
    queryset = entity_list(user=user, entity=entity, params=params, action=scope).queryset
    return queryset, None


def bulk_apply(*, user, entity, action, value=None, ids=None, params=None, background=None):
    """Apply a bulk action to the ticked `ids` or to every row of the filtered list (`params`).

    Returns a BulkOutcome. Above `CRM_BULK_SYNC_LIMIT` rows (or `background=True`) a BulkJob is queued and
    run by a Celery task; `outcome.job` is it."""
    entity = registry[entity] if isinstance(entity, str) else entity
    if action not in ACTION_LABELS:
        raise ValidationError(_("Unknown bulk action."))
    value = _checked_value(entity, action, value)
    queryset, asked = bulk_records(user=user, entity=entity, action=action, ids=ids, params=params)
    pks = list(queryset.order_by("pk").values_list("pk", flat=True))
    refused_upfront = (asked - len(pks)) if asked is not None else 0
    limit = getattr(settings, "CRM_BULK_SYNC_LIMIT", 500)
    if background or (background is None and len(pks) > limit):
        job = BulkJob.objects.create(user=user, entity_key=entity.key, action=action, value=value, ids=pks,
                                     total=len(pks) + refused_upfront, refused=refused_upfront)
        from .tasks import run_bulk_job

        transaction.on_commit(lambda: run_bulk_job.delay(job.pk))
        return BulkOutcome(refused=refused_upfront, job=job)
    outcome = _apply_chunk(user=user, entity=entity, action=action, value=value, pks=pks)
    outcome.refused += refused_upfront
    return outcome


def run_job(job):
    """Run a queued BulkJob chunk by chunk, saving its progress after each one."""
    entity = registry[job.entity_key]
    job.status = BulkJob.Status.RUNNING
    job.save(update_fields=["status"])
    messages = []
    try:
        for start in range(0, len(job.ids), CHUNK):
            part = _apply_chunk(user=job.user, entity=entity, action=job.action, value=job.value,
                                pks=job.ids[start:start + CHUNK])
            job.done += part.changed
            job.refused += part.refused
            messages += part.errors
            job.save(update_fields=["done", "refused"])
    except Exception as error:  # the job's row says it failed; the rows of finished chunks stay written
        job.status = BulkJob.Status.FAILED
        job.message = str(error)[:1000]
    else:
        job.status = BulkJob.Status.DONE
        job.message = "\n".join(messages[:5])
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    return job


def _checked_value(entity, action, value):
    value = value or {}
    if action in ("owner", "stage", "status"):
        raw = value.get("id")
        if not str(raw or "").isdigit():
            raise ValidationError(_("Choose a value."))
        return {"id": int(raw)}
    if action in ("tags_add", "tags_remove"):
        ids = [int(v) for v in value.get("ids", []) if str(v).isdigit()]
        if not ids:
            raise ValidationError(_("Choose at least one tag."))
        return {"ids": ids}
    if action == "set_field":
        name = str(value.get("field", ""))
        if name not in {f.name for f in entity.model._meta.get_fields()}:
            raise ValidationError(_("Choose a field."))
        return {"field": name, "value": value.get("value", "")}
    return {}


def _apply_chunk(*, user, entity, action, value, pks):
    """One chunk: rows re-read within the user's scope for the action (a right lost since is a refusal)."""
    from trash.services import records_delete

    from ..services import records_update_bulk

    scope = DELETE if action == "delete" else EDIT
    queryset = entity.model.objects.visible_to(user, scope).filter(pk__in=pks).order_by("pk")
    if action in ("tags_add", "tags_remove"):
        queryset = queryset.prefetch_related("tags")
    objs = list(queryset)
    outcome = BulkOutcome(refused=len(set(pks)) - len(objs))
    if not objs:
        return outcome
    if action == "delete":
        with transaction.atomic():
            result = records_delete(user=user, objs=objs)
        outcome.changed += len(result.moved)
        outcome.refused += len(result.refused)
        return outcome
    rows = []
    for obj in objs:
        if action == "owner":
            data = {"owner": value["id"]}
        elif action in ("stage", "status"):
            data = {action: value["id"]}
        elif action == "tags_add":
            data = {"tags": sorted({t.pk for t in obj.tags.all()} | set(value["ids"]))}
        elif action == "tags_remove":
            data = {"tags": sorted({t.pk for t in obj.tags.all()} - set(value["ids"]))}
        else:
            data = {value["field"]: value["value"]}
        rows.append({"obj": obj, "data": data})
    try:
        result = records_update_bulk(user=user, rows=rows, reason="bulk action")
    except PermissionDenied as error:
        outcome.refused += len(rows)
        outcome.errors.append(str(error) or _("You may not change these records."))
        return outcome
    outcome.changed += len(result.written)
    outcome.refused += len(result.errors)
    for error in list(result.errors.values())[:3]:
        text = "; ".join(getattr(error, "messages", []) or [str(error)])
        if text and text not in outcome.errors:
            outcome.errors.append(text)
    return outcome
