"""The merge engine (one service for the screen, the scan, the import and the API) and its undo."""

import datetime
import json

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.fields import field_modes
from access.models import FieldRule
from access.scopes import DELETE, EDIT, can, scope_q
from crm_site import events, record_input
from crm_site.models import Communication
from crm_site.record_writes import RecordInput, write_updates
from crm_site.registry import registry
from crm_site.services import ensure_single_primary, record_delete, record_update

from . import linked
from .models import MergeRecord, NotDuplicate

# Bookkeeping fields a merge never chooses between; custom fields are combined key by key.
SYSTEM_FIELDS = {"id", "created_at", "updated_at", "created_by", "updated_by", "deleted_at", "deleted_by",
                 "department", "custom_fields"}


def _empty(value):
    return value is None or value == "" or value == [] or value == {}


def mergeable_fields(model):
    return [f for f in model._meta.concrete_fields if f.name not in SYSTEM_FIELDS and not f.primary_key]


class _ExactEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but datetimes keep their microseconds (an undo must restore them exactly)."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        return super().default(o)


def _plain(value):
    """A JSON-safe form of a field value (dates, decimals, uuids as strings)."""
    return json.loads(json.dumps(value, cls=_ExactEncoder))


# ---------------------------------------------------------------------------
# The plan: per field, every record's value and the one chosen.


def merge_plan(survivor, others, field_choices=None, modes=None):
    """Differing fields with each record's value and the chosen source.

    The default choice is the survivor's value if it is not empty, else the first other record's non-empty one.
    `modes`: the user's field rules (access.fields.field_modes): what the edit form would not show (hidden
    fields) is left out; what it would not let change (read-only fields, owner and "open to everyone" below the
    level that may change them, fields no form edits) keeps the survivor's value and can't be chosen. A choice
    naming such a field raises ValidationError, like the edit form refusing it.
    """
    field_choices = dict(field_choices or {})
    modes = modes or {}
    records = [survivor, *others]
    by_pk = {obj.pk: obj for obj in records}
    writable = record_input.writable_fields(type(survivor))
    hidden = {name for name, mode in modes.items() if mode == FieldRule.HIDDEN}
    known = {f.name for f in mergeable_fields(type(survivor))} | {
        f"custom_fields.{k}" for obj in records for k in (obj.custom_fields or {})
    }
    unknown = set(field_choices) - known
    if unknown:
        raise ValidationError(_("Unknown fields to choose: %(names)s") % {"names": ", ".join(sorted(unknown))[:200]})
    plan = []
    for field in mergeable_fields(type(survivor)):
        if field.name in hidden:
            _refuse_choice(field_choices, field.name, field.verbose_name, survivor)
            continue
        locked = field.name not in writable or modes.get(field.name) is not None
        values = [(obj.pk, getattr(obj, field.attname)) for obj in records]
        plan.append(_plan_item(field.name, field.verbose_name, values, field_choices, by_pk,
                               display=lambda obj, f=field: _display(obj, f), locked=locked, survivor=survivor))
    keys = []
    for obj in records:
        keys += [k for k in (obj.custom_fields or {}) if k not in keys]
    from crm_site.customfields import FIELD_PREFIX
    from crm_site.customfields.registry import definition

    entity_key = type(survivor).entity().key
    for key in keys:
        name = f"custom_fields.{key}"
        if key in hidden or FIELD_PREFIX + key in hidden:  # field rules name a custom field cf_<code>
            _refuse_choice(field_choices, name, key, survivor)
            continue
        values = [(obj.pk, (obj.custom_fields or {}).get(key)) for obj in records]
        custom = definition(entity_key, key)  # its label and how its values read; a key with no field: as stored
        plan.append(_plan_item(name, custom.label if custom else key, values, field_choices, by_pk,
                               display=lambda obj, k=key, c=custom: c.display((obj.custom_fields or {}).get(k))
                               if c else (obj.custom_fields or {}).get(k, ""),
                               locked=modes.get(key) is not None or modes.get(FIELD_PREFIX + key) is not None,
                               survivor=survivor))
    return plan


def _refuse_choice(field_choices, name, label, survivor):
    if name in field_choices and str(field_choices[name]) != str(survivor.pk):
        raise ValidationError(_("You may not change “%(field)s”.") % {"field": label})


def _plan_item(name, label, values, field_choices, by_pk, display, locked=False, survivor=None):
    non_empty = {_key(v) for _pk, v in values if not _empty(v)}
    if locked:  # the survivor's value stays, whatever was asked
        _refuse_choice(field_choices, name, label, survivor)
        chosen = survivor.pk
    elif name in field_choices:
        raw = str(field_choices[name])
        chosen = int(raw) if raw.isdigit() and len(raw) <= 18 else None
        if chosen not in by_pk:
            raise ValidationError(_("The value of %(field)s must come from one of the merged records.")
                                  % {"field": label})
    else:
        chosen = next((pk for pk, v in values if not _empty(v)), values[0][0])
    return {
        "name": name, "label": label, "chosen": chosen, "conflict": len(non_empty) > 1, "locked": locked,
        "differs": len({_key(v) for _pk, v in values}) > 1,
        "values": [{"pk": pk, "value": v, "display": display(by_pk[pk])} for pk, v in values],
    }


def _key(value):
    return json.dumps(_plain(value), sort_keys=True)


def _display(obj, field):
    value = getattr(obj, field.name)
    if field.choices:
        return getattr(obj, f"get_{field.name}_display")()
    return "" if value is None else str(value)


def combined_channels(survivor, others, hidden=()):
    """Preview for the merge screen: every phone/email/link the survivor will have, with where it comes from
    (channels the user's role hides are left out, as on the card)."""
    content_type = ContentType.objects.get_for_model(type(survivor))
    seen, out = set(), []
    for obj in [survivor, *others]:
        for comm in Communication.objects.filter(content_type=content_type, object_id=obj.pk).order_by("channel", "pk"):
            if comm.channel in hidden:
                continue
            if (comm.channel, comm.normalized) not in seen:
                seen.add((comm.channel, comm.normalized))
                out.append({"comm": comm, "from": obj})
    return out


def has_conflicts(survivor, others):
    """True when at least one field has two different non-empty values (then a person must choose)."""
    return any(item["conflict"] for item in merge_plan(survivor, others))


# ---------------------------------------------------------------------------
# Snapshots


def _history_id(obj):
    return obj.history.order_by("-history_date", "-history_id").values_list("history_id", flat=True).first()


def snapshot(obj):
    """Every field of a record, its many-to-many ids and its channel rows as they are now."""
    model = type(obj)
    fields = {f.attname: _plain(getattr(obj, f.attname)) for f in model._meta.concrete_fields}
    m2m = {f.name: sorted(getattr(obj, f.name).values_list("pk", flat=True))
           for f in model._meta.many_to_many if f.remote_field.through._meta.auto_created}
    comms = list(Communication.objects.filter(content_type=ContentType.objects.get_for_model(model),
                                              object_id=obj.pk)
                 .order_by("pk").values("pk", "channel", "value", "is_primary", "position"))
    return {"fields": fields, "m2m": m2m, "comms": comms}


def _marks(model, pks):
    rows = model.all_objects.filter(pk__in=pks).values("pk", "updated_at", "deleted_at")
    return {str(row["pk"]): {"updated_at": _plain(row["updated_at"]), "deleted_at": _plain(row["deleted_at"]),
                             "history_id": _history_id(model.all_objects.get(pk=row["pk"]))} for row in rows}


# ---------------------------------------------------------------------------
# Merge


def _can_in_bin(user, model, pk, action):
    q = scope_q(user, model, action)
    return q is not None and model.all_objects.filter(q, pk=pk).exists()


@transaction.atomic
def records_merge(*, user, survivor, others, field_choices=None):
    """Merge `others` into `survivor`; nothing is dropped, and the merge can be undone.

    Requires edit on the survivor and delete on every other record. Chosen field values go to the survivor;
    phones, emails, links, deals, timeline rows, grants, tags and custom fields are combined; the others go
    to the bin. Returns the MergeRecord describing every move and the state before.
    """
    model = type(survivor)
    entity = registry.for_model(model)
    other_pks = [o.pk for o in others]
    if not other_pks:
        raise ValidationError(_("Choose at least two records to merge."))
    if survivor.pk in other_pks or len(set(other_pks)) != len(other_pks):
        raise ValidationError(_("Each record can be merged only once."))
    for other in others:
        if type(other) is not model:
            raise ValidationError(_("Only records of the same kind can be merged."))
    locked = {obj.pk: obj for obj in model.objects.select_for_update().filter(pk__in=[survivor.pk, *other_pks])}
    if len(locked) != len(other_pks) + 1:
        raise ValidationError(_("One of the records is in the recycle bin or no longer exists."))
    survivor, others = locked[survivor.pk], [locked[pk] for pk in other_pks]
    if not can(user, survivor, EDIT) or not all(can(user, o, DELETE) for o in others):
        raise PermissionDenied(_("Merging needs the right to edit the record that stays and to delete the others."))

    # The plan obeys the field rules as the edit form does: hidden fields and read-only or protected ones keep
    # the survivor's value; a choice naming them is refused.
    plan = merge_plan(survivor, others, field_choices, modes=field_modes(user, entity.key))
    content_type = ContentType.objects.get_for_model(model)
    merge = MergeRecord.objects.create(
        entity=entity.key, content_type=content_type, survivor_id=survivor.pk, other_ids=other_pks, user=user,
        before={str(obj.pk): snapshot(obj) for obj in [survivor, *others]},
    )
    log = []
    by_pk = {obj.pk: obj for obj in [survivor, *others]}
    custom = dict(survivor.custom_fields or {})
    data = {}
    for item in plan:
        if item["chosen"] == survivor.pk:
            continue
        source = by_pk[item["chosen"]]
        if item["name"].startswith("custom_fields."):
            key = item["name"].split(".", 1)[1]
            log.append({"type": "custom_field", "key": key, "from": source.pk, "old": custom.get(key),
                        "new": _plain((source.custom_fields or {}).get(key))})
            custom[key] = (source.custom_fields or {}).get(key)
        else:
            field = model._meta.get_field(item["name"])
            log.append({"type": "field", "field": field.name, "from": source.pk,
                        "old": _plain(getattr(survivor, field.attname)), "new": _plain(getattr(source, field.attname))})
            data[field.name] = getattr(source, field.name)
    log += _merge_many_to_many(survivor, others)
    log += _move_communications(survivor, others, content_type)
    log += _move_foreign_keys(survivor, others, entity)
    log += _move_generic_rows(survivor, others, content_type)
    ensure_single_primary(survivor)

    # The chosen values go through the write service like any edit: field rules, validation, history and the
    # re-check (e.g. another owner was chosen and the user could no longer edit it: nothing is merged).
    try:
        survivor = record_update(user=user, obj=survivor, data=data, system={"custom_fields": custom},
                                 reason="merged", event=None)
    except PermissionDenied:
        raise PermissionDenied(_("After this merge you could no longer edit the record; nothing was merged.")) from None
    for other in others:
        record_delete(user=user, obj=other)
    merge.log = log
    merge.after = _marks(model, [survivor.pk, *other_pks])
    merge.save(update_fields=["log", "after"])
    events.record_event(events.MERGED, obj=survivor, user=user, related=others,
                        data={"merge": merge.pk, "moved": len(log)})
    return merge


def _merge_many_to_many(survivor, others):
    log = []
    for field in type(survivor)._meta.many_to_many:
        if not field.remote_field.through._meta.auto_created:
            continue  # links with their own model (positions, roles) move as foreign keys
        have = set(getattr(survivor, field.name).values_list("pk", flat=True))
        for other in others:
            new = set(getattr(other, field.name).values_list("pk", flat=True)) - have
            if new:
                getattr(survivor, field.name).add(*new)
                have |= new
                log.append({"type": "m2m_add", "field": field.name, "from": other.pk, "ids": sorted(new)})
    return log


def _move_communications(survivor, others, content_type):
    """Phones, emails, messengers and links move to the survivor; a value it already has stays where it was."""
    log = []
    comms = Communication.objects.filter(content_type=content_type, object_id=survivor.pk)
    seen = {(c.channel, c.normalized) for c in comms}
    position = max([c.position for c in comms] or [0])
    for other in others:
        for comm in Communication.objects.filter(content_type=content_type, object_id=other.pk).order_by("pk"):
            if (comm.channel, comm.normalized) in seen:
                log.append({"type": "comm_kept", "id": comm.pk, "from": other.pk, "value": comm.value})
                continue
            seen.add((comm.channel, comm.normalized))
            position += 1
            log.append({"type": "comm", "id": comm.pk, "from": other.pk, "value": comm.value,
                        "channel": comm.channel})
            comm.object_id, comm.is_primary, comm.position = survivor.pk, False, position
            comm.save()
    return log


def _move_foreign_keys(survivor, others, entity):
    """Rows pointing at the others by a foreign key now point at the survivor (unless that would duplicate
    a link the survivor already has: then its empty fields are filled from the other link, which stays)."""
    log = []
    model = type(survivor)
    demote = {(r.through.lower(), r.primary_per) for e in registry for r in e.relations if r.primary_per}
    for related_model, fk in linked.reverse_foreign_keys(model):
        manager = getattr(related_model, "all_objects", related_model._base_manager)
        uniques = [tuple(n for n in names if n != fk.name) for names in linked.unique_sets(related_model, fk.name)]
        has_primary_scope = (related_model._meta.label_lower, fk.name) in demote
        for row in manager.filter(**{f"{fk.name}__in": [o.pk for o in others]}).order_by("pk"):
            source = getattr(row, fk.attname)
            clash = None
            for names in uniques:
                clash = manager.filter(**{fk.name: survivor.pk, **{n: getattr(row, n) for n in names}}).first()
                if clash:
                    break
            label = related_model._meta.label_lower
            if clash is not None:
                filled = {}
                for field in related_model._meta.concrete_fields:
                    if field.primary_key or field.name == fk.name or field.name in ("is_primary",):
                        continue
                    if _empty(getattr(clash, field.attname)) and not _empty(getattr(row, field.attname)):
                        filled[field.attname] = _plain(getattr(clash, field.attname))
                        setattr(clash, field.attname, getattr(row, field.attname))
                if filled:
                    clash.save()
                log.append({"type": "row_kept", "model": label, "id": row.pk, "from": source,
                            "into": clash.pk, "filled": filled})
                continue
            change = {"type": "row", "model": label, "id": row.pk, "field": fk.attname, "from": source}
            setattr(row, fk.attname, survivor.pk)
            if has_primary_scope and getattr(row, "is_primary", False):
                if manager.filter(**{fk.name: survivor.pk, "is_primary": True}).exists():
                    row.is_primary = False
                    change["was_primary"] = True
            row.save()
            log.append(change)
    return log


def _move_generic_rows(survivor, others, content_type):
    log = []
    other_ids = [o.pk for o in others]
    for link in linked.generic_links():
        manager = getattr(link.model, "all_objects", link.model._base_manager)
        fk_field = link.model._meta.get_field(link.fk_field)
        as_text = fk_field.get_internal_type() in ("CharField", "TextField")
        ids = [str(pk) for pk in other_ids] if as_text else other_ids
        uniques = [tuple(n for n in names if n not in (link.fk_field, link.ct_field))
                   for names in linked.unique_sets(link.model, link.fk_field)]
        rows = manager.filter(**{link.ct_field: content_type, f"{link.fk_field}__in": ids}).order_by("pk")
        target = str(survivor.pk) if as_text else survivor.pk
        label = link.model._meta.label_lower
        for row in rows:
            source = getattr(row, link.fk_field)
            if any(manager.filter(**{link.ct_field: content_type, link.fk_field: target,
                                     **{n: getattr(row, n) for n in names}}).exists() for names in uniques):
                log.append({"type": "row_kept", "model": label, "id": row.pk, "from": int(source), "filled": {}})
                continue
            setattr(row, link.fk_field, target)
            row.save()
            log.append({"type": "row", "model": label, "id": row.pk, "field": fk_field.attname, "from": int(source),
                        "text": as_text})
    return log


# ---------------------------------------------------------------------------
# Undo


def merge_undo_blocker(merge):
    """Why this merge can no longer be undone, or '' when it can."""
    if merge.undone_at:
        return _("This merge has already been undone.")
    model = merge.model
    now = _marks(model, [merge.survivor_id, *merge.other_ids])
    for pk, mark in merge.after.items():
        if now.get(pk) != mark:
            obj = model.all_objects.filter(pk=pk).first()
            return _("“%(obj)s” has changed since the merge, so the merge can no longer be undone.") % {
                "obj": obj if obj is not None else pk}
    return ""


@transaction.atomic
def merge_undo(*, user, merge):
    """Put every record back exactly as it was before `merge` (fields, channels, links, bin state)."""
    merge = MergeRecord.objects.select_for_update().get(pk=merge.pk)
    model = merge.model
    records = {obj.pk: obj for obj in model.all_objects.select_for_update().filter(
        pk__in=[merge.survivor_id, *merge.other_ids])}
    if merge.survivor_id not in records:
        raise ValidationError(_("The record that stayed no longer exists."))
    survivor = records[merge.survivor_id]
    if survivor.deleted_at is not None or not can(user, survivor, EDIT) or not all(
        _can_in_bin(user, model, pk, DELETE) for pk in merge.other_ids
    ):
        raise PermissionDenied(_("Undoing a merge needs the rights the merge needed."))
    blocker = merge_undo_blocker(merge)
    if blocker:
        raise ValidationError(blocker)

    for entry in reversed(merge.log):
        if entry["type"] == "m2m_add":
            getattr(survivor, entry["field"]).remove(*entry["ids"])
        elif entry["type"] == "row":
            from django.apps import apps

            row_model = apps.get_model(entry["model"])
            manager = getattr(row_model, "all_objects", row_model._base_manager)
            row = manager.get(pk=entry["id"])
            setattr(row, entry["field"], str(entry["from"]) if entry.get("text") else entry["from"])
            if entry.get("was_primary"):
                row.is_primary = True
            row.save()
        elif entry["type"] == "row_kept" and entry.get("filled"):
            from django.apps import apps

            row_model = apps.get_model(entry["model"])
            clash = getattr(row_model, "all_objects", row_model._base_manager).get(pk=entry["into"])
            for attname, value in entry["filled"].items():
                setattr(clash, attname, value)
            clash.save()
    content_type = merge.content_type
    for pk, state in merge.before.items():
        for row in state["comms"]:
            comm = Communication.objects.get(pk=row["pk"])
            changed = (comm.object_id, comm.is_primary, comm.position) != (int(pk), row["is_primary"], row["position"])
            if changed:
                comm.content_type, comm.object_id = content_type, int(pk)
                comm.is_primary, comm.position = row["is_primary"], row["position"]
                comm.save()
    inputs = [
        RecordInput(obj=records[int(pk)], system={
            field.attname: field.to_python(state["fields"][field.attname]) for field in model._meta.concrete_fields
            if field.name not in ("updated_at", "updated_by") and not field.primary_key})
        for pk, state in merge.before.items()
    ]
    restored = write_updates(user=user, entity=registry.for_model(model), inputs=inputs, action=None, recheck=False,
                             manager="all_objects", reason="merge undone", event_kind=None)
    for error in restored.errors.values():
        raise error
    records = {obj.pk: obj for obj in restored.written}
    survivor = records[merge.survivor_id]
    merge.undone_at, merge.undone_by = timezone.now(), user
    merge.save(update_fields=["undone_at", "undone_by"])
    for pk in merge.other_ids:
        events.record_event(events.RESTORED, obj=records[pk], user=user, data={"merge_undone": merge.pk})
    events.record_event(events.CHANGED, obj=survivor, user=user,
                        data={"history_id": _history_id(survivor), "merge_undone": merge.pk})
    return survivor


# ---------------------------------------------------------------------------
# "Not a duplicate"


@transaction.atomic
def not_duplicate_mark(*, user, first, second):
    """Suppress the pair for everyone: the user must be able to edit both (a read-only role can't hide
    duplicates from the people who clean them up)."""
    model = type(first)
    if type(second) is not model or first.pk == second.pk:
        raise ValidationError(_("Choose two different records of the same kind."))
    q = scope_q(user, model, EDIT)
    editable = 0 if q is None else model.objects.filter(q, pk__in=[first.pk, second.pk]).count()
    if editable != 2:
        raise PermissionDenied(_("Marking records as not duplicates needs the right to edit both."))
    low, high = sorted([first.pk, second.pk])
    mark, _created = NotDuplicate.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(model), first_id=low, second_id=high,
        defaults={"marked_by": user},
    )
    return mark


# ---------------------------------------------------------------------------
# Scans


def can_scan(user, entity_key):
    """Whether `user` may start a duplicate scan of `entity_key` and follow its runs: an administrator, or a role
    whose edit level on the entity reaches `settings.CRM_DEDUP_SCAN_MIN_LEVEL` (default: the department)."""
    from django.conf import settings

    from access.models import Level
    from access.scopes import level

    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    minimum = int(getattr(settings, "CRM_DEDUP_SCAN_MIN_LEVEL", Level.DEPARTMENT))
    return level(user, entity_key, EDIT) >= minimum


def duplicates_scan(*, entity_key, user=None, run=None, queryset=None):
    """Run the scan for one entity, store its groups (replacing the previous scan's) and return the run."""
    from .models import DuplicateGroup, ScanRun
    from .scan import scan_entity

    if entity_key not in registry:
        raise ValidationError(_("Unknown entity “%(key)s”.") % {"key": entity_key})
    run = run or ScanRun.objects.create(entity=entity_key, started_by=user)
    ScanRun.objects.filter(pk=run.pk).update(status=ScanRun.Status.RUNNING, progress=0)

    def progress(percent):
        ScanRun.objects.filter(pk=run.pk).update(progress=min(int(percent), 99))

    try:
        result = scan_entity(entity_key, queryset=queryset, progress=progress)
        with transaction.atomic():
            DuplicateGroup.objects.filter(entity=entity_key).exclude(scan=run).delete()
            DuplicateGroup.objects.bulk_create(
                [DuplicateGroup(scan=run, entity=entity_key, object_ids=g["ids"], score=g["score"],
                                reasons=g["reasons"], auto_mergeable=g.get("auto_mergeable", False))
                 for g in result.groups],
                batch_size=2000,
            )
    except Exception as error:
        ScanRun.objects.filter(pk=run.pk).update(status=ScanRun.Status.FAILED, error=str(error)[:2000],
                                                 finished_at=timezone.now())
        raise
    ScanRun.objects.filter(pk=run.pk).update(
        status=ScanRun.Status.DONE, progress=100, records=result.records, candidate_pairs=result.candidate_pairs,
        groups=len(result.groups), finished_at=timezone.now(),
    )
    run.refresh_from_db()
    run.result = result
    return run


def group_resolve(*, group):
    group.resolved_at = timezone.now()
    group.save(update_fields=["resolved_at"])
    return group
