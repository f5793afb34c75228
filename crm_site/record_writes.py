"""The mechanics under every record write: rows, history, phones/emails, links, hooks, events and the re-check of
scope, for one record or a whole batch, in a constant number of queries per batch.

The services in crm_site/services.py check rights and call `write_creates()` / `write_updates()`; nothing else
writes records (the bin's delete/restore, the merge and lead conversion all come through here).
"""

import copy
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from access.fields import field_modes
from access.scopes import DELETE, EDIT, READ, primary_departments

from . import bulk_sql, events, history, record_input
from . import channels as channel_plans
from .lists import related_names
from .models import Communication

BATCH = 1000


@dataclass
class RecordInput:
    """What one record should become. `data`: field values; `channels`: see crm_site.channels (None: untouched);
    `links`: [{"relation", "target", **extra}] (None: untouched; on an update each named relation is replaced);
    `system`: fields the calling service sets itself, past the field rules (a lead's converted_at, a binned
    record's deleted_at); `version`: the record's version the caller saw (updates)."""

    data: dict = field(default_factory=dict)
    channels: object = None
    links: object = None
    system: dict = None
    version: int = None
    obj: object = None  # the record to update


@dataclass
class Written:
    """One record after the write: the saved instance, its previous state (None when created) and what changed."""

    obj: object
    previous: object = None
    changed: set = field(default_factory=set)
    changes: list = field(default_factory=list)  # [{"field", "old", "new"}] as people read them
    channels_changed: bool = False
    linked: list = field(default_factory=list)  # (relation, target, "linked" | "unlinked")
    m2m: dict = field(default_factory=dict)  # {name: [instances]} of the lists that changed
    plan: object = None  # the ChannelPlan, when channels were given

    @property
    def is_change(self):
        return bool(self.changed or self.channels_changed or self.linked or self.m2m)


@dataclass
class BulkResult:
    objs: list  # per input, in order: the written record, or None
    errors: dict = field(default_factory=dict)  # input index -> ValidationError or PermissionDenied

    @property
    def written(self):
        return [obj for obj in self.objs if obj is not None]


class VersionConflict(ValidationError):
    """Someone else saved the record after the caller read it; `fields` names what they changed."""

    def __init__(self, fields):
        self.fields = fields
        if fields:
            message = _("Someone else changed this record while you were editing it (%(fields)s). Nothing was "
                        "saved: save again to keep your values, or reload to see theirs.") % {
                "fields": ", ".join(map(str, fields))}
        else:
            message = _("Someone else changed this record while you were editing it. Nothing was saved: save "
                        "again to keep your values, or reload to see theirs.")
        super().__init__(message, code="version")


# ---------------------------------------------------------------------------
# Creates


def write_creates(*, user, entity, inputs, **kwargs):
    """See _write_creates; custom field ids and unique values are checked once for the batch."""
    from .customfields.batch import batch

    with batch(entity.key, user, [i.data for i in inputs]):
        return _write_creates(user=user, entity=entity, inputs=inputs, **kwargs)


def _write_creates(*, user, entity, inputs, reason="", event_kind=events.CREATED, event_data=None, related=()):
    """Insert new records: validated, department from the owner, history, channels, links, the entity's hook,
    events (one call per batch) and the re-check that each record is within the user's reach.

    Returns a BulkResult; rows refused (bad data, out of reach after the write) are in `errors` and unwritten."""
    model = entity.model
    result = BulkResult(objs=[None] * len(inputs))
    modes = field_modes(user, entity.key)
    fields = record_input.writable_fields(model)
    resolver = record_input.Resolver(user, model, [i.data for i in inputs])
    baseline = model(owner=user) if user is not None and user.is_authenticated else model()
    defaults = (import_string(entity.new_defaults)([item.data or {} for item in inputs]) if entity.new_defaults
                else [{}] * len(inputs))
    prepared = []
    for index, item in enumerate(inputs):
        obj = model()
        if user is not None and user.is_authenticated:
            obj.owner = user
        for name, value in defaults[index].items():  # fields the input leaves out (a lead's first status)
            if name not in (item.data or {}) and name not in (item.system or {}):
                setattr(obj, name, value)
        system = dict(item.system or {})
        system_custom = system.pop("custom_fields", None)
        for name, value in system.items():  # before the data: "required from a stage on" reads the stage
            setattr(obj, name, value)
        try:
            changed, m2m, errors = record_input.apply_data(obj=obj, data=item.data, fields=fields, modes=modes,
                                                           resolver=resolver, baseline=baseline, m2m_current={},
                                                           system_custom=system_custom)
        except PermissionDenied as error:
            result.errors[index] = error
            continue
        for name, value in system.items():  # and after: the service's own values win over the data
            setattr(obj, name, value)
        wanted, channel_errors = _wanted_channels(entity, item.channels, modes, existing=None)
        errors.update(channel_errors)
        errors.update(record_input.validate(obj, skip=set(errors)))  # every bad field at once
        if errors:
            result.errors[index] = ValidationError(errors)
            continue
        prepared.append((index, obj, m2m, wanted, item.links))
    links = _resolve_links(user, entity, [(index, links) for index, _o, _m, _w, links in prepared], result,
                           creating=True)
    prepared = [p for p in prepared if p[0] not in result.errors]
    if not prepared:
        return result
    while prepared:
        with transaction.atomic():
            written = _insert(user, entity, prepared, links, reason)
            out_of_reach = _out_of_reach(user, model, [w.obj.pk for w in written], READ)
            if out_of_reach:
                transaction.set_rollback(True)
        if not out_of_reach:
            break
        by_pk = {w.obj.pk: index for w, (index, *_rest) in zip(written, prepared, strict=True)}
        for pk in out_of_reach:
            result.errors[by_pk[pk]] = PermissionDenied(
                _("After this change the record would be out of your reach; nothing was saved."))
        prepared = [p for p in prepared if p[0] not in result.errors]
        for _index, obj, *_rest in prepared:
            obj.pk, obj._state.adding = None, True
    else:
        return result
    for w, (index, *_rest) in zip(written, prepared, strict=True):
        result.objs[index] = w.obj
    _announce(user, entity, written, creating=True, event_kind=event_kind, event_data=event_data, related=related)
    return result


def _insert(user, entity, prepared, links, reason):
    model = entity.model
    now = timezone.now()
    objs = [obj for _i, obj, *_rest in prepared]
    departments = primary_departments({obj.owner_id for obj in objs})
    for obj in objs:
        obj.department_id = departments.get(obj.owner_id)
        obj.created_by = obj.created_by or user
        obj.updated_by = user
        obj.created_at = obj.created_at or now
    bulk_sql.insert(model, objs, extra=related_names.initial_copies(
        entity, [links.get(index, {}) for index, *_rest in prepared]))
    history.write_history(model, objs, kind="+", user=user, reason=reason, when=now)
    _write_m2m(model, [(obj, m2m) for _i, obj, m2m, *_rest in prepared], creating=True)
    plans = {obj.pk: channel_plans.plan(obj, [], wanted) for _i, obj, _m, wanted, _l in prepared if wanted}
    _write_channel_plans(plans.values(), user=user, when=now)
    written = [Written(obj=obj, channels_changed=obj.pk in plans) for obj in objs]
    link_plans = {obj.pk: links.get(index, {}) for index, obj, *_rest in prepared}
    _write_links(user, entity, written, link_plans, creating=True, when=now)
    _after_save(entity, written, user)
    return written


# ---------------------------------------------------------------------------
# Updates


def write_updates(*, user, entity, inputs, **kwargs):
    """See _write_updates; custom field ids and unique values are checked once for the batch."""
    from .customfields.batch import batch

    with batch(entity.key, user, [i.data for i in inputs]):
        return _write_updates(user=user, entity=entity, inputs=inputs, **kwargs)


def _write_updates(*, user, entity, inputs, action=EDIT, recheck=True, reason="", manager="objects",
                   event_kind=events.CHANGED, event_data=None, related=()):
    """Change existing records, locked first: same rules and results as write_creates.

    `action`: the right the user needs on each record beforehand (edit; delete for the bin; None when the caller
    checked it); `recheck`: after the write each record must still be readable and editable by the user;
    `manager`: "all_objects" to reach records in the bin. Records whose data changes nothing are left alone (no
    history row, no event); `event_kind` None announces no "changed" (the caller announces its own)."""
    model = entity.model
    result = BulkResult(objs=[None] * len(inputs))
    pks = [item.obj.pk for item in inputs]
    locked = getattr(model, manager).select_for_update(of=("self",)).select_related(*_lookup_fields(model)).in_bulk(pks)
    allowed = set(locked)
    if action is not None:
        from access.scopes import scope_q

        q = scope_q(user, model, action)
        allowed = set() if q is None else set(model.all_objects.filter(q, pk__in=pks).values_list("pk", flat=True))
    wanted_versions = [item.version for item in inputs if item.version is not None]
    current_versions = history.versions(model, [pk for pk in pks if pk in locked]) if wanted_versions else {}
    modes = field_modes(user, entity.key)
    fields = record_input.writable_fields(model)
    resolver = record_input.Resolver(user, model, [i.data for i in inputs])
    m2m_names = [name for name in {n for i in inputs for n in (i.data or {})} if name in fields
                 and fields[name].many_to_many]
    m2m_current = _m2m_current(model, m2m_names, list(locked))
    comms = _comms_of(model, list(locked)) if entity.has_channels and any(i.channels is not None for i in inputs) \
        else {}
    prepared = []
    for index, item in enumerate(inputs):
        obj = locked.get(item.obj.pk)
        if obj is None:
            result.errors[index] = ValidationError(_("The record is in the recycle bin or no longer exists."))
            continue
        if obj.pk not in allowed:
            result.errors[index] = PermissionDenied(_("You may not delete this record.") if action == DELETE
                                                    else _("You may not change this record."))
            continue
        if item.version is not None and current_versions.get(obj.pk) != item.version:
            result.errors[index] = VersionConflict(history.changed_since(obj, item.version))
            continue
        previous = copy.copy(obj)
        system = dict(item.system or {})
        system_custom = system.pop("custom_fields", None)
        try:
            changed, m2m, errors = record_input.apply_data(obj=obj, data=item.data, fields=fields, modes=modes,
                                                           resolver=resolver, baseline=previous,
                                                           m2m_current=m2m_current.get(obj.pk, {}),
                                                           system_custom=system_custom)
        except PermissionDenied as error:
            result.errors[index] = error
            continue
        for name, value in system.items():  # a field's name, or its attname with a raw id
            model_field = model._meta.get_field(name)
            if getattr(previous, model_field.attname) != _attvalue(model, name, value):
                changed.add(model_field.name)
            setattr(obj, name, value)
        wanted, channel_errors = _wanted_channels(entity, item.channels, modes, existing=comms.get(obj.pk, []))
        errors.update(channel_errors)
        if changed or errors:
            errors.update(record_input.validate(obj, skip=set(errors)))
        if errors:
            result.errors[index] = ValidationError(errors)
            continue
        prepared.append((index, obj, previous, changed, m2m, wanted, item.links))
    links = _resolve_links(user, entity, [(p[0], p[6]) for p in prepared], result, creating=False)
    prepared = [p for p in prepared if p[0] not in result.errors]
    written = []
    while prepared:
        with transaction.atomic():
            written = _update(user, entity, prepared, links, comms, reason, m2m_current)
            refused = _refused_after_update(user, model, [w.obj.pk for w in written]) if recheck else {}
            if refused:
                transaction.set_rollback(True)  # the whole batch again, without the refused rows
        if not refused:
            break
        index_of = {p[1].pk: p[0] for p in prepared}
        for pk, error in refused.items():
            result.errors[index_of[pk]] = error
        prepared = [p for p in prepared if p[0] not in result.errors]
        if comms:
            comms = _comms_of(model, [p[1].pk for p in prepared])
        written = []
    for index, obj, *_rest in prepared:
        result.objs[index] = obj
    changed = [w for w in written if w.is_change]
    _announce(user, entity, changed, creating=False, event_kind=event_kind, event_data=event_data, related=related)
    return result


def _refused_after_update(user, model, pks):
    """{pk: PermissionDenied} of records the change would put out of the user's reach (NetBox's re-check)."""
    unreadable = _out_of_reach(user, model, pks, READ)
    uneditable = _out_of_reach(user, model, pks, EDIT) - unreadable
    refused = {pk: PermissionDenied(_("After this change the record would be out of your reach; nothing was saved."))
               for pk in unreadable}
    refused.update({pk: PermissionDenied(_("After this change you could no longer edit the record; nothing was "
                                           "saved.")) for pk in uneditable})
    return refused


def _lookup_fields(model):
    """Foreign keys to small reference lists (a deal's stage, a lead's status): joined when records are locked,
    so the model's own clean() reads them without a query per record."""
    from django.contrib.auth import get_user_model

    return [f.name for f in model._meta.concrete_fields if f.many_to_one and f.related_model is not get_user_model()
            and not hasattr(f.related_model, "entity") and f.name not in record_input.SYSTEM_FIELDS]


def _attvalue(model, name, value):
    field = model._meta.get_field(name)
    if field.many_to_one and value is not None and hasattr(value, "pk"):
        return value.pk
    return value


def _update(user, entity, prepared, links, comms, reason, m2m_current):
    model = entity.model
    now = timezone.now()
    written = []
    owners = {obj.owner_id for _i, obj, previous, changed, *_r in prepared
              if "owner" in changed or obj.department_id is None}
    departments = primary_departments(owners) if owners else {}
    to_save, changed_fields = [], set()
    for _index, obj, previous, changed, m2m, wanted, _links in prepared:
        if obj.owner_id in owners and ("owner" in changed or obj.department_id is None):
            obj.department_id = departments.get(obj.owner_id)
            if obj.department_id != previous.department_id:
                changed = changed | {"department"}
        w = Written(obj=obj, previous=previous, changed=set(changed))
        w.m2m = {name: values for name, values in m2m.items()
                 if {v.pk for v in values} != set(m2m_current.get(obj.pk, {}).get(name, set()))}
        if wanted:
            w.plan = channel_plans.plan(obj, comms.get(obj.pk, []), wanted)
            w.channels_changed = w.plan.changed
        written.append(w)
        if changed or w.m2m or w.channels_changed:
            obj.updated_by = user
            obj.updated_at = now
            to_save.append(obj)
            changed_fields |= {model._meta.get_field(name).name for name in changed
                               if not model._meta.get_field(name).many_to_many}
    if to_save:
        names = sorted(changed_fields | {"updated_by", "updated_at", "department"})
        model.all_objects.bulk_update(to_save, names, batch_size=BATCH)
        history.write_history(model, to_save, kind="~", user=user, reason=reason, when=now)
    _write_m2m(model, [(w.obj, w.m2m) for w in written if w.m2m], creating=False)
    _write_channel_plans([w.plan for w in written if w.plan is not None], user=user, when=now)
    _write_links(user, entity, written, {p[1].pk: links.get(p[0]) for p in prepared}, creating=False, when=now)
    for w in written:
        w.changes = describe(model, w)
    _after_save(entity, [w for w in written if w.changed], user)
    return written


# ---------------------------------------------------------------------------
# Pieces


def _out_of_reach(user, model, pks, action):
    from access.scopes import scope_q

    if not pks:
        return set()
    q = scope_q(user, model, action)
    if q is None:
        return set(pks)
    within = set(model.all_objects.filter(q, pk__in=pks).values_list("pk", flat=True))
    return set(pks) - within


def _m2m_current(model, names, pks):
    """{pk: {m2m name: {target pks}}} of locked records, one query per field."""
    out = {}
    for name in names:
        through = model._meta.get_field(name).remote_field.through
        source = model._meta.get_field(name).m2m_field_name()
        target = model._meta.get_field(name).m2m_reverse_field_name()
        for pk, target_pk in through.objects.filter(**{f"{source}__in": pks}).values_list(f"{source}_id",
                                                                                             f"{target}_id"):
            out.setdefault(pk, {}).setdefault(name, set()).add(target_pk)
    return out


def _write_m2m(model, rows, *, creating):
    """Plain many-to-many lists (tags), set-based: the wanted list replaces the stored one."""
    by_field = {}
    for obj, m2m in rows:
        for name, values in (m2m or {}).items():
            by_field.setdefault(name, []).append((obj, values))
    for name, pairs in by_field.items():
        field = model._meta.get_field(name)
        through = field.remote_field.through
        source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
        if not creating:
            through.objects.filter(**{f"{source}__in": [obj.pk for obj, _v in pairs]}).delete()
        through.objects.bulk_create(
            [through(**{f"{source}_id": obj.pk, f"{target}_id": value.pk}) for obj, values in pairs for value in values],
            batch_size=BATCH, ignore_conflicts=True,
        )


def _comms_of(model, pks):
    content_type = ContentType.objects.get_for_model(model)
    out = {}
    for comm in Communication.objects.filter(content_type=content_type, object_id__in=pks).order_by(
            "channel", "-is_primary", "position", "pk"):
        out.setdefault(comm.object_id, []).append(comm)
    return out


def _wanted_channels(entity, given, modes, existing):
    """({channel: [Wanted]}, {channel: [messages]}) of the channels a write names; field rules apply."""
    from access.models import FieldRule

    if given is None or (not given and existing is None):
        return {}, {}
    if not entity.has_channels:
        return {}, {"channels": [_("This kind of record has no phones or emails.")]}
    try:
        by_channel = channel_plans.grouped(given)
    except ValidationError as error:
        return {}, error.message_dict
    wanted, errors = {}, {}
    for channel, items in by_channel.items():
        if channel not in channel_plans.CHANNELS:
            errors[channel] = [_("There is no channel “%(name)s”.") % {"name": channel[:30]}]
            continue
        label = channel_plans.CHANNEL_LABELS[channel]
        mode = modes.get(channel)
        if mode == FieldRule.HIDDEN:
            errors[channel] = [_("You may not change “%(field)s”.") % {"field": label}]
            continue
        try:
            values = channel_plans.parse_wanted(channel, items)
        except ValidationError as error:
            errors[channel] = error.messages
            continue
        if mode == FieldRule.READ_ONLY:
            stored = [(c.normalized, c.kind) for c in (existing or []) if c.channel == channel]
            if stored != [(v.normalized, v.kind) for v in values]:
                errors[channel] = [_("You may not change “%(field)s”.") % {"field": label}]
            continue  # unchanged: nothing to write
        wanted[channel] = values
    return wanted, errors


def _write_channel_plans(plans, *, user, when):
    """Every planned phone/email row change of a batch, with a history row each: a handful of queries."""
    create = [comm for plan in plans for comm in plan.create]
    update = [comm for plan in plans for comm in plan.update]
    delete = [comm for plan in plans for comm in plan.delete]
    if delete:
        history.write_history(Communication, delete, kind="-", user=user, when=when)
        history.delete_rows(Communication, [comm.pk for comm in delete])
    if update:
        Communication.objects.bulk_update(update, ["kind", "value", "normalized", "is_primary", "position"],
                                          batch_size=BATCH)
        history.write_history(Communication, update, kind="~", user=user, when=when)
    if create:
        bulk_sql.insert(Communication, create)
        history.write_history(Communication, create, kind="+", user=user, when=when)


def _resolve_links(user, entity, items, result, *, creating):
    """{input index: {relation name: [(target, extra)]}} for the links given; bad ones become row errors."""
    from .models import Communication  # noqa: F401  (keeps import order simple for callers)

    wanted = {}
    by_model = {}
    for index, links in items:
        if links is None:
            continue
        if isinstance(links, dict):
            links = [dict(link, relation=name) for name, group in links.items() for link in (group or [])] or [
                {"relation": name, "_empty": True} for name in links]
        for link in links:
            try:
                relation = entity.relation(str(link.get("relation", "")))
            except (KeyError, AttributeError):
                result.errors[index] = ValidationError({"links": [_("There is no link “%(name)s”.") % {
                    "name": str(link.get("relation", ""))[:40] if isinstance(link, dict) else ""}]})
                break
            if link.get("_empty"):
                wanted.setdefault(index, {}).setdefault(relation.name, [])
                continue
            try:
                pk = record_input._pk_of(link.get("target"))
            except ValidationError as error:
                result.errors[index] = ValidationError({"links": error.messages})
                break
            by_model.setdefault(relation.target_model, set()).add(pk)
            wanted.setdefault(index, {}).setdefault(relation.name, []).append((relation, pk, link))
    visible = {model: model.objects.visible_to(user, READ).in_bulk(sorted(p for p in pks if p is not None))
               for model, pks in by_model.items()}
    out = {}
    for index, relations in wanted.items():
        if index in result.errors:
            continue
        errors = []
        resolved = {}
        for name, group in relations.items():
            seen = set()
            resolved[name] = []
            for relation, pk, link in group:
                target = visible[relation.target_model].get(pk)
                if target is None:
                    errors.append(_("There is no record with the id %(id)s you can link.") % {"id": pk})
                    continue
                if pk in seen:
                    continue
                seen.add(pk)
                extra = {k: link[k] for k in relation.extra_fields if k in link}
                resolved[name].append((relation, target, extra))
        if errors:
            result.errors[index] = ValidationError({"links": errors})
        else:
            out[index] = resolved
    return out


def _write_links(user, entity, written, link_plans, *, creating, when):
    """Links of a batch (a contact's companies with the position, a deal's contacts): created, changed or removed
    in sets with history; one primary link per scope (`Relation.primary_per`)."""
    by_relation = {}
    for w in written:
        for name, links in (link_plans.get(w.obj.pk) or {}).items():
            by_relation.setdefault(name, []).append((w, links))
    for name, rows in by_relation.items():
        relation = entity.relation(name)
        through = relation.through_model
        from_id, to_id = f"{relation.from_field}_id", f"{relation.to_field}_id"
        existing = {}
        if not creating:
            visible_targets = relation.target_model.objects.visible_to(user, READ).values("pk")
            for link in through.objects.filter(**{f"{relation.from_field}__in": [w.obj.pk for w, _l in rows],
                                                  f"{relation.to_field}__in": visible_targets}):
                existing.setdefault(getattr(link, from_id), {})[getattr(link, to_id)] = link
        create, update, delete = [], [], []
        for w, links in rows:
            mine = existing.get(w.obj.pk, {})
            wanted_ids = set()
            has_primary = any(extra.get("is_primary") for _r, _t, extra in links)
            for position, (_relation, target, extra) in enumerate(links):
                wanted_ids.add(target.pk)
                if creating and "is_primary" in relation.extra_fields and relation.primary_per == relation.from_field \
                        and not has_primary:
                    extra = {**extra, "is_primary": position == 0}
                link = mine.get(target.pk)
                if link is None:
                    link = through(**{from_id: w.obj.pk, to_id: target.pk}, **extra)
                    create.append(link)
                    if not creating:
                        w.linked.append((relation, target, events.LINKED))
                elif any(getattr(link, k) != v for k, v in extra.items()):
                    for k, v in extra.items():
                        setattr(link, k, v)
                    update.append(link)
                    w.linked.append((relation, target, events.LINKED))
            for target_pk, link in mine.items():
                if target_pk not in wanted_ids:
                    delete.append(link)
                    w.linked.append((relation, getattr(link, relation.to_field), events.UNLINKED))
        errors = {}
        for link in create + update:
            try:
                link.full_clean(exclude=[relation.from_field, relation.to_field], validate_unique=False,
                                validate_constraints=False)
            except ValidationError as error:
                errors.setdefault("links", []).extend(error.messages)
        if errors:
            raise ValidationError(errors)
        if delete:
            history.write_history(through, delete, kind="-", user=user, when=when)
            history.delete_rows(through, [link.pk for link in delete])
        if update:
            through.objects.bulk_update(update, list(relation.extra_fields), batch_size=BATCH)
            history.write_history(through, update, kind="~", user=user, when=when)
        if create:
            bulk_sql.insert(through, create)
            history.write_history(through, create, kind="+", user=user, when=when)
        _one_primary(user, relation, [link for link in create + update if getattr(link, "is_primary", False)], when)


def _one_primary(user, relation, primaries, when):
    """A link marked primary demotes the other primary links in its scope (a contact's one primary company)."""
    if not primaries or "is_primary" not in relation.extra_fields:
        return
    scope = relation.primary_per or relation.from_field
    through = relation.through_model
    scopes = {getattr(link, f"{scope}_id") for link in primaries}
    keep = {link.pk for link in primaries}
    others = list(through.objects.filter(**{f"{scope}__in": scopes, "is_primary": True}).exclude(pk__in=keep))
    for link in others:
        link.is_primary = False
    if others:
        through.objects.bulk_update(others, ["is_primary"], batch_size=BATCH)
        history.write_history(through, others, kind="~", user=user, when=when)


def _after_save(entity, written, user):
    if entity.after_save and written:
        import_string(entity.after_save)(saved=[(w.obj, w.previous) for w in written], user=user)


def describe(model, w):
    """[{"field", "old", "new"}] of a change, as people read it (choices by label, linked records by name)."""
    from .customfields.services import describe_changes
    from .display import describe_values

    if w.previous is None:
        return []
    names = [name for name in sorted(w.changed) if not model._meta.get_field(name).many_to_many
             and name != "custom_fields"]
    changes = describe_values(model, [(name, getattr(w.previous, model._meta.get_field(name).attname),
                                       getattr(w.obj, model._meta.get_field(name).attname)) for name in names])
    if "custom_fields" in w.changed:
        changes += describe_changes(model.entity().key, w.previous.custom_fields, w.obj.custom_fields)
    return changes


# ---------------------------------------------------------------------------
# Events


def _announce(user, entity, written, *, creating, event_kind, event_data, related):
    """Domain events of a batch, one call per kind: created / changed (with the changes described), the owner's
    and tracked fields' moves, and the links made or removed."""
    if not written:
        return
    objs = [w.obj for w in written]
    if creating:
        events.record_events(event_kind, objs=objs, user=user, data=event_data,
                             per_object={obj.pk: {"related": list(related)} for obj in objs} if related else None)
        return
    if event_kind == events.CHANGED:
        latest = history.versions(entity.model, [obj.pk for obj in objs])
        per_object = {w.obj.pk: {"history_id": latest.get(w.obj.pk), "changes": w.changes,
                                 **({"related": list(related)} if related else {})} for w in written}
        events.record_events(event_kind, objs=objs, user=user, data=event_data, per_object=per_object)
    elif event_kind is not None:
        events.record_events(event_kind, objs=objs, user=user, data=event_data,
                             per_object={obj.pk: {"related": list(related)} for obj in objs} if related else None)
    moved = [w for w in written if "owner" in w.changed]
    if moved:
        events.record_events(events.OWNER_CHANGED, objs=[w.obj for w in moved], user=user,
                             per_object={w.obj.pk: {"old": w.previous.owner_id, "new": w.obj.owner_id} for w in moved})
    for name, kind in entity.tracked_fields.items():
        attname = entity.model._meta.get_field(name).attname
        moved = [w for w in written if name in w.changed]
        if moved:
            events.record_events(kind, objs=[w.obj for w in moved], user=user, per_object={
                w.obj.pk: {"old": getattr(w.previous, attname), "new": getattr(w.obj, attname)} for w in moved})
    for w in written:
        for relation, target, kind in w.linked:
            events.record_event(kind, obj=w.obj, user=user, related=[target], data={"relation": relation.name})
