"""`POST /api/v1/<entity>/bulk/`: up to 1,000 records at once, written in sets by the bulk write services.

Each item is a record as POST takes it, plus an optional `external_id`. `mode`:
- "create": every item is a new record;
- "upsert": an item is matched to an existing record by `key` — "external_id" (the record's id in `source`,
  kept in crm_site.api.models.ExternalKey) or "duplicates" (the duplicate rules: the import's engine, see
  `match_duplicates`) — then `on_match` says what happens: "skip" (left alone), "replace" (the item's fields
  and channels overwrite the record's) or "merge" (only fields the record has empty are filled, phones and
  emails are added). Items with no match are created.
One report entry per item, in order. With `all_or_nothing`, any refused item writes nothing (400).
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.response import Response

from access.scopes import EDIT, READ
from crm_site import services
from crm_site.record_writes import RecordInput

from .errors import validation_body
from .models import ExternalKey
from .serializers import CHANNEL_FIELDS, serializer_for, write_arguments
from .tokens import SESSION_REASON, write_reason

MODES = ("create", "upsert")
KEYS = ("external_id", "duplicates")
ON_MATCH = ("skip", "replace", "merge")


def request_serializer(entity):
    record = serializer_for(entity)
    item = type(f"{entity.model.__name__}BulkItem", (record,), {
        "external_id": serializers.CharField(required=False, max_length=255, write_only=True),
        "Meta": type("Meta", (record.Meta,), {"fields": [*record.Meta.fields, "external_id"]}),
    })
    return type(f"{entity.model.__name__}BulkRequest", (serializers.Serializer,), {
        "items": serializers.ListField(child=item(), max_length=1000),
        "mode": serializers.ChoiceField(choices=MODES, default="create"),
        "key": serializers.ChoiceField(choices=KEYS, required=False),
        "on_match": serializers.ChoiceField(choices=ON_MATCH, default="replace"),
        "source": serializers.CharField(required=False, max_length=50),
        "all_or_nothing": serializers.BooleanField(default=False),
    })


class BulkEntrySerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "skipped", "error", "not_written"])
    id = serializers.IntegerField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(required=False)


def response_serializer(entity):
    return type(f"{entity.model.__name__}BulkReport", (serializers.Serializer,), {
        "results": BulkEntrySerializer(many=True), "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(), "skipped": serializers.IntegerField(),
        "errors": serializers.IntegerField()})


def match_duplicates(entity, rows):
    """For each row (write data + channels): ("none", []), ("one", [id]) or ("ambiguous", [ids]) — the import's
    duplicate control (dedup.importing.pipeline): the duplicate rules' matches against the base
    (dedup.scoring.match_rows), a second one nearly as good as the best making the row ambiguous, one target per
    row; plus the batch against itself: `within` {row: earlier row} for a row that is the same record as an
    earlier one (by the rules, or by matching the same saved record). Returns (per row, within)."""
    from dedup.importing.pipeline import AMBIGUITY_MARGIN, _Groups, accepted
    from dedup.scoring import keys_of, match_rows, match_within

    values = []
    for data, channels in rows:
        value = {name: (getattr(v, "pk", v)) for name, v in data.items()}
        value["phones"] = [item["value"] for item in (channels or {}).get("phone", [])]
        value["emails"] = [item["value"] for item in (channels or {}).get("email", [])]
        value["websites"] = [item["value"] for item in (channels or {}).get("web", [])]
        values.append(value)
    keysets = [keys_of(entity.key, value) for value in values]
    out = []
    for matches in match_rows(entity.key, keysets, limit=3, different_person=False):
        dups = [m for m in matches if accepted(m.verdict, ())]
        if not dups:
            out.append(("none", []))
        elif len(dups) > 1 and dups[1].verdict.percent >= dups[0].verdict.percent - AMBIGUITY_MARGIN:
            out.append(("ambiguous", [m.object_id for m in dups]))
        else:
            out.append(("one", [dups[0].object_id]))
    groups = _Groups(len(rows))
    for i, j, verdict in match_within(entity.key, keysets, different_person=False):
        if accepted(verdict, ()):
            groups.union(i, j)
    by_target = {}
    for index, (kind, ids) in enumerate(out):
        if kind == "one":
            groups.union(by_target.setdefault(ids[0], index), index)
    first, within = {}, {}
    for index in range(len(rows)):
        leader = first.setdefault(groups.find(index), index)
        if leader != index:
            within[index] = leader
    return out, within


def _merge_input(obj, arguments, comms):
    """Only what the record lacks: empty fields filled, channel values added after its own."""
    data = {}
    for name, value in arguments["data"].items():
        if name == "custom_fields":
            current = obj.custom_fields or {}
            extra = {k: v for k, v in (value or {}).items() if current.get(k) in (None, "", [])}
            if extra:
                data[name] = extra
            continue
        field = type(obj)._meta.get_field(name)
        if field.many_to_many:
            data[name] = value  # lists are merged as given (the record's own items are kept by the caller)
            continue
        current = getattr(obj, field.attname)
        if current in (None, "") or (field.get_internal_type() == "BooleanField" and not current and value):
            data[name] = value
    channels = None
    if arguments["channels"]:
        channels = {}
        for channel, items in arguments["channels"].items():
            from crm_site.models import Communication

            own = [c for c in comms.get(obj.pk, []) if c.channel == channel]
            known = {c.normalized for c in own}
            existing = [{"id": c.pk, "value": c.value, "kind": c.kind, "is_primary": c.is_primary} for c in own]
            added = [dict(item, is_primary=False) for item in items
                     if Communication.normalize_value(channel, item.get("value", "")) not in known]
            if added:
                channels[channel] = existing + added
    channels = channels or None
    return RecordInput(obj=obj, data=data, channels=channels, links=None)


def bulk_view(view, request):
    entity, user = view.entity, request.user
    if not isinstance(request.data, dict):
        return Response({"non_field_errors": [_("Send a JSON object.")]}, status=400)
    raw_items = request.data.get("items")
    if isinstance(raw_items, list) and len(raw_items) > settings.CRM_API_BULK_MAX:
        return Response({"items": [_("At most %(max)s items at once.") % {"max": settings.CRM_API_BULK_MAX}]},
                        status=400)
    envelope = request_serializer(entity)(data={k: v for k, v in request.data.items() if k != "items"} | {"items": []})
    envelope.is_valid(raise_exception=True)
    options = dict(envelope.validated_data)
    options.pop("items", None)
    if not isinstance(raw_items, list):
        return Response({"items": [_("Give a list of items.")]}, status=400)
    if options["mode"] == "upsert" and "key" not in options:
        return Response({"key": [_("Say how items are matched: external_id or duplicates.")]}, status=400)
    if options.get("key") == "external_id" and not options.get("source"):
        return Response({"source": [_("Name the system the external ids come from.")]}, status=400)
    report = bulk_write(user=user, entity=entity, items=raw_items, reason=write_reason(request), **options)
    code = 400 if options["all_or_nothing"] and report["errors"] else 200
    return Response(report, status=code)


def bulk_write(*, user, entity, items, mode="create", key=None, on_match="replace", source="", all_or_nothing=False,
               reason=SESSION_REASON):
    """The service behind the bulk endpoint (also used by the benchmark): the report as a dict. `reason`: the
    history rows' reason (crm_site.api.tokens.write_reason: which token)."""
    parser = serializer_for(entity)(partial=True, context={"user": user})
    results = [{"index": i, "status": "error", "id": None, "external_id": None} for i in range(len(items))]
    parsed = {}
    seen_external = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            results[index]["errors"] = {"non_field_errors": [_("Send a JSON object.")]}
            continue
        external_id = item.get("external_id")
        if external_id is not None and (not isinstance(external_id, (str, int)) or isinstance(external_id, bool)
                                        or not str(external_id).strip() or len(str(external_id)) > 255):
            results[index]["errors"] = {"external_id": [_("Give the external id as text.")]}
            continue
        external_id = str(external_id).strip() if external_id is not None else None
        results[index]["external_id"] = external_id
        if external_id is not None and external_id in seen_external:
            results[index]["errors"] = {"external_id": [_("The same external id is given twice in this batch.")]}
            continue
        if key == "external_id" and external_id is None:
            results[index]["errors"] = {"external_id": [_("Give the item's external id.")]}
            continue
        try:  # one serializer for the whole batch: its fields are built once
            validated = parser.run_validation({k: v for k, v in item.items() if k != "external_id"})
        except serializers.ValidationError as error:
            detail = error.detail if isinstance(error.detail, dict) else {"non_field_errors": error.detail}
            results[index]["errors"] = {name: [str(m) for m in (messages if isinstance(messages, list) else
                                                                [messages])]
                                        for name, messages in detail.items()}
            continue
        if external_id is not None:
            seen_external[external_id] = index
        parsed[index] = (write_arguments(entity, validated, partial=False), external_id)

    content_type = ContentType.objects.get_for_model(entity.model)
    with transaction.atomic():
        targets = {}
        if mode == "upsert" and key == "external_id" and source:
            known = dict(ExternalKey.objects.filter(content_type=content_type, source=source, external_id__in=[
                ext for _a, ext in parsed.values() if ext]).values_list("external_id", "object_id"))
            targets = {index: known[ext] for index, (_a, ext) in parsed.items() if ext in known}
        elif mode == "upsert" and key == "duplicates" and parsed:
            order = list(parsed)
            matched, within = match_duplicates(entity, [(parsed[i][0]["data"], parsed[i][0]["channels"])
                                                        for i in order])
            readable = set(entity.model.objects.visible_to(user, READ).filter(
                pk__in=[pk for _kind, ids in matched for pk in ids]).values_list("pk", flat=True))
            for position, index in enumerate(order):
                kind, ids = matched[position]
                if position in within:  # one target per record: the batch's first item of it is written
                    results[index]["errors"] = {"non_field_errors": [
                        _("The same record as item %(index)s of this batch: not written.") % {
                            "index": order[within[position]]}]}
                    del parsed[index]
                elif kind == "ambiguous":
                    shown = ", ".join(f"#{pk}" for pk in ids if pk in readable) or "—"
                    results[index]["errors"] = {"non_field_errors": [
                        _("Matches several records equally well (%(ids)s): nothing was written.") % {"ids": shown}]}
                    del parsed[index]
                elif kind == "one" and ids[0] in readable:
                    targets[index] = ids[0]
        objs = entity.model.all_objects.in_bulk(set(targets.values()))
        editable = set(entity.model.objects.visible_to(user, EDIT).filter(pk__in=list(objs)).values_list(
            "pk", flat=True))
        creates, updates = [], []
        for index in parsed:
            pk = targets.get(index)
            if pk is None:
                creates.append(index)
                continue
            results[index]["id"] = pk
            if on_match == "skip":
                results[index]["status"] = "skipped"
            elif pk not in editable or objs[pk].deleted_at is not None:
                results[index]["errors"] = {"non_field_errors": [
                    _("The matching record is in the bin or you may not change it.")]}
            else:
                updates.append(index)
        written = {}
        if creates:
            try:
                created = services.records_create_bulk(user=user, entity=entity, rows=[RecordInput(
                    data=parsed[i][0]["data"], channels=parsed[i][0]["channels"], links=parsed[i][0]["links"])
                    for i in creates], reason=reason)
            except PermissionDenied as error:
                created = None
                for index in creates:
                    results[index]["errors"] = {"non_field_errors": [str(error)]}
            if created is not None:
                for position, index in enumerate(creates):
                    obj = created.objs[position]
                    if obj is None:
                        results[index]["errors"] = _errors(created.errors.get(position))
                    else:
                        results[index].update(status="created", id=obj.pk)
                        written[index] = obj
        if updates:
            comms = {}
            if on_match == "merge" and entity.has_channels:
                from crm_site.models import Communication

                for comm in Communication.objects.filter(content_type=content_type,
                                                         object_id__in=[targets[i] for i in updates]):
                    comms.setdefault(comm.object_id, []).append(comm)
            rows = []
            for index in updates:
                arguments = parsed[index][0]
                obj = objs[targets[index]]
                if on_match == "merge":
                    rows.append(_merge_input(obj, arguments, comms))
                else:
                    rows.append(RecordInput(obj=obj, data=arguments["data"], channels=arguments["channels"],
                                            links=arguments["links"]))
            updated = services.records_update_bulk(user=user, rows=rows, reason=reason)
            for position, index in enumerate(updates):
                if updated.objs[position] is None:
                    results[index]["errors"] = _errors(updated.errors.get(position))
                else:
                    results[index]["status"] = "updated"
                    written[index] = updated.objs[position]
        failed = any(r["status"] == "error" for r in results)
        if all_or_nothing and failed:
            transaction.set_rollback(True)
            for r in results:
                if r["status"] != "error":
                    r["status"], r["id"] = "not_written", None
        else:
            new_keys = [ExternalKey(content_type=content_type, object_id=written[i].pk, source=source,
                                    external_id=parsed[i][1])
                        for i in written if parsed[i][1] and source and (i not in targets)]
            ExternalKey.objects.bulk_create(new_keys, ignore_conflicts=True)
    counts = {name: sum(1 for r in results if r["status"] == status) for name, status in (
        ("created", "created"), ("updated", "updated"), ("skipped", "skipped"), ("errors", "error"))}
    return {"results": results, **counts}


def _errors(error):
    if error is None:
        return {"non_field_errors": [_("Not written.")]}
    if isinstance(error, DjangoValidationError):
        return validation_body(error)
    return {"non_field_errors": [str(error) or _("You may not do this.")]}


__all__ = ["bulk_write", "match_duplicates", "request_serializer", "response_serializer", "CHANNEL_FIELDS"]
