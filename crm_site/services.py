"""Writes shared by every entity. Views, tasks, commands and the admin call these; each is atomic."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from access.scopes import ADD, EDIT, READ, can, scope_q

from . import events
from .models import Communication


def _check(user, obj, action):
    if not can(user, obj, action):
        raise PermissionDenied


@transaction.atomic
def record_save(*, user, form, channel_formsets=()):
    """Create or update a record from a validated form and its phone/email formsets.

    After saving, the record must still be within the user's reach (NetBox's restrict-save-recheck):
    otherwise the whole write is rolled back.
    """
    previous = record_save_begin(user=user, obj=form.instance)
    obj = form.save(commit=False)
    if previous is None:
        obj.created_by = user
    obj.updated_by = user
    obj.save()
    form.save_m2m()
    for formset in channel_formsets:
        formset.instance = obj
        formset.save()
    record_save_finish(user=user, obj=obj, previous=previous)
    return obj


def record_save_begin(*, user, obj):
    """First half of a save (the admin calls the halves around its own form saving): lock the stored record
    and check the right to edit it. Returns it as it was, or None for a new record. Inside a transaction."""
    if obj.pk is None:
        if scope_q(user, type(obj), ADD) is None:
            raise PermissionDenied
        return None
    previous = type(obj).objects.select_for_update().get(pk=obj.pk)
    _check(user, previous, EDIT)
    return previous


def record_save_finish(*, user, obj, previous):
    """Second half: primary phone/email, the entity's hook, domain events, and the re-check of scope."""
    ensure_single_primary(obj)
    entity = type(obj).entity()
    if entity.on_saved:
        import_string(entity.on_saved)(obj=obj, previous=previous, user=user)
    announce_save(obj=obj, previous=previous, user=user)
    if not type(obj).objects.visible_to(user, READ).filter(pk=obj.pk).exists():
        raise PermissionDenied(_("After this change the record would be out of your reach; nothing was saved."))
    if previous is not None and not can(user, obj, EDIT):
        raise PermissionDenied(_("After this change you could no longer edit the record; nothing was saved."))


def announce_save(*, obj, previous, user):
    """Domain events of a create or an edit: created / changed, plus owner and status/stage moves."""
    if previous is None:
        events.record_event(events.CREATED, obj=obj, user=user)
        return
    latest = obj.history.order_by("-history_date", "-history_id").values_list("history_id", flat=True).first()
    events.record_event(events.CHANGED, obj=obj, user=user, data={"history_id": latest})
    if previous.owner_id != obj.owner_id:
        events.record_event(events.OWNER_CHANGED, obj=obj, user=user,
                            data={"old": previous.owner_id, "new": obj.owner_id})
    for field, kind in (("status_id", events.STATUS_CHANGED), ("stage_id", events.STAGE_CHANGED)):
        if hasattr(obj, field) and getattr(previous, field) != getattr(obj, field):
            events.record_event(kind, obj=obj, user=user,
                                data={"old": getattr(previous, field), "new": getattr(obj, field)})


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
    """Add one phone/email/... to a record (used by conversion, import and the API)."""
    value = (value or "").strip()
    if not value:
        return None
    normalized = Communication.normalize_value(channel, value)
    if obj.communications.filter(channel=channel, normalized=normalized).exists():
        return None
    comm = Communication(record=obj, channel=channel, kind=kind, value=value)
    comm.save()
    ensure_single_primary(obj)
    return comm


@transaction.atomic
def record_delete(*, user, obj):
    """Move a record to the bin. Its links, phones and timeline stay, hidden with it."""
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    from access.scopes import DELETE

    _check(user, obj, DELETE)
    obj.deleted_at = timezone.now()
    obj.deleted_by = user
    obj.updated_by = user
    obj._change_reason = "deleted"
    obj.save()
    events.record_event(events.DELETED, obj=obj, user=user)
    return obj


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
