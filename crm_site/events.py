"""Domain events: services announce what happened to a record; other apps listen.

Services call `record_event()` explicitly, inside their transaction (Saleor `giftcard/events.py`,
Wagtail `log_actions`), so the core never imports the timeline, dedup or audit apps, and a listener
that fails rolls the whole write back. Listeners register in their AppConfig.ready().

Kinds are an open registry: the core registers its own below; an app registers the kinds of its entity
(a lead's "converted", a tracked status field's "status_changed") in its AppConfig.ready(), and the
timeline shows them without a migration of its own.
"""

import inspect
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class EventKind:
    code: str
    label: object  # "stage changed": filters and the admin
    text: object = None  # the entry's lead-in on the timeline ("Record created."); the label when None
    shown_on_related: bool = False  # the entry also shows on the cards of the related records
    field: str = ""  # a tracked field: data {"old": pk, "new": pk}, shown "Stage: old → new"


_kinds = {}


def register_kind(code, label, *, text=None, shown_on_related=False, field=""):
    """Add an event kind (idempotent for the same code)."""
    kind = EventKind(code, label, text, shown_on_related, field)
    _kinds.setdefault(code, kind)
    return code


def kind(code):
    return _kinds[code]


def kinds():
    return list(_kinds.values())


def is_kind(code):
    return code in _kinds


CREATED = register_kind("created", _("created"), text=_("Record created."))
# data: {"history_id": ...} when simple-history wrote a row; {"changes": [...]} when the writer described them
CHANGED = register_kind("changed", _("changed"), text=_("Changed:"))
OWNER_CHANGED = register_kind("owner_changed", _("responsible changed"), field="owner")  # data: {"old", "new"}
LINKED = register_kind("linked", _("linked"), text=_("Linked:"), shown_on_related=True)  # related: the other
UNLINKED = register_kind("unlinked", _("unlinked"), text=_("Unlinked:"), shown_on_related=True)
MERGED = register_kind("merged", _("merged"), text=_("Merged with:"), shown_on_related=True)  # related: merged
IMPORTED = register_kind("imported", _("imported"), text=_("Imported."))  # data: {"batch": id}
DELETED = register_kind("deleted", _("deleted"), text=_("Moved to the bin."))
RESTORED = register_kind("restored", _("restored"), text=_("Restored from the bin."))
PURGED = register_kind("purged", _("purged"))  # gone for good (obj is still in memory, its row about to go)

_listeners = []
_bulk_handlers = {}  # listener -> its handler of many records at once, when it has one
_takes_per_object = {}  # bulk handler -> whether it takes each record's own data


def listen(listener, *, bulk=None):
    """Register `listener(kind, *, obj, user, related, data)`; usable as a decorator. Idempotent.

    `bulk(kind, *, model, objs, user, data, per_object)`, optional: takes the events of many records of one
    model at once (record_events), e.g. one set-based DELETE for a purge batch instead of one per record.
    `per_object` maps a record's pk to its own data (merged over `data`)."""
    if listener not in _listeners:
        _listeners.append(listener)
    if bulk is not None:
        _bulk_handlers[listener] = bulk
        _takes_per_object[bulk] = "per_object" in inspect.signature(bulk).parameters
    return listener


def _check(code):
    if code not in _kinds:
        raise ValueError(f"unknown event kind {code!r}")


def record_event(kind, *, obj, user=None, related=(), data=None):
    _check(kind)
    for listener in list(_listeners):
        listener(kind, obj=obj, user=user, related=tuple(related), data=dict(data or {}))


def record_events(kind, *, objs, user=None, data=None, per_object=None):
    """The same event for many records (a batch): listeners with a bulk handler get them all at once, one call
    per model, the others one by one. `per_object`: {pk: data of that record} merged over `data`."""
    _check(kind)
    by_model = {}
    for obj in objs:
        by_model.setdefault(type(obj), []).append(obj)
    per_object = per_object or {}
    for listener in list(_listeners):
        bulk = _bulk_handlers.get(listener)
        for model, group in by_model.items():
            own = {obj.pk: per_object[obj.pk] for obj in group if per_object.get(obj.pk)}
            if bulk is not None and _takes_per_object[bulk]:
                bulk(kind, model=model, objs=group, user=user, data=dict(data or {}), per_object=own)
                continue
            if bulk is not None and not own:
                bulk(kind, model=model, objs=group, user=user, data=dict(data or {}))
                continue
            for obj in group:
                extra = dict(own.get(obj.pk, {}))
                related = extra.pop("related", ())
                listener(kind, obj=obj, user=user, related=tuple(related), data={**(data or {}), **extra})
