"""Reads of the recycle bin: one list over every registered entity, filtered and ordered in SQL."""

from datetime import timedelta
from math import ceil

from django.db.models import CharField, Value
from django.utils import timezone

from crm_site.registry import registry
from crm_site.validation import parse_id

from .services import bin_queryset, retention_days


def bin_rows(user, *, entity_key="", deleted_by=None, since=None, until=None, query=""):
    """A UNION of each entity's binned records the user may handle: dicts (entity_key, id, deleted_at).

    Ordered newest deletion first; a Paginator slices it in SQL, so pages stay correct across entities.
    """
    parts = []
    for entity in registry:
        if entity_key and entity.key != entity_key:
            continue
        queryset = bin_queryset(user, entity.model)
        if deleted_by is not None:
            queryset = queryset.filter(deleted_by=deleted_by)
        if since:
            queryset = queryset.filter(deleted_at__date__gte=since)
        if until:
            queryset = queryset.filter(deleted_at__date__lte=until)
        if query:
            queryset = queryset.search(query, user=user)
        parts.append(
            queryset.order_by()
            .annotate(entity_key=Value(entity.key, output_field=CharField()))
            .values("entity_key", "id", "deleted_at")
            .distinct()
        )
    if not parts:
        return []
    combined = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    return combined.order_by("-deleted_at", "entity_key", "-id")  # a total order: pages never overlap


def bin_items(rows):
    """The records behind a page of `bin_rows`, with their purge date and days left."""
    rows = list(rows)
    wanted = {}
    for row in rows:
        wanted.setdefault(row["entity_key"], []).append(row["id"])
    loaded = {
        key: registry[key].model.all_objects.select_related("deleted_by", "owner").in_bulk(ids)
        for key, ids in wanted.items()
    }
    retention = retention_days()
    now = timezone.now()
    items = []
    for row in rows:
        obj = loaded[row["entity_key"]].get(row["id"])
        if obj is not None and obj.deleted_at is not None:
            items.append(bin_item(obj, retention[row["entity_key"]], now))
    return items


def bin_item(obj, days, now=None):
    now = now or timezone.now()
    purge_at = obj.deleted_at + timedelta(days=days)
    entity = type(obj).entity()
    return {
        "object": obj,
        "entity": entity,
        "token": f"{entity.key}:{obj.pk}",
        "purge_at": purge_at,
        "days_left": max(0, ceil((purge_at - now).total_seconds() / 86400)),
    }


def parse_tokens(values):
    """["contact:12", ...] -> {entity key: [pks]}; anything malformed or of an unknown type is ignored."""
    wanted = {}
    for value in values:
        key, _, pk = str(value).partition(":")
        number = parse_id(pk)
        if key in registry and number is not None:
            wanted.setdefault(key, []).append(number)
    return wanted


def bin_objects(user, tokens):
    """The binned records named by `tokens` that are in the user's bin, in the order given."""
    wanted = parse_tokens(tokens)
    found = {}
    for key, pks in wanted.items():
        for obj in bin_queryset(user, registry[key].model).filter(pk__in=pks):
            found[(key, obj.pk)] = obj
    ordered = []
    for key, pks in wanted.items():
        ordered += [found[(key, pk)] for pk in pks if (key, pk) in found and found[(key, pk)] not in ordered]
    return ordered
