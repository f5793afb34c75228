"""Timeline writes: entries people add, system entries from domain events, notifications, reminders, follow-ups."""

import logging
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scopes import EDIT, can
from crm_site import bulk_sql, events
from crm_site.registry import registry

from . import selectors
from .models import USER_KINDS, Entry, EntryLink, FollowUpRule, Kind, Notification, TaskState

log = logging.getLogger(__name__)

# Fields that change on every save: a change that touched only these writes no "changed" entry.
BOOKKEEPING_FIELDS = {"updated_at", "updated_by", "created_at", "created_by", "department", "deleted_at",
                      "deleted_by"}


# ---------------------------------------------------------------------------
# Dates


def add_working_days(start, days):
    """`start` moved forward by `days` working days (Saturday and Sunday skipped), same time of day."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def default_deadline(now=None):
    days = getattr(settings, "CRM_TASK_DEFAULT_DAYS", 3)
    return add_working_days(timezone.localtime(now or timezone.now()), days)


# ---------------------------------------------------------------------------
# Links


def link_entry(entry, records):
    """Link `entry` to each record once (bulk, duplicates ignored)."""
    seen, links = set(), []
    for record in records:
        content_type = selectors.content_type_of(type(record))
        key = (content_type.pk, record.pk)
        if key not in seen:
            seen.add(key)
            links.append(EntryLink(entry=entry, content_type=content_type, object_id=record.pk))
    EntryLink.objects.bulk_create(links, ignore_conflicts=True)


def _check_edit(user, obj):
    if not can(user, obj, EDIT):
        raise PermissionDenied


# ---------------------------------------------------------------------------
# Entries people add


@transaction.atomic
def entry_create(*, user, obj, form):
    """Add a note/call/email/meeting/task from a validated form on `obj`'s card.

    It belongs to `obj` and to the records around it (a deal's company and contacts), so it shows on their cards.
    """
    _check_edit(user, obj)
    entry = form.save(commit=False)
    if entry.kind not in USER_KINDS:
        raise PermissionDenied
    entry.author = user
    if entry.kind == Kind.TASK:
        entry.state = TaskState.PLANNED
        entry.deadline = entry.deadline or default_deadline()
        entry.responsible = entry.responsible or user
    entry.save()
    link_entry(entry, [obj, *selectors.related_records(obj)])
    return entry


def may_change(user, entry):
    """Edit and delete: the author only (and superusers); system entries never."""
    return not entry.is_system and (user.is_superuser or (entry.author_id is not None and entry.author_id == user.pk))


def may_complete(user, entry):
    """Mark a task done/cancelled: its author, its responsible user, or a superuser."""
    return entry.is_planned and (user.is_superuser or user.pk in (entry.author_id, entry.responsible_id))


@transaction.atomic
def entry_update(*, user, entry, form):
    if not may_change(user, entry):
        raise PermissionDenied
    previous_deadline = Entry.objects.filter(pk=entry.pk).values_list("deadline", flat=True).first()
    entry = form.save(commit=False)
    if entry.kind == Kind.TASK:
        entry.deadline = entry.deadline or default_deadline()
        entry.responsible = entry.responsible or entry.author or user
        if entry.deadline != previous_deadline:
            entry.reminded_at = entry.overdue_notified_at = None  # a moved deadline deserves new reminders
    entry.save()
    return entry


@transaction.atomic
def entry_delete(*, user, entry):
    if not may_change(user, entry):
        raise PermissionDenied
    entry.delete()


@transaction.atomic
def task_set_state(*, user, entry, state=TaskState.DONE):
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    if not may_complete(user, entry):
        raise PermissionDenied
    entry.state = state
    entry.done_at = timezone.now()
    entry.follow_up_key = None
    entry.save(update_fields=["state", "done_at", "follow_up_key", "updated_at"])
    return entry


# ---------------------------------------------------------------------------
# System entries from domain events


def _record_ref(record):
    entity = type(record).entity()
    return {"key": entity.key, "id": record.pk, "name": str(record)}


def history_changes(obj, history_id):
    """The user-facing fields a history row changed against the previous one: [{"field", "old", "new"}]."""
    from crm_site.selectors import history_value as _history_value

    if history_id is None:
        return []
    history = obj.history.model
    row = history.objects.filter(history_id=history_id).first()
    if row is None:
        return []
    previous = history.objects.filter(id=row.id, history_id__lt=row.history_id).order_by("-history_id").first()
    if previous is None:
        return []
    changes = []
    for change in row.diff_against(previous).changes:
        if change.field in BOOKKEEPING_FIELDS or change.field in own_entry_fields(obj):
            continue
        changes.append({
            "field": change.field,
            "old": str(_history_value(obj, change.field, change.old)),
            "new": str(_history_value(obj, change.field, change.new)),
        })
    return changes


def _system_data(kind, obj, related, data, names=None):
    """What a system entry shows, computed once at write time so rendering needs no lookups.

    `names`: {(model, pk): name} resolved beforehand for a batch (users and tracked fields' values)."""
    result = {key: value for key, value in data.items() if isinstance(value, (str, int, float, bool, type(None)))}
    result["record"] = _record_ref(obj)
    result["model"] = type(obj)._meta.label_lower
    if related:
        result["related"] = [_record_ref(record) for record in related]
    if kind == events.CHANGED:
        changes = data.get("changes")
        if changes is None:
            changes = history_changes(obj, data.get("history_id"))
        result["changes"] = [change for change in changes
                             if change["field"] not in BOOKKEEPING_FIELDS and change["field"] not in own_entry_fields(obj)]
    field = events.kind(kind).field
    if field:
        model = type(obj)._meta.get_field(field).related_model
        lookup = names if names is not None else _names_of([(model, data.get("old")), (model, data.get("new"))])
        result["field"] = field
        result["field_label"] = str(type(obj)._meta.get_field(field).verbose_name)
        result["old_name"], result["new_name"] = (lookup.get((model, data.get("old")), ""),
                                                  lookup.get((model, data.get("new")), ""))
    return result


def own_entry_fields(obj):
    """Fields whose change has its own entry: the owner, and the entity's tracked fields (status, stage)."""
    return {"owner", *type(obj).entity().tracked_fields}


def _names_of(pairs):
    """{(model, pk): name} for (model, pk) pairs, one query per model; a user by full name."""
    from django.contrib.auth import get_user_model

    wanted = {}
    for model, pk in pairs:
        if pk is not None:
            wanted.setdefault(model, set()).add(pk)
    names = {}
    for model, pks in wanted.items():
        for found in model._base_manager.filter(pk__in=pks):
            if model is get_user_model():
                names[(model, found.pk)] = found.get_full_name() or found.get_username()
            else:
                names[(model, found.pk)] = str(found)
        names.update({(model, pk): str(pk) for pk in pks if (model, pk) not in names})
    return names


def on_event(kind, *, obj, user, related, data):
    """The listener registered in TimelineConfig.ready(): every domain event becomes an entry."""
    if kind == events.PURGED:
        purge_record_entries(obj)
        return
    if not _is_registered(obj):
        return
    _write_entries(kind, [(obj, [r for r in related if _is_registered(r)], data)], user)


def _write_entries(kind, items, user):
    """System entries for (record, related records, data) items of one kind: two INSERTs whatever their number."""
    field = events.kind(kind).field
    names = None
    if field and items:
        model = type(items[0][0])._meta.get_field(field).related_model
        names = _names_of([(model, data.get(key)) for _obj, _related, data in items for key in ("old", "new")])
    author = user.pk if user is not None and user.is_authenticated else None
    shown_on_related = events.kind(kind).shown_on_related
    entries, targets = [], []
    for obj, related, data in items:
        entry_data = _system_data(kind, obj, related, data, names)
        if kind == events.CHANGED and not entry_data.get("changes"):
            continue  # only bookkeeping fields (or fields with their own entry) changed
        entries.append({"kind": kind, "author_id": author, "data": entry_data})
        targets.append([obj, *(related if shown_on_related else [])])
    if not entries:
        return
    links, seen = [], set()
    for entry_id, records in zip(bulk_sql.insert_values(Entry, entries), targets, strict=True):
        for record in records:
            content_type = selectors.content_type_of(type(record))
            key = (entry_id, content_type.pk, record.pk)
            if key not in seen:
                seen.add(key)
                links.append({"entry_id": entry_id, "content_type_id": content_type.pk, "object_id": record.pk})
    bulk_sql.insert_values(EntryLink, links)  # new entries: no link of theirs can exist yet


def _is_registered(record):
    try:
        type(record).entity()
    except KeyError:
        return False
    return True


def purge_record_entries(obj):
    """A record gone for good: drop its links, and the entries that belonged to nothing else."""
    purge_records_entries(type(obj), [obj.pk])


def purge_records_entries(model, ids):
    """The same for many records of one model, set-based."""
    content_type = selectors.content_type_of(model)
    links = EntryLink.objects.filter(content_type=content_type, object_id__in=ids)
    entry_ids = list(links.values_list("entry_id", flat=True))
    links.delete()
    Entry.objects.filter(pk__in=entry_ids).exclude(Exists(EntryLink.objects.filter(entry=OuterRef("pk")))).delete()


def on_events(kind, *, model, objs, user, data, per_object):
    """Bulk listener (crm_site.events.record_events): a batch's entries in a few queries."""
    if kind == events.PURGED:
        purge_records_entries(model, [obj.pk for obj in objs])
        return
    if not _is_registered_model(model):
        return
    items = []
    for obj in objs:
        own = {**data, **per_object.get(obj.pk, {})}
        related = [r for r in own.pop("related", ()) if _is_registered(r)]
        items.append((obj, related, own))
    _write_entries(kind, items, user)


def _is_registered_model(model):
    try:
        model.entity()
    except (KeyError, AttributeError):
        return False
    return True


# ---------------------------------------------------------------------------
# Notifications


def notify(*, user, text, link="", reason=Notification.Reason.OTHER, entry=None, due=None):
    """An in-app notification, and an email when an email backend is configured and the user has an address.

    Returns None when this (entry, reason, user, due) was already notified: the unique constraint makes it once.
    """
    try:
        with transaction.atomic():
            notification = Notification.objects.create(user=user, text=text[:500], link=link, reason=reason,
                                                       entry=entry, due=due)
    except IntegrityError:
        return None
    if getattr(settings, "EMAIL_BACKEND", "") and user.email:
        transaction.on_commit(lambda: _send_email(user.email, text, link))
    return notification


def _send_email(address, text, link):
    body = text
    if link:
        base = getattr(settings, "CRM_SITE_URL", "").rstrip("/")
        body += "\n\n" + base + link
    try:
        send_mail(subject=text[:120], message=body, from_email=None, recipient_list=[address])
    except Exception:  # a mail outage must not lose the in-app notification
        log.exception("could not email a notification to %s", address)


@transaction.atomic
def notifications_mark_read(*, user, ids=None):
    queryset = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    return queryset.update(read_at=timezone.now())


# ---------------------------------------------------------------------------
# Periodic work: a lock so two beats do not both run, plus durable markers so nothing is sent twice.


@contextmanager
def task_lock(name, timeout=300):
    """A cache lock (Redis in production): yields whether it was acquired."""
    key, token = f"lock:{name}", uuid.uuid4().hex
    acquired = cache.add(key, token, timeout)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def _entry_link(entry):
    for record in selectors.linked_records(entry):
        return record.get_absolute_url()
    return ""


def _claim(entry_id, marker, now):
    """Set the marker if nobody has: the conditional UPDATE is atomic, so only one worker wins."""
    return Entry.objects.filter(pk=entry_id, **{f"{marker}__isnull": True}).update(**{marker: now}) == 1


def remind_due_tasks(now=None):
    """Notify responsible users of planned tasks due within the lead time, and of tasks that became overdue.

    Returns the number of notifications created. Each (task, reason) is notified once: the marker column is
    claimed by a conditional UPDATE in the same transaction as the notification (unique constraint as backup).
    """
    now = now or timezone.now()
    lead = timedelta(minutes=getattr(settings, "CRM_REMIND_BEFORE_MINUTES", 60))
    planned = Entry.objects.filter(kind=Kind.TASK, state=TaskState.PLANNED, responsible__isnull=False,
                                   deadline__isnull=False)
    jobs = [
        ("reminded_at", Notification.Reason.REMINDER,
         planned.filter(reminded_at__isnull=True, overdue_notified_at__isnull=True, deadline__gt=now,
                        deadline__lte=now + lead)),
        ("overdue_notified_at", Notification.Reason.OVERDUE,
         planned.filter(overdue_notified_at__isnull=True, deadline__lte=now)),
    ]
    sent = 0
    for marker, reason, queryset in jobs:
        for entry in queryset.select_related("responsible").order_by("deadline")[:1000]:
            with transaction.atomic():
                if not _claim(entry.pk, marker, now):
                    continue
                if reason == Notification.Reason.REMINDER:
                    text = _("Task due soon (%(deadline)s): %(task)s")
                else:
                    text = _("Task overdue (was due %(deadline)s): %(task)s")
                text = text % {"task": entry.subject or entry.body[:80],
                               "deadline": timezone.localtime(entry.deadline).strftime("%Y-%m-%d %H:%M")}
                if notify(user=entry.responsible, text=text, link=_entry_link(entry), reason=reason, entry=entry,
                          due=entry.deadline):
                    sent += 1
    return sent


def _inactive_records(rule, now):
    entity = registry[rule.entity]
    model = entity.model
    cutoff = now - timedelta(days=rule.inactive_days)
    content_type = selectors.content_type_of(model)
    records = model.objects.filter(created_at__lte=cutoff)
    if rule.stage_semantic and any(f.name == "stage" for f in model._meta.fields):
        records = records.filter(stage__semantic=rule.stage_semantic)
    recent = EntryLink.objects.filter(
        content_type=content_type, object_id=OuterRef("pk"), entry__kind__in=USER_KINDS,
        entry__created_at__gt=cutoff,
    )
    open_follow_up = EntryLink.objects.filter(
        content_type=content_type, object_id=OuterRef("pk"), entry__follow_up_rule=rule,
        entry__state=TaskState.PLANNED,
    )
    return records.exclude(Exists(recent)).exclude(Exists(open_follow_up)).select_related("owner")


def apply_follow_up_rules(now=None, limit=500):
    """Create a follow-up task for each record a rule selects: at most one open task per record per rule."""
    now = now or timezone.now()
    created = 0
    for rule in FollowUpRule.objects.filter(is_active=True):
        if rule.entity not in registry:
            continue
        content_type = selectors.content_type_of(registry[rule.entity].model)
        for record in _inactive_records(rule, now)[:limit]:
            entry = Entry(
                kind=Kind.TASK, state=TaskState.PLANNED, responsible=record.owner,
                subject=rule.task_title.format(record=record, days=rule.inactive_days)[:255],
                deadline=add_working_days(timezone.localtime(now), rule.deadline_days),
                follow_up_rule=rule, follow_up_key=f"{rule.pk}:{content_type.pk}:{record.pk}",
                data={"follow_up_rule": rule.name},
            )
            try:
                with transaction.atomic():
                    entry.save()
                    link_entry(entry, [record, *selectors.related_records(record)])
            except IntegrityError:
                continue  # another run made it first (unique open follow-up key)
            notify(user=record.owner, text=_("Follow-up task: %(task)s") % {"task": entry.subject},
                   link=record.get_absolute_url(), reason=Notification.Reason.FOLLOW_UP, entry=entry)
            created += 1
    return created
