"""The permission sweep: every URL of the project, as every seeded role, on records inside and outside its scope.

The URLs come from the resolver and the records from the registry, so screens and entities added later are
covered without editing this file. A URL parameter the sweep cannot fill fails the test, unless the URL is in
SKIP with a reason. For each role and URL it asserts:
- GET: no name, phone or email of a record outside the role's read scope appears in the page;
  a URL about such a record answers 404 (or 403 / 405 / a redirect);
- POST: a URL about a record outside the scope answers 404/403/405 and changes nothing in the database;
  any POST answered with an error status changed nothing either.
"""

import hashlib

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.html import escape

from access.scopes import READ
from crm_site.registry import registry
from tests.factories import assign_role, edit_data, make_department, make_record, make_user, search_field

pytestmark = pytest.mark.django_db

SKIP_PREFIXES = ("admin/", "static/", "media/", "i18n/", "jsi18n/")
# URLs not to POST to, with the reason (they are still fetched with GET).
NO_POST = {
    "logout": "logs the sweeping user out; nothing about records",
    "login": "authentication form; nothing about records",
    "password_change": "changes the sweeper's own password only",
}
# URLs the sweep cannot fill; each needs a reason. Empty on purpose: add one only with a comment.
SKIP = {}

ROLES = ["Administrator", "Head of sales", "Sales manager", "Marketer", "Read-only auditor", None]  # None: default


def walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def project_urls():
    urls = []
    for route, pattern in walk(get_resolver().url_patterns):
        if route.lstrip("^").startswith(SKIP_PREFIXES) or pattern.name in SKIP:
            continue
        urls.append((route, pattern))
    return urls


def entity_of(pattern, params):
    key = pattern.default_args.get("entity") or params.get("entity")
    if key:
        return registry[key]
    name = pattern.name or ""
    for entity in registry:
        if name.startswith(entity.key + "_"):
            return entity
    return None


# URLs whose `pk` names something other than a record (a timeline entry, a merge, a duplicate group, a binned
# record...): how to make one that belongs to a sweep record, and the record whose scope decides the answer.
# A new app with such URLs adds its maker here; until then the sweep fails on it ("no values to fill").


def _set_up_admin():
    """Who makes the set-up's merges and deletions: the sweeping role itself may not be allowed to."""
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.filter(username="sweep-admin").first()
    return admin or make_user("sweep-admin", superuser=True, department=None)


def _entry_for(entity, record):
    from django.contrib.contenttypes.models import ContentType

    from timeline.models import Entry, EntryLink, Kind

    entry = Entry.objects.create(kind=Kind.TASK, author=record.owner, responsible=record.owner,
                                 subject=f"Task about {record}", state="planned")
    EntryLink.objects.create(entry=entry, content_type=ContentType.objects.get_for_model(record),
                             object_id=record.pk)
    return {"pk": entry.pk}, record


def _binned_twin(entity, record):
    from crm_site.services import record_delete

    twin = make_record(entity.key, record.owner)
    record_delete(user=_set_up_admin(), obj=twin)
    return {"entity": entity.key, "pk": twin.pk}, record


def _merge_for(entity, record):
    from dedup.services import records_merge

    twin = make_record(entity.key, record.owner)
    merge = records_merge(user=_set_up_admin(), survivor=record, others=[twin])
    return {"pk": merge.pk}, record


def _group_for(entity, record):
    from dedup.models import DuplicateGroup, ScanRun

    twin = make_record(entity.key, record.owner)
    scan = ScanRun.objects.create(entity=entity.key, started_by=record.owner)
    group = DuplicateGroup.objects.create(scan=scan, entity=entity.key, object_ids=[record.pk, twin.pk], score=99)
    return {"pk": group.pk}, record


def _scan_for(entity, record):
    from dedup.models import ScanRun

    return {"pk": ScanRun.objects.create(entity=entity.key, started_by=record.owner).pk}, None  # no record data


OBJECT_PARAMS = {
    "timeline_edit": _entry_for,
    "timeline_delete": _entry_for,
    "timeline_complete": _entry_for,
    "trash_item": _binned_twin,
    "dedup_merge_undo": _merge_for,
    "dedup_not_duplicate": _group_for,
    "dedup_merge_auto": _group_for,
    "dedup_scan_status": _scan_for,
}
FIXED_PARAMS = {"kind": "note", "table": "won"}  # the timeline's "add a <kind>" urls; a report table (reports)


def fill(route, pattern, record_for):
    """[(path, record or None)] for a pattern: each parameter filled from the records of the sweep."""
    converters = pattern.pattern.converters
    names = list(converters)
    if not names:
        return [(_render(route, {}), None)]
    if set(names) <= set(FIXED_PARAMS):  # a url that names no record (a report table)
        return [(_render(route, FIXED_PARAMS), None)]
    results = []
    if pattern.name in OBJECT_PARAMS:
        for entity in registry:
            for record in record_for(entity):
                params, scope = OBJECT_PARAMS[pattern.name](entity, record)
                results.append((_render(route, params), scope))
        return results
    for entity in registry:
        if "entity" in names:
            params = {"entity": entity.key}
        elif entity_of(pattern, {}) is entity:
            params = {}
        else:
            continue
        for record in record_for(entity):
            values = dict(params)
            values.update({name: value for name, value in FIXED_PARAMS.items() if name in names})
            unknown = [n for n in names if n not in ("entity", "pk", "relation", "link_id", "user_id", *FIXED_PARAMS)]
            assert not unknown, f"the sweep cannot fill {unknown} of {route!r} ({pattern.name}): teach it or SKIP"
            if "pk" in names:
                values["pk"] = record.pk
            if "user_id" in names:
                values["user_id"] = record.owner_id
            if "relation" in names:
                if not entity.relations:  # an entity without relations: the url must answer 404
                    results.append((_render(route, dict(values, relation="none", link_id=1)), record))
                for relation in entity.relations:
                    link = relation.through_model.objects.filter(**{relation.from_field: record}).first()
                    one = dict(values, relation=relation.name)
                    if "link_id" in names:
                        if link is None:  # an earlier POST removed it (e.g. unlinking from the other side)
                            target = next(r for r in record_for(relation.target_model.entity())
                                          if r.owner_id == record.owner_id)
                            link = relation.through_model.objects.create(
                                **{relation.from_field: record, relation.to_field: target})
                        one["link_id"] = link.pk
                    results.append((_render(route, one), record))
                continue
            # A url that names no record (`check/<entity>/`) is about none: scope can't decide its answer.
            path = _render(route, values)
            if "pk" in names:
                results.append((path, record))
            elif (path, None) not in results:
                results.append((path, None))
    assert results or pattern.name in SKIP, f"no values to fill {route!r} ({pattern.name})"
    return results


def _render(route, values):
    import re

    def sub(match):
        return str(values[match.group(2)])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", sub, route)


def snapshot():
    """A digest of every row of every model of the project's own apps (records, links, grants, history...)."""
    digest = hashlib.sha256()
    for model in apps.get_models():
        if model._meta.app_label in ("sessions", "admin", "contenttypes") or model._meta.label == "access.AuditLog":
            continue
        manager = model._base_manager
        for row in manager.order_by("pk").values_list():
            digest.update(repr(row).encode())
    return digest.hexdigest()


def secrets_of(obj):
    texts = [str(obj)]
    if type(obj).entity().has_channels:
        for comm in obj.communications.all():
            texts += [comm.value, comm.display]
    return [t for t in texts if t]


@pytest.fixture
def world(db):
    """Two departments: the sweeper's and an outsider's; records in both, linked and shared within each."""
    home = make_department("Home team")
    away = make_department("Away team")
    outsider = make_user("outsider", department=away)
    buddy = make_user("buddy", department=home)
    return {"home": home, "away": away, "outsider": outsider, "buddy": buddy}


def make_records(owner, marker):
    records = {}
    for entity in registry:
        fields = {search_field(entity.key): f"{marker}{entity.key.capitalize()}"}
        if entity.has_channels:
            digits = abs(hash((marker, entity.key))) % 10_000_000
            fields["phones"] = [f"+7 495 {digits:07d}"[:16]]
            fields["emails"] = [f"{marker.lower()}.{entity.key}@example.org"]
        records[entity.key] = make_record(entity.key, owner, **fields)
    for entity in registry:  # one link per relation, within the same owner's records
        obj = records[entity.key]
        for relation in entity.relations:
            target = records[relation.target_model.entity().key]
            lookup = {relation.from_field: obj, relation.to_field: target}
            if not relation.through_model.objects.filter(**lookup).exists():
                relation.through_model.objects.create(**lookup)
    return records


def post_payload(obj, stranger):
    data = {"target": "", "stage": "", "user": stranger.pk, "level": "edit", "q": ""}
    if obj is not None:
        data.update(edit_data(obj))
        data[search_field(type(obj).entity().key)] = "Overwritten"
    return data


@pytest.mark.parametrize("role", ROLES)
def test_permission_sweep(role, world, plain_static):
    me = make_user(f"sweeper{ROLES.index(role)}", department=world["home"])
    if role:
        assign_role(role, user=me)
    mine = make_records(me, "Mine")
    theirs = make_records(world["outsider"], "Zzouter")
    visible = {key: set(registry[key].model.objects.visible_to(me, READ).values_list("pk", flat=True))
               for key in registry.keys()}
    hidden = [obj for obj in theirs.values() if obj.pk not in visible[type(obj).entity().key]]
    secrets = [text for obj in hidden for text in secrets_of(obj)]
    client = Client(headers={"accept-language": "en"})
    client.force_login(me)

    def record_for(entity):
        return [mine[entity.key], theirs[entity.key]]

    def in_scope(record):
        return record is None or record.pk in visible[type(record).entity().key]

    checked = 0
    for route, pattern in project_urls():
        for path, record in fill(route, pattern, record_for):
            queries = [{}]
            if record is None:  # lists, search, autocomplete, boards: look for the outsiders by phone and name
                queries += [{"q": text} for obj in theirs.values() for text in secrets_of(obj)[:2]]
            for query in queries:
                response = client.get(path, query)
                assert response.status_code < 500, (path, query, response.status_code)
                content = b"".join(response.streaming_content) if response.streaming else response.content
                body = content.decode(errors="replace")  # streamed: exports
                for echoed in query.values():  # the search box repeats the query itself
                    body = body.replace(escape(echoed), "").replace(echoed, "")
                leaked = [text for text in secrets if text in body]
                assert not leaked, f"{role}: GET {path} {query} shows {leaked}"
                if not in_scope(record):
                    assert response.status_code in (302, 403, 404, 405), (role, path, response.status_code)
            if pattern.name in NO_POST:
                continue
            before = snapshot()
            response = client.post(path, post_payload(record, world["buddy"]))
            assert response.status_code < 500, (path, response.status_code)
            if not in_scope(record):
                assert response.status_code in (403, 404, 405), (role, "POST", path, response.status_code)
            if response.status_code >= 400:
                assert snapshot() == before, f"{role}: POST {path} answered {response.status_code} but wrote"
            checked += 1
            client.force_login(me)  # a successful POST may have moved things; stay logged in
    assert checked > 20


def test_sweep_fails_loudly_on_a_parameter_it_cannot_fill():
    from django.urls import path

    pattern = path("things/<int:thing_id>/", lambda request: None, name="thing_detail")
    with pytest.raises(AssertionError, match="cannot fill|no values"):
        fill(str(pattern.pattern), pattern, lambda entity: [])


def test_every_model_is_in_the_snapshot():
    assert any(m is registry["contact"].model for m in apps.get_models())
    assert issubclass(registry["contact"].model, models.Model)
