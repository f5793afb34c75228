"""Reads shared by every entity: what a list shows, one record for a user, a record's history.

The list page, the export, saved segments, the API and reports all build their records with `entity_list()`,
so each shows exactly what the list would: the user's read scope, the quick search, the filters and the sort,
without the fields the user's roles hide.
"""

from dataclasses import dataclass

import django_filters
from django.http import Http404
from django.utils.module_loading import import_string

from access.fields import hidden_fields
from access.scopes import READ, scope_q

from .display import field_label
from .registry import registry


@dataclass
class ListQuery:
    """What a list asks for: the records (search, filters and sort applied) and how it was asked."""

    queryset: object
    query: str
    sort: str
    filterset: object


def _entity(entity):
    return registry[entity] if isinstance(entity, str) else entity


def entity_list(*, user, entity, params, request=None):
    """The records of `entity` a list shows for `params` (a QueryDict or dict: q, filters, sort), within the user's
    read scope. Fields the user's roles hide are neither searched, filtered nor sorted by."""
    entity = _entity(entity)
    hidden = hidden_fields(user, entity.key)
    queryset = entity.model.objects.visible_to(user, READ)
    query = str(params.get("q", "") or "").strip()
    if query:
        queryset = queryset.search(query, user=user)
    filterset = entity_filterset(entity, params, queryset, hidden=hidden, request=request)
    if filterset.is_valid():
        queryset = filterset.qs
    sort = str(params.get("sort", "") or "")
    sort_key = sort.lstrip("-")
    if sort_key in entity.sort_fields and sort_key not in hidden:
        expression = entity.sort_fields[sort_key]
        queryset = queryset.order_by(f"{'-' if sort.startswith('-') else ''}{expression}", "-pk")
    else:
        sort = ""
    return ListQuery(queryset, query, sort, filterset)


def entity_filterset(entity, data, queryset, *, hidden=(), request=None):
    from .reports.filters import filter_overrides, generic_filters

    fields = [name for name in entity.filter_fields if name not in hidden]
    meta = type("Meta", (), {"model": entity.model, "fields": fields, "filter_overrides": filter_overrides()})
    declared = generic_filters(entity, hidden=hidden)
    if entity.extra_filters:
        declared.update(import_string(entity.extra_filters)(hidden=hidden))
    filterset_class = type(f"{entity.model.__name__}FilterSet", (django_filters.FilterSet,),
                           {"Meta": meta, **declared})
    return filterset_class(data, queryset=queryset, request=request)


def record_for_user_or_404(user, entity, pk, action=READ):
    """One live record the user may `action` (read by default); Http404 when outside that scope, in the bin,
    missing, or when `pk` is not an id."""
    entity = _entity(entity)
    q = scope_q(user, entity.model, action)
    if q is None or not str(pk).isdigit() or len(str(pk)) > 18:
        raise Http404
    obj = entity.model.objects.filter(q, pk=int(pk)).first()
    if obj is None:
        raise Http404
    return obj


# ---------------------------------------------------------------------------
# History

UNSHOWN_HISTORY_FIELDS = {"updated_at", "updated_by", "created_by", "created_at", "custom_fields", "department"}


def record_history(user, obj, limit=20):
    """The latest audit records of `obj` with the fields each one changed, without the fields the user's roles
    hide (card and bin pages)."""
    hidden = UNSHOWN_HISTORY_FIELDS | hidden_fields(user, type(obj).entity().key)
    entries = []
    records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    for record, older in zip(records, records[1:] + [None], strict=False):
        changes = []
        if older is not None:
            for change in record.diff_against(older).changes:
                if change.field in hidden:
                    continue
                changes.append({
                    "field": field_label(type(obj), change.field),
                    "old": history_value(obj, change.field, change.old),
                    "new": history_value(obj, change.field, change.new),
                })
        entries.append({"record": record, "changes": changes})
    return entries[:limit]


def history_value(obj, name, value):
    """A stored value as people read it: choices by label, a linked record by name, empty as "—"."""
    try:
        field = type(obj)._meta.get_field(name)
    except Exception:
        return value
    if value in (None, ""):
        return "—"
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if field.is_relation and field.related_model is not None:
        related = field.related_model._base_manager.filter(pk=value).first()
        return str(related) if related else value
    return value
