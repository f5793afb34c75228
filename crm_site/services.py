"""Writes shared by every entity. Views, tasks, commands, the admin and the API call these; each is atomic.

Every record write goes through record_create / record_update (or their bulk variants), which take plain data,
not forms: rights, field rules, validation, history, events and the re-check of scope live in one place
(crm_site.record_writes does the work in sets)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scopes import ADD, EDIT, READ, can, scope_q

from . import events, record_writes
from .models import Communication
from .record_writes import BulkResult, RecordInput, VersionConflict  # noqa: F401  (the services' public types)
from .registry import registry


def _check(user, obj, action):
    if not can(user, obj, action):
        raise PermissionDenied


def _entity(entity):
    return registry[entity] if isinstance(entity, str) else entity


def _raise_first(result):
    for error in result.errors.values():
        raise error


# ---------------------------------------------------------------------------
# Create and update: one record, or many in sets (import, bulk actions, the API's bulk endpoint)


@transaction.atomic
def record_create(*, user, entity, data, channels=(), links=(), system=None, reason="", related=(),
                  event_data=None):
    """Create one record of `entity` (an Entity or its key) from plain data, as the form, the admin, the import,
    the API and other services all do.

    `data`: {field: value} (related records as instances or ids, lists for tags); `channels`: phones, emails...
    (crm_site.channels); `links`: [{"relation": "companies", "target": company, "position": "CFO"}];
    `system`: fields the calling service sets past the field rules. Raises ValidationError with per-field
    messages, or PermissionDenied (no add right, or the record would be out of the user's reach); nothing is
    written then. `related` / `event_data` go with the "created" event (a contact made from a lead)."""
    entity = _entity(entity)
    if scope_q(user, entity.model, ADD) is None:
        raise PermissionDenied(_("You may not add this kind of record."))
    result = record_writes.write_creates(
        user=user, entity=entity, reason=reason, related=related, event_data=event_data,
        inputs=[RecordInput(data=dict(data or {}), channels=channels or None, links=links or None, system=system)],
    )
    _raise_first(result)
    return result.objs[0]


@transaction.atomic
def record_update(*, user, obj, data, channels=None, links=None, version=None, system=None, reason="",
                  event=events.CHANGED, related=(), event_data=None):
    """Change one record: same rules as record_create, plus the edit right on it, and the version check.

    `channels` / `links` None leave them as they are; a channel or relation named is replaced. `version` (from
    `crm_site.history.version()` when the caller read the record): a newer save by someone else refuses the
    write with a VersionConflict naming their fields. `event`: the kind announced instead of "changed" (a merge).
    Returns the record as saved."""
    entity = type(obj).entity()
    result = record_writes.write_updates(
        user=user, entity=entity, reason=reason, event_kind=event, related=related, event_data=event_data,
        inputs=[RecordInput(obj=obj, data=dict(data or {}), channels=channels, links=links, system=system,
                            version=version)],
    )
    _raise_first(result)
    return result.objs[0]


def records_create_bulk(*, user, entity, rows, all_or_nothing=False, reason="", event_data=None):
    """Create many records in sets: `rows` are RecordInput (or dicts of its fields). The same rules and results as
    record_create, a constant number of queries per batch of 1,000 rows.

    Returns a BulkResult: the records in row order (None where refused) and {row index: error}. A refused row
    is written not at all; with `all_or_nothing` any refusal raises it and nothing is written."""
    entity = _entity(entity)
    if scope_q(user, entity.model, ADD) is None:
        raise PermissionDenied(_("You may not add this kind of record."))
    inputs = [row if isinstance(row, RecordInput) else RecordInput(**row) for row in rows]
    objs, errors = [], {}
    with transaction.atomic():
        for start in range(0, len(inputs), record_writes.BATCH):
            part = record_writes.write_creates(user=user, entity=entity, inputs=inputs[start:start + record_writes.BATCH],
                                               reason=reason, event_data=event_data)
            objs += part.objs
            errors.update({start + index: error for index, error in part.errors.items()})
            if errors and all_or_nothing:
                _raise_first(record_writes.BulkResult(objs=[], errors=errors))
    return record_writes.BulkResult(objs=objs, errors=errors)


def records_update_bulk(*, user, rows, all_or_nothing=False, reason="", event_data=None):
    """Change many records in sets (bulk actions, the import's merge and replace): `rows` are RecordInput with
    `obj` set (or dicts). Same rules as record_update; records of several kinds may be mixed."""
    inputs = [row if isinstance(row, RecordInput) else RecordInput(**row) for row in rows]
    objs, errors = [None] * len(inputs), {}
    with transaction.atomic():
        by_model = {}
        for index, item in enumerate(inputs):
            by_model.setdefault(type(item.obj), []).append(index)
        for model, indexes in by_model.items():
            entity = model.entity()
            for start in range(0, len(indexes), record_writes.BATCH):
                chunk = indexes[start:start + record_writes.BATCH]
                part = record_writes.write_updates(user=user, entity=entity, inputs=[inputs[i] for i in chunk],
                                                   reason=reason, event_data=event_data)
                for position, index in enumerate(chunk):
                    objs[index] = part.objs[position]
                errors.update({chunk[position]: error for position, error in part.errors.items()})
                if errors and all_or_nothing:
                    _raise_first(record_writes.BulkResult(objs=[], errors=errors))
    return record_writes.BulkResult(objs=objs, errors=errors)


def ensure_single_primary(obj):
    """Exactly one primary value per channel: the first marked, else the first one."""
    by_channel = {}
    for comm in obj.communications.order_by("channel", "-is_primary", "position", "pk"):
        by_channel.setdefault(comm.channel, []).append(comm)
    for comms in by_channel.values():
        for index, comm in enumerate(comms):
            should_be = index == 0
            if comm.is_primary != should_be:
                comm.is_primary = should_be
                comm.save()


@transaction.atomic
def record_add_channel(*, user, obj, channel, value, kind=Communication.Kind.WORK):
    """Add one phone/email/... to a record, with the edit right and the field rules like any change; returns
    the new row, or None when the value is empty or the record has it already (in any format)."""
    value = (value or "").strip()
    if not value:
        return None
    normalized = Communication.normalize_value(channel, value)
    existing = list(obj.communications.filter(channel=channel).order_by("-is_primary", "position", "pk"))
    if any(comm.normalized == normalized for comm in existing):
        return None
    items = [{"id": c.pk, "value": c.value, "kind": c.kind, "is_primary": c.is_primary} for c in existing]
    record_update(user=user, obj=obj, data={}, channels={channel: [*items, {"value": value, "kind": kind}]})
    return obj.communications.filter(channel=channel, normalized=normalized).first()


@transaction.atomic
def record_delete(*, user, obj):
    """Move a record to the bin. Its links, phones and timeline stay, hidden with it."""
    from access.scopes import DELETE

    result = record_writes.write_updates(
        user=user, entity=type(obj).entity(), action=DELETE, recheck=False, reason="deleted",
        event_kind=events.DELETED, inputs=[RecordInput(obj=obj, system={"deleted_at": timezone.now(),
                                                                         "deleted_by": user})],
    )
    _raise_first(result)
    return result.objs[0]


@transaction.atomic
def record_link(*, user, obj, relation, target, **extra):
    """Link `obj` to `target` through `relation` (e.g. a contact to a company with a position)."""
    _check(user, obj, EDIT)
    if not type(target).objects.visible_to(user, READ).filter(pk=target.pk).exists():
        raise PermissionDenied
    through = relation.through_model
    lookup = {relation.from_field: obj, relation.to_field: target}
    link = through.objects.filter(**lookup).first()
    if link is None:
        link = through(**lookup)
    for name in relation.extra_fields:
        if name in extra:
            setattr(link, name, extra[name])
    link.full_clean(validate_unique=False)
    link.save()
    if getattr(link, "is_primary", False):
        scope = relation.primary_per or relation.from_field
        siblings = through.objects.filter(**{scope: getattr(link, scope), "is_primary": True})
        for other in siblings.exclude(pk=link.pk):
            other.is_primary = False
            other.save()
    events.record_event(events.LINKED, obj=obj, user=user, related=[target], data={"relation": relation.name})
    return link


@transaction.atomic
def record_unlink(*, user, obj, relation, link_id):
    _check(user, obj, EDIT)
    link = relation.through_model.objects.filter(pk=link_id, **{relation.from_field: obj}).first()
    if link is None:
        return False
    target = getattr(link, relation.to_field)
    link.delete()
    events.record_event(events.UNLINKED, obj=obj, user=user, related=[target], data={"relation": relation.name})
    return True
