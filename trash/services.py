"""The recycle bin: delete in bulk, restore with conflict reports, purge after the retention period.

Soft delete only sets `deleted_at`/`deleted_by`: phones, emails, links and timeline rows stay in the
database and are hidden because every screen reads through the `objects` manager, which leaves binned
records out. So a restore brings back exactly what the deletion hid: a link removed before the deletion
is already gone, and one removed from the other side while the record was in the bin stays gone.

The purge deletes for good, in short transactions that lock their rows with FOR UPDATE SKIP LOCKED and
re-check the retention rule under the lock: two purges never touch the same row, a record restored
meanwhile is never purged, nothing is purged before its time.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models.sql import DeleteQuery
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import bulk_update_with_history, get_history_model_for_model

from access.models import AuditLog
from access.scopes import DELETE
from crm_site import events
from crm_site.record_writes import RecordInput, write_updates
from crm_site.registry import registry

from .models import RetentionPolicy, default_retention_days

DELETED_REASON = "deleted"
RESTORED_REASON = "restored"
DETACHED_REASON = "linked record purged"
ADMIN_RULE = "administrator"


# ---------------------------------------------------------------------------
# Scope and retention


def bin_queryset(user, model):
    """Binned records of `model` that `user` may handle: those they could delete if they were live."""
    return model.all_objects.in_bin().visible_to(user, DELETE)


def can_purge(user):
    """Deleting for good is for superusers only (no role grants it yet)."""
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def retention_days():
    """{entity key: days kept in the bin} for every registered entity."""
    policies = dict(RetentionPolicy.objects.values_list("entity_key", "days"))
    default = default_retention_days()
    return {entity.key: policies.get(entity.key, default) for entity in registry}


def purge_date(obj, days):
    return obj.deleted_at + timedelta(days=days)


def _history_model(model):
    try:
        return get_history_model_for_model(model)
    except NotHistoricalModelError:
        return None


def _by_model(objs):
    groups = {}
    for obj in objs:
        groups.setdefault(type(obj), []).append(obj)
    return groups


# ---------------------------------------------------------------------------
# Delete (one or many)


@dataclass
class DeleteResult:
    moved: list = field(default_factory=list)
    refused: list = field(default_factory=list)


@transaction.atomic
def records_delete(*, user, objs):
    """Move records to the bin; those the user may not delete (or already binned) are refused.

    Through the write services in sets (crm_site.record_writes): the rows are locked, updated with one history
    row each and announced per batch (events.DELETED): 1,000 records cost a handful of queries."""
    result = DeleteResult()
    now = timezone.now()
    for model, group in _by_model(objs).items():
        group = sorted({obj.pk: obj for obj in group}.values(), key=lambda obj: obj.pk)
        written = write_updates(
            user=user, entity=model.entity(), action=DELETE, recheck=False, reason=DELETED_REASON,
            event_kind=events.DELETED,
            inputs=[RecordInput(obj=obj, system={"deleted_at": now, "deleted_by": user}) for obj in group],
        )
        result.moved += written.written
        result.refused += [obj for obj, saved in zip(group, written.objs, strict=True) if saved is None]
    return result


# ---------------------------------------------------------------------------
# Restore


@dataclass
class UniqueConflict:
    fields: tuple
    other: object  # the live record holding the value


@dataclass
class RestoreResult:
    obj: object
    restored: bool = False
    reason: str = ""  # why it was not restored
    unique_conflicts: list = field(default_factory=list)
    also_restored: list = field(default_factory=list)  # linked records restored with it
    linked_in_bin: list = field(default_factory=list)  # linked records still in the bin (offer to restore)


def unique_field_sets(model):
    """Field groups that must be unique among live records: unique fields and unique constraints."""
    sets = [(f.name,) for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    sets += [tuple(c.fields) for c in model._meta.constraints if isinstance(c, models.UniqueConstraint) and c.fields]
    return sets


def unique_conflicts(obj):
    """Live records that now hold one of `obj`'s unique values (empty values never clash)."""
    conflicts = []
    for names in unique_field_sets(type(obj)):
        values = {name: getattr(obj, name) for name in names}
        if any(value in (None, "") for value in values.values()):
            continue
        other = type(obj).objects.filter(**values).exclude(pk=obj.pk).first()
        if other is not None:
            conflicts.append(UniqueConflict(fields=names, other=other))
    return conflicts


def linked_in_bin(objs):
    """{pk: [binned records]} linked to each of `objs` (same model) by a foreign key or a card relation."""
    if not objs:
        return {}
    model = type(objs[0])
    entity_models = {entity.model for entity in registry}
    found = {obj.pk: [] for obj in objs}
    for model_field in model._meta.concrete_fields:
        target_model = model_field.related_model
        if not model_field.many_to_one or target_model not in entity_models:
            continue
        target_ids = {getattr(obj, model_field.attname) for obj in objs} - {None}
        binned = target_model.all_objects.in_bin().in_bulk(target_ids) if target_ids else {}
        for obj in objs:
            if getattr(obj, model_field.attname) in binned:
                found[obj.pk].append(binned[getattr(obj, model_field.attname)])
    for relation in model.entity().relations:
        binned_targets = relation.target_model.all_objects.in_bin()
        pairs = relation.through_model.objects.filter(
            **{f"{relation.from_field}__in": list(found), f"{relation.to_field}__in": binned_targets.values("pk")}
        ).values_list(f"{relation.from_field}_id", f"{relation.to_field}_id")
        pairs = list(pairs)
        binned = binned_targets.in_bulk({target for _, target in pairs})
        for source, target in pairs:
            if binned[target] not in found[source]:
                found[source].append(binned[target])
    return found


def record_restore(*, user, obj, restore_related=False):
    """Bring one record back from the bin; PermissionDenied when it is outside the user's bin."""
    return records_restore(user=user, objs=[obj], restore_related=restore_related, strict=True)[0]


@transaction.atomic
def records_restore(*, user, objs, restore_related=False, strict=False):
    """Bring records back from the bin: one result per record, conflicts reported, never raised.

    A unique value now held by a live record keeps that record in the bin (the result names the holder).
    Linked records still in the bin are listed; with `restore_related` they are restored too, where the
    user may. Rows are locked first, so a purge running meanwhile either took them already (reported as
    purged) or skips them. With `strict`, a record outside the user's bin raises PermissionDenied.
    """
    results = {}
    restored_now = []
    for model, group in _by_model(objs).items():
        ids = [obj.pk for obj in group]
        locked = model.all_objects.select_for_update(of=("self",)).in_bulk(ids)
        allowed = set(bin_queryset(user, model).filter(pk__in=ids).values_list("pk", flat=True))
        to_restore = []
        for obj in group:
            current = locked.get(obj.pk)
            result = results[(model, obj.pk)] = RestoreResult(obj=current or obj)
            if current is None:
                result.reason = _("It has been deleted permanently.")
            elif current.deleted_at is None:
                result.reason = _("It is not in the recycle bin any more.")
            elif obj.pk not in allowed:
                if strict:
                    raise PermissionDenied
                result.reason = _("You may not restore it.")
            else:
                result.unique_conflicts = unique_conflicts(current)
                if result.unique_conflicts:
                    result.reason = _("Another record already uses the same value.")
                elif current not in to_restore:
                    to_restore.append(current)
        written = write_updates(
            user=user, entity=model.entity(), action=None, recheck=False, manager="all_objects",
            reason=RESTORED_REASON, event_kind=events.RESTORED,
            inputs=[RecordInput(obj=obj, system={"deleted_at": None, "deleted_by": None}) for obj in to_restore],
        )
        for obj in written.written:
            results[(model, obj.pk)].restored = True
            results[(model, obj.pk)].obj = obj
        restored_now += written.written
    for model, group in _by_model(restored_now).items():
        for pk, linked in linked_in_bin(group).items():
            results[(model, pk)].linked_in_bin = linked
    if restore_related:
        _restore_linked(user, results)
    return [results[(type(obj), obj.pk)] for obj in objs]


def _restore_linked(user, results):
    wanted = {}
    for result in results.values():
        for linked in result.linked_in_bin:
            wanted.setdefault((type(linked), linked.pk), linked)
    if not wanted:
        return
    linked_results = records_restore(user=user, objs=list(wanted.values()))
    back = {(type(r.obj), r.obj.pk): r.obj for r in linked_results if r.restored}
    for result in results.values():
        result.also_restored = [obj for obj in result.linked_in_bin if (type(obj), obj.pk) in back]
        result.linked_in_bin = [obj for obj in result.linked_in_bin if (type(obj), obj.pk) not in back]


# ---------------------------------------------------------------------------
# Purge


@dataclass
class PurgeReport:
    purged: dict = field(default_factory=dict)  # entity key -> count
    longest_transaction_ms: float = 0.0
    batches: int = 0
    would_purge: list = field(default_factory=list)  # dry run: (entity key, pk, deleted_at)

    @property
    def total(self):
        return sum(self.purged.values())


def expired_queryset(model, cutoff):
    return model.all_objects.in_bin().filter(deleted_at__lt=cutoff)


def trash_purge_expired(*, now=None, batch_size=500, dry_run=False, max_batches=None):
    """Purge every record whose retention period is over, batch after batch (each a short transaction).

    Idempotent and safe to run twice at once: rows are taken with FOR UPDATE SKIP LOCKED, so a second
    run skips what the first holds, and the WHERE clause is re-checked on the locked rows, so a record
    restored in the meantime (deleted_at cleared) is left alone.
    """
    import time

    now = now or timezone.now()
    report = PurgeReport()
    retention = retention_days()
    for entity in registry:
        days = retention[entity.key]
        cutoff = now - timedelta(days=days)
        rule = f"retention {days} days ({entity.key})"
        if dry_run:
            expired = expired_queryset(entity.model, cutoff).order_by("deleted_at", "pk")
            report.would_purge += [(entity.key, pk, at) for pk, at in expired.values_list("pk", "deleted_at")]
            continue
        while max_batches is None or report.batches < max_batches:
            started = time.perf_counter()
            with transaction.atomic():
                batch = list(
                    expired_queryset(entity.model, cutoff)
                    .select_for_update(skip_locked=True, of=("self",))
                    .order_by("deleted_at", "pk")[:batch_size]
                )
                if batch:
                    _purge_locked(entity.model, batch, user=None, rule=rule)
            if not batch:
                break
            report.batches += 1
            report.purged[entity.key] = report.purged.get(entity.key, 0) + len(batch)
            report.longest_transaction_ms = max(report.longest_transaction_ms, (time.perf_counter() - started) * 1000)
    return report


@transaction.atomic
def records_purge(*, user, objs):
    """Delete binned records for good now (administrators only); returns how many went."""
    if not can_purge(user):
        raise PermissionDenied
    count = 0
    for model, group in _by_model(objs).items():
        locked = list(
            model.all_objects.in_bin().filter(pk__in=[obj.pk for obj in group])
            .select_for_update(of=("self",)).order_by("pk")
        )
        if locked:
            _purge_locked(model, locked, user=user, rule=ADMIN_RULE)
        count += len(locked)
    return count


def _purge_locked(model, objs, *, user, rule):
    """Delete locked binned rows and everything that belongs to them; leave an audit row without personal data."""
    entity = model.entity()
    ids = [obj.pk for obj in objs]
    content_type = ContentType.objects.get_for_model(model)
    # Listeners (the timeline, duplicate keys) drop what they hold for these rows while the rows still exist.
    events.record_events(events.PURGED, objs=objs, user=user, data={"rule": rule})
    AuditLog.objects.bulk_create(
        [
            AuditLog(
                actor=user, actor_name=user.get_username() if user else "", action=AuditLog.PURGE,
                content_type=content_type, object_id=obj.pk, object_repr=f"{entity.key} #{obj.pk}",
                details={"rule": rule, "deleted_at": obj.deleted_at.isoformat(), "deleted_by": obj.deleted_by_id},
            )
            for obj in objs
        ]
    )
    _detach_audited_references(model, ids, user)
    files = [
        (f.storage, getattr(obj, f.attname).name)
        for obj in objs for f in model._meta.concrete_fields
        if isinstance(f, models.FileField) and getattr(obj, f.attname)
    ]
    delete_rows(model, ids)
    _forget_history(model, content_type, ids)
    _forget_object_permissions(content_type, ids)
    if files:
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])


def delete_rows(model, ids):
    """Delete rows and, following the models' ON DELETE rules, what belongs to them; set-based, no signals.

    Django's collector would load every row and send post_delete for each, and simple-history would then
    write a "-" history row per record, phone and link only for the purge to delete it again: at 100k
    items that is most of the time. So: CASCADE children (links, phones through the GenericRelation,
    stage changes) are deleted the same way first, SET_NULL references nulled (the audited ones were
    detached with history before), many-to-many rows dropped, then the rows themselves.
    Receivers of post_delete are not called: listen to events.PURGED instead.
    """
    if not ids:
        return
    for rel in model._meta.related_objects:
        related, fk = rel.related_model, rel.field
        if rel.many_to_many:
            # An explicit through model (ContactCompany) is handled by its own foreign key below.
            if rel.through._meta.auto_created:
                rel.through._base_manager.filter(**{f"{through_fk(rel.through, model).name}__in": ids}).delete()
            continue
        rows = related._base_manager.filter(**{f"{fk.name}__in": ids})
        if rel.on_delete is models.CASCADE:
            delete_rows(related, list(rows.values_list("pk", flat=True)))
        elif rel.on_delete is models.SET_NULL:
            rows.update(**{fk.name: None})  # audited models were detached with history already
        elif rel.on_delete is not models.DO_NOTHING and rows.exists():
            # PROTECT / RESTRICT / SET_DEFAULT / SET(...): Django's collector applies (or refuses) the rule.
            model._base_manager.filter(pk__in=ids).delete()
            return
    for many in model._meta.many_to_many:
        through = many.remote_field.through
        if through._meta.auto_created:
            through._base_manager.filter(**{f"{many.m2m_field_name()}__in": ids}).delete()
    for generic in model._meta.private_fields:
        if isinstance(generic, GenericRelation):
            content_type = ContentType.objects.get_for_model(model)
            children = generic.related_model._base_manager.filter(
                **{generic.content_type_field_name: content_type, f"{generic.object_id_field_name}__in": ids}
            )
            delete_rows(generic.related_model, list(children.values_list("pk", flat=True)))
    DeleteQuery(model).delete_batch(list(ids), DEFAULT_DB_ALIAS)


def through_fk(through, model):
    return next(f for f in through._meta.concrete_fields if f.many_to_one and f.related_model is model)


def _detach_audited_references(model, ids, user):
    """SET_NULL references from audited models (deal.company, lead.converted_*): with a history row each.

    Django's collector would null them with a bare UPDATE, leaving the other record's history silent.
    """
    for rel in model._meta.related_objects:
        if rel.on_delete is not models.SET_NULL or rel.many_to_many:
            continue
        related_model = rel.related_model
        if _history_model(related_model) is None:
            continue
        manager = getattr(related_model, "all_objects", related_model._base_manager)
        rows = list(manager.filter(**{f"{rel.field.name}__in": ids}))
        for row in rows:
            setattr(row, rel.field.attname, None)
        if rows:
            bulk_update_with_history(rows, related_model, [rel.field.name], default_user=user,
                                     default_change_reason=DETACHED_REASON, manager=manager)


def _forget_history(model, content_type, ids):
    """History rows hold personal data: drop the record's, its phones' and emails', and its links'."""
    from crm_site.models import Communication

    model.history.filter(id__in=ids).delete()
    Communication.history.filter(content_type=content_type, object_id__in=ids).delete()
    for rel in model._meta.related_objects:
        if rel.on_delete is models.CASCADE and not rel.many_to_many:
            history = _history_model(rel.related_model)
            if history is not None:
                history.objects.filter(**{f"{rel.field.attname}__in": ids}).delete()


def _forget_object_permissions(content_type, ids):
    """guardian's generic grants would otherwise attach to a new record reusing the id (guardian #15)."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    object_pks = [str(pk) for pk in ids]
    for grant_model in (UserObjectPermission, GroupObjectPermission):
        grant_model.objects.filter(content_type=content_type, object_pk__in=object_pks).delete()
