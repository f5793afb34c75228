"""Keeping match keys current: domain events of every service, plus phone/email rows saved directly."""

from crm_site import events
from crm_site.registry import registry

from . import keys

_REFRESH = {events.CREATED, events.CHANGED, events.RESTORED, events.MERGED, events.IMPORTED, events.LINKED,
            events.UNLINKED, events.CONVERTED}
_REMOVE = {events.DELETED, events.PURGED}


def _is_entity(obj):
    return _is_entity_model(type(obj))


def on_event(kind, *, obj, user, related, data):
    if not _is_entity(obj):
        return
    if kind in _REMOVE:
        keys.keys_remove(obj)
    elif kind in _REFRESH:
        name_before = keys.stored_company_key(obj)
        keys.keys_refresh(obj)
        if name_before is not None and name_before != keys.own_company_key(obj):
            keys.keys_refresh_linked(obj)
        if kind in (events.LINKED, events.UNLINKED):  # a contact's companies are part of its keys, both ways
            for other in related:
                if _is_entity(other):
                    keys.keys_refresh(other)


def on_events(kind, *, model, objs, user, data):
    """Bulk listener (crm_site.events.record_events): keys of a purge batch go in one DELETE."""
    if kind in _REMOVE and _is_entity_model(model):
        keys.keys_remove_many(model, [obj.pk for obj in objs])
        return
    for obj in objs:
        on_event(kind, obj=obj, user=user, related=(), data=data)


def on_communication(sender, instance, **kwargs):
    """A phone or email saved outside a service's event (e.g. record_add_channel): refresh its record."""
    if instance.channel not in ("phone", "email", "web") or kwargs.get("raw"):
        return
    model = instance.content_type.model_class()
    if model is None or not _is_entity_model(model):
        return
    obj = model.all_objects.filter(pk=instance.object_id).first() if hasattr(model, "all_objects") else None
    if obj is not None:
        keys.keys_refresh(obj)


def _is_entity_model(model):
    try:
        registry.for_model(model)
        return True
    except KeyError:
        return False


def merges_panel_context(request, obj, entity):
    from .selectors import merges_for_card

    merges = merges_for_card(user=request.user, obj=obj)
    return {"merges": merges} if merges else None


def create_check(request, entity, form, formsets):
    """Before a new record is saved from its form: the records the engine is sure it duplicates, so the form
    asks once more ("Create anyway" / "Open the existing one")."""
    from access.fields import hidden_fields

    from .matching import find_candidates, form_display_name, keys_from_form, rule_for
    from .selectors import warnings_for
    from .views import _without_hidden

    if not keys.spec_for(entity.key).enabled or rule_for(entity.key) is None:
        return None
    data = _without_hidden(request.POST, hidden_fields(request.user, entity.key))
    found = find_candidates(entity.key, keys_from_form(entity.key, data), display=form_display_name(entity.key, data),
                            limit=10)
    sure = [c for c in found if c.entity.key == entity.key and c.verdict is not None and c.verdict.is_duplicate]
    if not sure:
        return None
    return {"duplicates": warnings_for(request.user, sure)}
