"""Domain events: services announce what happened to a record; other apps listen.

Services call `record_event()` explicitly, inside their transaction (Saleor `giftcard/events.py`,
Wagtail `log_actions`), so the core never imports the timeline, dedup or audit apps, and a listener
that fails rolls the whole write back. Listeners register in their AppConfig.ready().
"""

CREATED = "created"
CHANGED = "changed"  # data: {"history_id": ...} when simple-history wrote a row
OWNER_CHANGED = "owner_changed"  # data: {"old": user_id, "new": user_id}
STATUS_CHANGED = "status_changed"  # a lead's status; data: {"old": id, "new": id}
STAGE_CHANGED = "stage_changed"  # a deal's stage; data: {"old": id, "new": id}
CONVERTED = "converted"  # a lead; related: what it became
LINKED = "linked"  # related: the other record; data: {"relation": name}
UNLINKED = "unlinked"
MERGED = "merged"  # obj: the survivor; related: the merged-away records
IMPORTED = "imported"  # data: {"batch": id}
DELETED = "deleted"  # moved to the bin
RESTORED = "restored"  # back from the bin
PURGED = "purged"  # gone for good (obj is still in memory, its row is about to be deleted)

KINDS = (CREATED, CHANGED, OWNER_CHANGED, STATUS_CHANGED, STAGE_CHANGED, CONVERTED, LINKED, UNLINKED, MERGED,
         IMPORTED, DELETED, RESTORED, PURGED)

_listeners = []
_bulk_handlers = {}  # listener -> its handler of many records at once, when it has one


def listen(listener, *, bulk=None):
    """Register `listener(kind, *, obj, user, related, data)`; usable as a decorator. Idempotent.

    `bulk(kind, *, model, objs, user, data)`, optional: takes the events of many records of one model at once
    (record_events), e.g. one set-based DELETE for a purge batch instead of one per record."""
    if listener not in _listeners:
        _listeners.append(listener)
    if bulk is not None:
        _bulk_handlers[listener] = bulk
    return listener


def record_event(kind, *, obj, user=None, related=(), data=None):
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    for listener in list(_listeners):
        listener(kind, obj=obj, user=user, related=tuple(related), data=dict(data or {}))


def record_events(kind, *, objs, user=None, data=None):
    """The same event for many records (a purge batch): listeners with a bulk handler get them all at once,
    one call per model, the others one by one."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    by_model = {}
    for obj in objs:
        by_model.setdefault(type(obj), []).append(obj)
    for listener in list(_listeners):
        bulk = _bulk_handlers.get(listener)
        for model, group in by_model.items():
            if bulk is not None:
                bulk(kind, model=model, objs=group, user=user, data=dict(data or {}))
                continue
            for obj in group:
                listener(kind, obj=obj, user=user, related=(), data=dict(data or {}))
