"""Reads shared by every entity: what a list shows, one record for a user, a record's history.

The list page, the export, saved segments, the API and reports all build their records with `entity_list()`,
so each shows exactly what the list would: the user's read scope, the quick search, the filters and the sort,
without the fields the user's roles hide.
"""

from collections import defaultdict
from dataclasses import dataclass

import django_filters
from django.http import Http404

from access.fields import hidden_fields
from access.scopes import READ, scope_q

from .display import field_label
from .registry import registry
from .validation import guard_id_fields


@dataclass
class ListQuery:
    """What a list asks for: the records (search, filters and sort applied) and how it was asked."""

    queryset: object
    query: str
    sort: str
    filterset: object


def with_channels(records):
    """`records` (of one model) with their phones, emails… read in one query and kept on each record for its
    `phones`, `emails`, `primary_phone`… (`CRMRecord.channel_values`): a list page shows them for every row on
    every request, and `prefetch_related("communications")` costs four times as much (a related manager and a
    queryset per record)."""
    from django.contrib.contenttypes.models import ContentType

    from .models import Communication

    if not records:
        return records
    content_type = ContentType.objects.get_for_model(type(records[0]))
    found = defaultdict(list)
    for item in Communication.objects.filter(content_type=content_type, object_id__in=[r.pk for r in records]):
        found[item.object_id].append(item)
    for record in records:
        record.listed_channels = found.get(record.pk, [])
    return records


def _entity(entity):
    return registry[entity] if isinstance(entity, str) else entity


def entity_list(*, user, entity, params, request=None, action=READ, filters=True):
    """The records of `entity` a list shows for `params` (a QueryDict or dict: q, filters, sort), within the user's
    `action` scope (read for the list; export, edit or delete when a segment or the filtered list is the source of
    an export or a bulk action). Fields the user's roles hide are neither searched, filtered nor sorted by.

    `params["segment"]`: a saved segment's id (crm_site.lists); its stored filters apply, and the parameters given
    beside it replace the segment's own of the same name. A segment the user may not use is ignored.

    `filters=False` when the caller knows `params` holds no filter (the API without filter parameters): the
    filter panel's FilterSet is then not built (its filters would all be empty), and `filterset` is None."""
    entity = _entity(entity)
    filters = filters or bool(params.get("segment"))
    params = _with_segment(user, entity, params)
    hidden = hidden_fields(user, entity.key)
    queryset = entity.model.objects.visible_to(user, action)
    query = str(params.get("q", "") or "").strip()
    if query:
        queryset = queryset.search(query, user=user)
    filterset = None
    if filters:
        filterset = entity_filterset(entity, params, queryset, hidden=hidden, request=request, user=user,
                                     only_given=True)
        if filterset.is_valid():
            queryset = filterset.qs
    sort = str(params.get("sort", "") or "")
    sort_key = sort.lstrip("-")
    expression = sort_expression(entity, sort_key) if sort_key not in hidden else None
    if expression:
        queryset = queryset.order_by(f"{'-' if sort.startswith('-') else ''}{expression}", "-pk")
    else:
        sort = ""
    return ListQuery(queryset, query, sort, filterset)


def sort_expression(entity, name):
    """The order_by expression of a list column: the entity's `sort_fields`, else a plain column of the model
    (any column can be sorted by); None when it cannot be sorted."""
    if not name:
        return None
    if name in entity.sort_fields:
        return entity.sort_fields[name]
    from django.db import models

    try:
        field = entity.model._meta.get_field(name)
    except Exception:
        return None
    if field.concrete and not field.is_relation and not isinstance(field, (models.JSONField, models.TextField)):
        return name
    return None


def _with_segment(user, entity, params):
    segment_id = str(params.get("segment", "") or "")
    if not segment_id:
        return params
    from .lists.selectors import segment_for_user

    segment = segment_for_user(user, entity, segment_id)
    if segment is None:
        return params
    merged = segment.query_dict.copy()
    for key in params:
        if key in ("segment", "page", "after", "before"):
            continue
        values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
        merged.setlist(key, values)
    return merged


def entity_filterset(entity, data, queryset, *, hidden=(), request=None, user=None, only_given=False):
    """The filter panel's FilterSet: every filter definition of the entity (crm_site.lists.filters: standard
    fields and any registered source, such as custom fields), without those on hidden fields.

    `only_given` (the list itself, not its panel): the FilterSet holds only the filters `data` gives a value
    to (a parameter named as the filter, or with its suffix: `amount_min`, `last_name_op`), so a list builds and
    validates the filters it applies, not the panel's every field; the panel is built apart (or in full when
    the list shows it in place, `_filters`, or when a given value is invalid, to show the error with the
    rest). `definitions` keeps them all (whether the list has a filter panel at all)."""
    from .lists.filters import filter_definitions

    user = user if user is not None else getattr(request, "user", None)
    definitions = filter_definitions(_entity(entity), user, hidden=hidden)
    used = definitions
    if only_given and data is not None and "_filters" not in data:
        keys = [key for key in data.keys()
                if any(value not in (None, "") for value in (data.getlist(key) if hasattr(data, "getlist")
                                                             else [data.get(key)]))]
        used = [definition for definition in definitions
                if any(key == definition.name or key.startswith(f"{definition.name}_") for key in keys)]
    filterset = _filterset(entity, used, data, queryset, request)
    if used is not definitions and filterset.form.errors:
        filterset = _filterset(entity, definitions, data, queryset, request)
    filterset.definitions = definitions
    return filterset


def _filterset(entity, definitions, data, queryset, request):
    attrs = {definition.name: definition.filter for definition in definitions}
    attrs["Meta"] = type("Meta", (), {"model": entity.model, "fields": []})
    filterset_class = type(f"{entity.model.__name__}FilterSet", (django_filters.FilterSet,), attrs)
    filterset = filterset_class(data, queryset=queryset, request=request)
    guard_id_fields(filterset.form)  # ?tags=<25 digits> is an invalid choice, not a database error
    return filterset


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
                if change.field == "custom_fields":
                    from .customfields.services import describe_changes

                    changes += [{"field": field_label(type(obj), item["field"]), "old": item["old"],
                                 "new": item["new"]}
                                for item in describe_changes(type(obj).entity().key, change.old, change.new)
                                if item["field"] not in hidden]
                    continue
                if change.field in hidden:
                    continue
                changes.append({
                    "field": field_label(type(obj), change.field),
                    "old": history_value(obj, change.field, change.old),
                    "new": history_value(obj, change.field, change.new),
                })
        entries.append({"record": record, "changes": changes, "reason": record.history_change_reason})
    _label_reasons(entries)
    return entries[:limit]


def _label_reasons(entries):
    """A change made through the API says so, and with which token (crm_site.api.tokens.write_reason); the
    other reasons read as they were written."""
    from .api.models import ApiToken
    from .api.tokens import reason_label, reason_token_ids

    ids = reason_token_ids(entry["reason"] for entry in entries)
    names = dict(ApiToken.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    for entry in entries:
        entry["reason"] = reason_label(entry["reason"], names) or entry["reason"]


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
