"""Keeping match keys current: every write service announces its change (crm_site.events), and the keys of the
records it touched are rewritten, set-based for a batch."""

from crm_site import events
from crm_site.registry import registry

from . import keys

_REMOVE = {events.DELETED, events.PURGED}
# Announcements that follow a write whose own "created"/"changed" event refreshed the keys already (the import's
# "imported in batch N" timeline entry).
_NO_CHANGE = {events.IMPORTED}


def _refreshes(kind):
    """Kinds that leave a record with possibly new values; a tracked field's move comes with "changed" anyway."""
    return kind not in _REMOVE and kind not in _NO_CHANGE and not events.kind(kind).field


def _is_entity(obj):
    return _is_entity_model(type(obj))


def on_event(kind, *, obj, user, related, data):
    if not _is_entity(obj):
        return
    if kind in _REMOVE:
        keys.keys_remove(obj)
    elif _refreshes(kind):
        name_before = keys.stored_company_key(obj)
        keys.keys_refresh(obj)
        if name_before is not None and name_before != keys.own_company_key(obj):
            keys.keys_refresh_linked(obj)
        if kind in (events.LINKED, events.UNLINKED):  # a contact's companies are part of its keys, both ways
            for other in related:
                if _is_entity(other):
                    keys.keys_refresh(other)


def on_events(kind, *, model, objs, user, data, per_object):
    """Bulk listener (crm_site.events.record_events): the keys of a whole batch rewritten in a few queries."""
    if not _is_entity_model(model):
        return
    if kind in _REMOVE:
        keys.keys_remove_many(model, [obj.pk for obj in objs])
    elif _refreshes(kind):
        keys.keys_refresh_many(model, objs, created=kind == events.CREATED)


def _is_entity_model(model):
    try:
        registry.for_model(model)
        return True
    except KeyError:
        return False


# ---------------------------------------------------------------------------
# Custom field definitions: a field marked "finds duplicates" (or no longer, renamed, widened, deleted) has
# its match keys rewritten at once, set-based, for the whole entity.

_KEY_ATTRS = ("entity", "code", "type", "multiple", "duplicate_criterion")


def on_definition_pre_save(sender, instance, raw=False, **kwargs):
    instance._dedup_before = (sender.objects.filter(pk=instance.pk).values(*_KEY_ATTRS).first()
                              if instance.pk and not raw else None)


def on_definition_saved(sender, instance, created=False, raw=False, **kwargs):
    if raw:  # loaddata
        return
    before = getattr(instance, "_dedup_before", None) or {}
    if not instance.duplicate_criterion and not before.get("duplicate_criterion"):
        return
    if before and all(before[attr] == getattr(instance, attr) for attr in _KEY_ATTRS):
        return  # the name, the help text...: the keys stay as they are
    from crm_site.customfields import registry as definitions

    definitions.invalidate()  # the marks as saved now, whichever receiver ran first
    if before and before["entity"] != instance.entity:
        keys.keys_rebuild_custom(before["entity"], [before["code"]])
    keys.keys_rebuild_custom(instance.entity, list(dict.fromkeys([before.get("code") or instance.code,
                                                                  instance.code])))


def on_definition_deleted(sender, instance, **kwargs):
    from crm_site.customfields import registry as definitions

    definitions.invalidate()
    keys.keys_rebuild_custom(instance.entity, [instance.code])  # the field is gone: only removes


def on_values_rewritten(sender, entity, codes, **kwargs):
    if any(field.code in codes for field in keys.criterion_fields(entity)) or _has_custom_keys(entity, codes):
        keys.keys_rebuild_custom(entity, codes)


def _has_custom_keys(entity_key, codes):
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Q

    from .models import MatchKey

    if entity_key not in registry:
        return False
    prefixes = Q()
    for code in codes:
        prefixes |= Q(value__startswith=f"{code}:")
    return MatchKey.objects.filter(prefixes, content_type=ContentType.objects.get_for_model(registry[entity_key].model),
                                   kind=keys.CUSTOM).exists()


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
