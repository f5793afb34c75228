"""The permission sweep: every URL of the project, as every role in the database, on records at every level.

The world (tests/sweep_world.py) is built once for the module. For each actor:
- record pages (card, edit, delete, timeline panel, duplicates, lead conversion) answer 200 inside the scope,
  403 where the record is readable but the right is missing, 404 where it is not readable — per level, so own /
  department / subdepartment / open / shared / linked / outside are told apart; in-scope pages must load;
- every writing route on a record the actor may read but not edit or delete (and on one it can't read) is
  refused and changes nothing in the database;
- lists, their htmx partials, autocomplete, the deal board, exports, the bin, activities and duplicate groups
  show no row of a record outside the scope (unique markers), and do show the rows inside it;
- ids of records outside the scope sent in query strings and bodies (merge ids, bin items, bulk delete, link
  targets, export filters, lead conversion picks, notification ids) reach nothing;
- routes whose pk names something else (timeline entries, merges, duplicate groups, scans, bin items);
- the Django admin, through the same scopes.
`test_every_url_is_swept` fails when a URL pattern is added that no group above covers.
"""

import re

import pytest
from django.db import transaction
from django.test import Client

from access.models import Level
from access.scopes import DELETE, EDIT, EXPORT, READ
from crm_site.registry import registry
from tests.factories import edit_data, search_field
from tests.sweep_world import MARK, World, body, expected, may_share, project_patterns, rolled_back, state  # noqa: F401

pytestmark = pytest.mark.django_db
MARKER = re.compile(MARK + r"[a-z]+\d{4}")
REFUSED = (403, 404, 405)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            built = World()
            yield built
            transaction.set_rollback(True)


@pytest.fixture
def clients(world, db, plain_static):
    made = {}
    for actor in world.actors:
        client = Client(headers={"accept-language": "en"})
        client.force_login(actor.user)
        made[actor.label] = client
    return made


def markers(text):
    return set(MARKER.findall(text))


def _status(read, right):
    return 200 if right else (403 if read else 404)


# ---------------------------------------------------------------------------
# Record pages and writes, per level


def posts_change_nothing(client, posts, what):
    """POST each (label, path, data) in one savepoint rolled back afterwards; returns {label: status}. When the
    database changed, each is replayed alone to name the one that wrote."""
    with rolled_back() as check:
        statuses = {label: client.post(path, data).status_code for label, path, data in posts}
        changed = check.done()
    if changed:
        for label, path, data in posts:
            with rolled_back() as alone:
                client.post(path, data)
                assert not alone.done(), f"{what}: POST {label} {path} wrote {alone.changed}"
        pytest.fail(f"{what}: the POSTs together wrote {changed}")
    return statuses


def _write_routes(world, actor, rec):
    """(name, path, data, right) for every writing route about `rec`."""
    prefix, key, obj = rec.entity.url_prefix, rec.entity.key, rec.obj
    own = world.one(key, "own", actor).obj
    data = edit_data(obj)
    data[search_field(key)] = "Overwritten"
    routes = [("edit", f"/{prefix}/{obj.pk}/edit/", data, EDIT),
              ("delete", f"/{prefix}/{obj.pk}/delete/", {}, DELETE),
              ("bulk delete", f"/trash/delete/{key}/", {"ids": [obj.pk], "confirm": "yes"}, DELETE),
              ("note", f"/timeline/{key}/{obj.pk}/add/note/", {"body": "sweep note", "subject": "x"}, EDIT),
              ("merge", f"/duplicates/merge/{key}/", {"ids": f"{own.pk},{obj.pk}", "survivor": own.pk}, DELETE),
              ("merge into", f"/duplicates/merge/{key}/", {"ids": f"{obj.pk},{own.pk}", "survivor": obj.pk}, EDIT),
              ("share", f"/access/share/{key}/{obj.pk}/", {"user": world.outsider.pk, "level": "edit"}, "share"),
              ("revoke", f"/access/share/{key}/{obj.pk}/revoke/{actor.user.pk}/", {}, "share")]
    for relation in rec.entity.relations:
        target = world.one(relation.target_model.entity().key, "own", actor).obj
        routes.append((f"link {relation.name}", f"/{prefix}/{obj.pk}/link/{relation.name}/",
                       {"target": target.pk}, EDIT))
        link = relation.through_model.objects.filter(**{relation.from_field: obj}).first()
        if link is not None:
            routes.append((f"unlink {relation.name}", f"/{prefix}/{obj.pk}/unlink/{relation.name}/{link.pk}/",
                           {}, EDIT))
    if key == "deal":
        from deals.models import Stage

        stage = Stage.objects.filter(pipeline_id=obj.pipeline_id).exclude(pk=obj.stage_id).first()
        routes.append(("move", f"/deals/{obj.pk}/move/", {"stage": stage.pk}, EDIT))
    if key == "lead":
        routes.append(("convert", f"/leads/{obj.pk}/convert/", {"contact_mode": "new", "company_mode": "new"},
                       EDIT))
    return routes


def _allowed(actor, rec, right):
    return may_share(actor, rec) if right == "share" else expected(actor, rec, right)


def test_writes_follow_each_level_and_refusals_change_nothing(world, clients):
    """Edit and delete (the routes a role uses most) on a record of every level; every writing route on one record
    readable but not editable and on one not readable. A refusal is 403 on a readable record, 404 on another,
    and writes nothing."""
    checked = 0
    for actor in world.actors:
        client = clients[actor.label]
        for entity in world.entities_for(actor):
            recs = world.for_actor(actor, entity.key)
            posts, wanted = [], {}
            readable_only = [r for r in recs if expected(actor, r, READ) and not expected(actor, r, EDIT)][:1]
            unreadable = [r for r in recs if not expected(actor, r, READ)][:1]
            for rec in recs:
                full = rec in readable_only or rec in unreadable
                for name, path, data, right in _write_routes(world, actor, rec):
                    if not full and name not in ("edit", "delete", "share"):
                        continue
                    if name.startswith("merge") and rec.kind == "own" and rec.actor is actor:
                        continue  # a record can't be merged with itself
                    if _allowed(actor, rec, right):
                        continue
                    label = f"{name} on {rec}"
                    posts.append((label, path, data))
                    refusal = (403, 405) if expected(actor, rec, READ) else REFUSED
                    # The bulk delete of a readable record says "you may not" on the list it goes back to.
                    wanted[label] = (302, *refusal) if name == "bulk delete" else refusal
            statuses = posts_change_nothing(client, posts, f"{actor} {entity.key}")
            for label, status in statuses.items():
                assert status in wanted[label], f"{actor}: POST {label} answered {status}"
            checked += len(posts)
            # Allowed: the same routes answer (a bogus link target or share level: nothing is written).
            for rec in recs:
                if expected(actor, rec, DELETE):
                    response = client.get(f"/{entity.url_prefix}/{rec.obj.pk}/delete/")
                    assert response.status_code == 200, (actor, rec, "delete page", response.status_code)
                if expected(actor, rec, EDIT) and entity.relations:
                    relation = entity.relations[0]
                    response = client.post(f"/{entity.url_prefix}/{rec.obj.pk}/link/{relation.name}/", {"target": "x"})
                    assert response.status_code == 302, (actor, rec, "link", response.status_code)
                if may_share(actor, rec):
                    response = client.post(f"/access/share/{entity.key}/{rec.obj.pk}/", {"level": "none"})
                    assert response.status_code == 302, (actor, rec, "share", response.status_code)
    assert checked > 150


def test_record_pages_load_in_scope_and_answer_404_outside(world, clients):
    """Cards, edit pages and the card's htmx partials: each actor opens one record of a different level and
    entity in turn (in-scope pages must load), and every record it can't read answers 404."""
    entities = list(registry)
    for index, actor in enumerate(world.actors):
        client = clients[actor.label]
        readable = [r for r in world.for_actor(actor) if expected(actor, r, READ)]
        for turn in range(2):
            rec = readable[(index * 3 + turn * 7) % len(readable)]
            key, pk, prefix = rec.entity.key, rec.obj.pk, rec.entity.url_prefix
            response = client.get(f"/{prefix}/{pk}/")
            assert response.status_code == 200 and rec.marker in body(response), (actor, rec, "card")
            for path in (f"/timeline/{key}/{pk}/", f"/duplicates/record/{key}/{pk}/"):
                assert client.get(path, headers={"HX-Request": "true"}).status_code == 200, (actor, rec, path)
            editable = [r for r in readable if expected(actor, r, EDIT) and r.entity is entities[index % len(entities)]]
            if editable and turn == 0:
                rec = editable[0]
                response = client.get(f"/{rec.entity.url_prefix}/{rec.obj.pk}/edit/")
                assert response.status_code == 200, (actor, rec, "edit page")
                response = client.get(f"/timeline/{rec.entity.key}/{rec.obj.pk}/add/note/", headers={"HX-Request": "true"})
                assert response.status_code == 200, (actor, rec, "note form")
        mine = world.entities_for(actor)
        for number, rec in enumerate([r for r in world.for_actor(actor) if not expected(actor, r, READ)
                                      and r.entity in mine]):
            key, pk, prefix = rec.entity.key, rec.obj.pk, rec.entity.url_prefix
            paths = [f"/{prefix}/{pk}/edit/", f"/{prefix}/{pk}/delete/", f"/timeline/{key}/{pk}/",
                     f"/timeline/{key}/{pk}/add/note/", f"/duplicates/record/{key}/{pk}/"]
            if key == "lead":
                paths.append(f"/leads/{pk}/convert/")
            # The card for every record; the other record pages in turn (the same check decides them all).
            for path in [f"/{prefix}/{pk}/", paths[number % len(paths)]]:
                assert client.get(path).status_code == 404, (actor, rec, path)
    lead = world.one("lead", "own", world.actors[-1])
    assert clients[world.actors[-1].label].get(f"/leads/{lead.obj.pk}/convert/").status_code == 200


# ---------------------------------------------------------------------------
# Lists, searches, partials, exports: no row of a record out of scope


def test_lists_searches_and_exports_show_only_rows_in_scope(world, clients):
    for index, actor in enumerate(world.actors):
        client = clients[actor.label]
        for number, entity in enumerate(registry):
            prefix = entity.url_prefix
            recs = [r for r in world.records if r.entity is entity]
            readable = {r.marker for r in recs if expected(actor, r, READ)}
            exportable = {r.marker for r in recs if expected(actor, r, READ) and expected(actor, r, EXPORT)}
            # Rows name linked records of other entities (a contact's company): those must be readable too.
            others = {r.marker for r in world.records if r.entity is not entity and expected(actor, r, READ)}
            pages = [(f"/{prefix}/", {"HX-Request": "true", "HX-Target": "list-results"}, readable, True),
                     (f"/{prefix}/autocomplete/", {}, readable, False),
                     (f"/{prefix}/autocomplete/", {"HX-Request": "true"}, readable, False)]
            if number == index % len(list(registry)):
                pages.append((f"/{prefix}/", {}, readable, True))  # the whole page, one entity per actor
            if entity.key == "deal":
                pages.append(("/deals/board/", {}, readable, False))
            if actor.level(entity.key, EXPORT) > Level.NONE:
                pages.append((f"/{prefix}/export/", {}, exportable, True))
            for path, headers, allowed, complete in pages:
                response = client.get(path, {"q": MARK}, headers=headers)
                assert response.status_code == 200, (actor, path, headers, response.status_code)
                found = markers(body(response))
                assert found <= allowed | others, f"{actor}: {path} {headers} shows {sorted(found - allowed - others)}"
                found -= others
                if complete:  # the whole scope fits on one page: in-scope rows must be there
                    assert allowed <= found, f"{actor}: {path} {headers} misses {sorted(allowed - found)}"
            # A search aimed at one hidden record: by a prefix of its marker and by its phone.
            for rec in [r for r in recs if not expected(actor, r, READ)][:1]:
                queries = [rec.search]
                phone = rec.obj.communications.filter(channel="phone").first() if entity.has_channels else None
                if phone is not None:
                    queries.append(phone.value)
                for q in queries:
                    for path in (f"/{prefix}/autocomplete/", f"/{prefix}/export/"):
                        assert rec.marker not in body(client.get(path, {"q": q})), (actor, path, q)
                if entity.key == "deal":
                    assert rec.marker not in body(client.get("/deals/board/", {"q": rec.search})), (actor, "board")


def test_global_pages_show_only_what_is_in_scope(world, clients):
    for index, actor in enumerate(world.actors):
        client = clients[actor.label]
        readable = {r.marker for r in world.records if expected(actor, r, READ)}
        for path in ["/", "/timeline/activities/?scope=all", "/timeline/notifications/", "/timeline/counters/"]:
            response = client.get(path)
            assert response.status_code == 200, (actor, path)
            assert markers(body(response)) <= readable, (actor, path)
        entity = list(registry)[index % len(list(registry))]
        response = client.get("/duplicates/", {"entity": entity.key})
        assert response.status_code in (200, 404), (actor, entity.key)
        assert markers(body(response)) <= readable, (actor, "duplicates", entity.key)
        in_bin = {r.marker for r in world.binned if expected(actor, r, DELETE)}
        response = client.get("/trash/")
        assert response.status_code == 200
        found = markers(body(response))
        assert found <= in_bin, f"{actor}: the bin shows {sorted(found - in_bin)}"
        if len(in_bin) <= 20:  # one page of the bin
            assert in_bin <= found, f"{actor}: the bin misses {sorted(in_bin - found)}"


# ---------------------------------------------------------------------------
# Out-of-scope ids in query strings and bodies


def test_out_of_scope_ids_in_parameters_reach_nothing(world, clients):
    checked = 0
    for actor in world.actors:
        client = clients[actor.label]
        posts = []
        for entity in registry:
            key, prefix = entity.key, entity.url_prefix
            own = world.one(key, "own", actor).obj
            hidden = [r for r in world.for_actor(actor, key) if not expected(actor, r, READ)]
            if hidden:
                pks = [r.obj.pk for r in hidden]
                assert client.get(f"/duplicates/merge/{key}/", {"ids": f"{own.pk},{pks[0]}"}).status_code == 404
                posts += [(f"merge {key}", f"/duplicates/merge/{key}/", {"ids": f"{own.pk},{pks[0]}",
                                                                          "survivor": own.pk}),
                          (f"bulk delete {key}", f"/trash/delete/{key}/", {"ids": pks, "confirm": "yes"})]
                # Export and list filters naming a hidden record's owner: still only rows in scope.
                owner = hidden[-1].obj.owner_id
                if actor.level(key, EXPORT) > Level.NONE:
                    found = markers(body(client.get(f"/{prefix}/export/", {"owner": owner})))
                    assert not found & {r.marker for r in hidden}, (actor, "export filter", key)
                if key in ("contact", "company"):
                    lead = world.one("lead", "own", actor).obj
                    response = client.get(f"/leads/{lead.pk}/convert/", {key: pks[0]})
                    assert hidden[0].marker not in body(response), (actor, "conversion pick", key)
            for relation in entity.relations:
                target_entity = relation.target_model.entity()
                out = [r for r in world.for_actor(actor, target_entity.key) if not expected(actor, r, READ)]
                if out:
                    posts.append((f"link {key} {relation.name}", f"/{prefix}/{own.pk}/link/{relation.name}/",
                                  {"target": out[0].obj.pk}))
        tokens = [f"{r.entity.key}:{r.obj.pk}" for r in world.binned if not expected(actor, r, DELETE)]
        for token in tokens[:4]:
            posts += [(f"restore {token}", "/trash/restore/", {"items": [token]}),
                      (f"purge {token}", "/trash/purge/", {"items": [token], "confirm": "yes"}),
                      (f"purge page {token}", "/trash/purge/", {"items": [token]})]
        statuses = posts_change_nothing(client, posts, str(actor))
        for label, status in statuses.items():
            want = (302, *REFUSED) if label.startswith(("bulk", "link")) else REFUSED
            assert status in want, f"{actor}: {label} answered {status}"
        checked += len(posts)
    # Someone else's notification can't be marked read.
    from timeline.models import Notification

    note = Notification.objects.create(user=world.outsider, text="not yours")
    for actor in world.actors:
        clients[actor.label].post("/timeline/notifications/", {"id": [note.pk]})
    note.refresh_from_db()
    assert note.read_at is None
    assert checked > 60


# ---------------------------------------------------------------------------
# Routes whose pk names something other than a record


def test_routes_whose_pk_names_something_else(world, clients):
    from dedup.services import can_scan

    for actor in world.actors:
        client = clients[actor.label]
        posts, wanted = [], {}
        mine = world.entities_for(actor)
        for entry, rec in world.entries:
            if rec.entity not in mine:
                continue
            read = expected(actor, rec, READ) or entry.author_id == actor.user.pk
            author = entry.author_id == actor.user.pk or actor.user.is_superuser
            if rec.kind == "own" and rec.actor is not actor:
                continue
            response = client.get(f"/timeline/entry/{entry.pk}/edit/")
            assert response.status_code == _status(read, author), (actor, "entry edit", rec, response.status_code)
            if not author:
                for name in ("delete", "complete", "edit"):
                    label = f"entry {name} of {rec}"
                    posts.append((label, f"/timeline/entry/{entry.pk}/{name}/", {"state": "done", "subject": "x"}))
                    wanted[label] = REFUSED
        rotate = list(registry)[world.actors.index(actor) % len(list(registry))]
        for rec in world.binned:
            if rec.kind == "own" and rec.actor is not actor:
                continue
            right = expected(actor, rec, DELETE)
            if right and rec.entity is not rotate:
                continue  # an item page that loads: one entity per actor
            response = client.get(f"/trash/{rec.entity.key}/{rec.obj.pk}/")
            assert response.status_code == (200 if right else 404), (actor, "bin item", rec, response.status_code)
        for merge, rec in world.merges:
            if not (expected(actor, rec, EDIT) and expected(actor, rec, DELETE)):
                label = f"undo merge {merge.pk} of {rec}"
                posts.append((label, f"/duplicates/merges/{merge.pk}/undo/", {}))
                wanted[label] = REFUSED
        for group, a, b in world.groups:
            both_read = expected(actor, a, READ) and expected(actor, b, READ)
            for name, needs in (("not-duplicate", (EDIT,)), ("merge", (EDIT, DELETE))):
                if not all(expected(actor, r, n) for r in (a, b) for n in needs):
                    label = f"{name} group {group.pk} ({a.kind}, {b.kind})"
                    posts.append((label, f"/duplicates/groups/{group.pk}/{name}/", {}))
                    wanted[label] = (302, *REFUSED) if both_read else REFUSED
        for scan in world.scans:
            allowed = can_scan(actor.user, scan.entity)
            response = client.get(f"/duplicates/scans/{scan.pk}/", headers={"HX-Request": "true"})
            assert response.status_code == (200 if allowed else 404), (actor, scan.entity)
            if not allowed:
                label = f"scan {scan.entity}"
                posts.append((label, f"/duplicates/scan/{scan.entity}/", {}))
                wanted[label] = (403,)
        for label, status in posts_change_nothing(client, posts, str(actor)).items():
            assert status in wanted[label], f"{actor}: {label} answered {status}"


# ---------------------------------------------------------------------------
# The Django admin: the same scopes


def test_admin_follows_the_same_scopes(world, clients):
    for actor in world.actors:
        client = clients[actor.label]
        posts, wanted = [], {}
        for entity in registry:
            if entity not in world.entities_for(actor):
                continue
            meta = entity.model._meta
            base = f"/admin/{meta.app_label}/{meta.model_name}/"
            recs = [r for r in world.records if r.entity is entity]
            readable = {r.marker for r in recs if expected(actor, r, READ)}
            if entity is world.entities_for(actor)[0]:  # the changelist: one entity per actor
                response = client.get(base, {"q": MARK})
                assert response.status_code == 200, (actor, base)
                assert markers(body(response)) <= readable, (actor, "admin list", entity.key)
                rec = next(r for r in world.for_actor(actor, entity.key) if expected(actor, r, READ))
                assert client.get(f"{base}{rec.obj.pk}/change/").status_code == 200, (actor, "admin change", rec)
            for rec in world.for_actor(actor, entity.key):
                read, edit, delete = (expected(actor, rec, a) for a in (READ, EDIT, DELETE))
                if not read:
                    assert client.get(f"{base}{rec.obj.pk}/change/").status_code == 302, (actor, "admin", rec)
                if read and not edit:
                    label = f"admin save {rec}"
                    posts.append((label, f"{base}{rec.obj.pk}/change/", {search_field(entity.key): "Over"}))
                    wanted[label] = (403,)
                if not delete:
                    label = f"admin delete {rec}"
                    posts.append((label, f"{base}{rec.obj.pk}/delete/", {"post": "yes"}))
                    wanted[label] = (302, 403)
        for label, status in posts_change_nothing(client, posts, str(actor)).items():
            assert status in wanted[label], f"{actor}: {label} answered {status}"
    outsider = Client()
    outsider.force_login(world.outsider)  # not staff
    assert outsider.get("/admin/contacts/contact/").status_code == 302


# ---------------------------------------------------------------------------
# Objects that belong to one user (import batches, tokens, webhooks, background exports and bulk jobs, private
# segments, sessions) and files of records: another user's answer 404 and write nothing


def _owned_by(user, record):
    """{route name: (path, post data)} for objects of `user`, each about `record` where it can be."""
    from crm_site.customfields.models import CustomField, ExportJob
    from crm_site.lists.models import BulkJob, Segment
    from crm_site.webhooks.models import Delivery, Endpoint
    from dedup.importing.models import ImportBatch, ImportRow
    from tests.api_helpers import make_token

    key = record.entity().key
    batch = ImportBatch.objects.create(entity=key, created_by=user, file_name="sweep.csv",
                                       status=ImportBatch.Status.READY, total=1, counts={"merge": 1})
    ImportRow.objects.create(batch=batch, number=2, outcome=ImportRow.Outcome.MERGE, target_id=record.pk,
                             diff=[{"field": "comment", "old": "", "new": "sweep", "action": "fill"}],
                             plan={"data": {"comment": "sweep"}})
    token, _raw = make_token(user, {"*": ["read"]})
    endpoint = Endpoint.objects.create(owner=user, name="Sweep hook", url="https://example.org/",
                                       events=[f"{key}.created"])
    delivery = Delivery.objects.create(endpoint=endpoint, event=f"{key}.created", object_id=record.pk, payload={},
                                       state=Delivery.FAILED)
    job = ExportJob.objects.create(user=user, entity=key, file_format="csv", status=ExportJob.DONE,
                                   file="exports/sweep.csv", filename="sweep.csv")
    bulk = BulkJob.objects.create(user=user, entity_key=key, action="delete", ids=[record.pk])
    segment = Segment.objects.create(name="Sweep private", entity_key=key, owner=user, params="q=x")
    field = CustomField.objects.create(entity=key, code="sweep_file", label="File", type="file")
    routes = {name: (f"/import/batch/{batch.pk}/{tail}", {}) for name, tail in (
        ("import_batch", ""), ("import_map", "columns/"), ("import_options", "duplicates/"),
        ("import_progress", "progress/"), ("import_apply", "apply/"), ("import_cancel", "cancel/"),
        ("import_undo", "undo/"), ("import_report", "report.csv"))}
    routes.update({
        "api_token_revoke": (f"/api/tokens/{token.pk}/revoke/", {}),
        "webhook_detail": (f"/webhooks/{endpoint.pk}/", {"name": "Taken", "url": "https://example.org/x"}),
        "webhook_delete": (f"/webhooks/{endpoint.pk}/delete/", {}),
        "webhook_redeliver": (f"/webhooks/deliveries/{delivery.pk}/redeliver/", {}),
        "export_status": (f"/fields/exports/{job.pk}/", {}),
        "export_download": (f"/fields/exports/{job.pk}/download/", {}),
        "lists_job": (f"/lists/jobs/{bulk.pk}/", {}),
        "lists_segment_delete": (f"/lists/{key}/segments/{segment.pk}/delete/", {}),
        "lists_segment_count": (f"/lists/{key}/segments/{segment.pk}/count/", {}),
        "customfield_file": (f"/fields/files/{field.pk}/{record.pk}/", {}),
    })
    return routes


def test_someone_elses_objects_stay_theirs(world, clients):
    outside = next(r for r in world.records if r.kind == "outside" and r.entity.key == "contact")
    routes = _owned_by(world.outsider, outside.obj)
    assert set(routes) == OWNED_ROUTES
    for actor in world.actors:
        if actor.user.is_superuser:
            continue
        client = clients[actor.label]
        for name, (path, _data) in routes.items():
            status = client.get(path).status_code
            assert status in REFUSED, f"{actor}: GET {name} {path} answered {status}"
        posts = [(name, path, data) for name, (path, data) in routes.items()]
        for name, status in posts_change_nothing(client, posts, str(actor)).items():
            # deleting someone else's segment goes back to the list, deleting nothing
            want = (302, *REFUSED) if name == "lists_segment_delete" else REFUSED
            assert status in want, f"{actor}: POST {name} answered {status}"
    # Another user's session can't be ended: its public id is not in the actor's list, and ending it is a 404.
    from access.sessions.models import UserSession

    other = Client()
    other.force_login(world.outsider)
    other.get("/")
    session = UserSession.objects.filter(user=world.outsider).first()
    actor = world.actors[0]
    response = clients[actor.label].post(f"/accounts/sessions/{session.public_id}/end/")
    assert response.status_code == 404
    assert UserSession.objects.filter(pk=session.pk).exists()


def test_import_screens_follow_the_import_right(world, clients):
    """The upload opens only for roles with an import right on the entity; bulk actions on records out of
    scope change nothing."""
    from access.scopes import IMPORT

    for actor in world.actors:
        client = clients[actor.label]
        for entity in world.entities_for(actor):
            status = client.get(f"/import/{entity.key}/").status_code
            allowed = actor.user.is_superuser or actor.level(entity.key, IMPORT) > Level.NONE
            assert status == (200 if allowed else 403), (actor, "import upload", entity.key, status)
            hidden = [r.obj.pk for r in world.for_actor(actor, entity.key) if not expected(actor, r, EDIT)]
            if hidden:
                posts = [(f"bulk tag {entity.key}", f"/lists/{entity.key}/bulk/",
                          {"action": "delete", "ids": hidden, "confirm": "yes"})]
                posts_change_nothing(client, posts, str(actor))


# ---------------------------------------------------------------------------
# Coverage: a url no group above sweeps fails here

ENTITY_ROUTES = {"list", "add", "export", "autocomplete", "detail", "edit", "delete", "link", "unlink"}
SWEPT = {
    "home", "timeline_activities", "timeline_notifications", "timeline_counters", "timeline_edit", "timeline_delete",
    "timeline_complete", "timeline_panel", "timeline_add", "dedup_groups", "dedup_record", "dedup_merge",
    "dedup_merge_undo", "dedup_scan", "dedup_scan_status", "dedup_not_duplicate", "dedup_merge_auto", "trash_list",
    "trash_restore", "trash_purge", "trash_bulk_delete", "trash_item", "access_share", "access_revoke",
    "lead_convert", "deal_board", "deal_move",
    "import_upload", "lists_bulk",
    # In the hostile-input sweep only (nothing about records; or forms about the user themself):
    "dedup_check", "healthz", "login", "logout", "password_change", "password_change_done", "set_language",
    "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete", "twofactor",
    "twofactor_verify", "twofactor_enrol", "twofactor_recovery_codes", "twofactor_disable", "session_list",
    "sessions_end_others", "session_end", "lists_columns", "lists_segment_create", "api_tokens", "webhook_list",
    "api_docs", "api_schema",
}
OWNED_ROUTES = {
    "import_batch", "import_map", "import_options", "import_progress", "import_apply", "import_cancel",
    "import_undo", "import_report", "api_token_revoke", "webhook_detail", "webhook_delete", "webhook_redeliver",
    "export_status", "export_download", "lists_job", "lists_segment_delete", "lists_segment_count",
    "customfield_file",
}
# The REST API sweeps itself (tests/test_api.py: every entity's routes x roles x in / out of scope, forbidden
# writes writing nothing; the bin and the timeline through the same viewsets).
# The webhook endpoints' API: tests/test_webhooks.py (own endpoints only, another's a 404, the API right to make
# one, the token's "webhooks" scope).
API_ROUTES = {"api_bin", "api_bin_restore", "api_webhooks", "api_webhook_detail", "api_webhook_deliveries"}
# Figures, not rows: tests/test_reports.py checks their scope (another department's deals never count) and that
# each figure's link opens a list with the same count.
REPORT_ROUTES = {"reports_activities", "reports_export"}
API_ENTITY_ROUTES = {"api_bulk", "api_detail", "api_list", "api_timeline"}


def test_every_url_is_swept():
    names = {p.name for _route, p in project_patterns()}
    entity_names = {f"{e.key}_{suffix}" for e in registry for suffix in ENTITY_ROUTES}
    entity_names |= {f"{e.key}_{suffix}" for e in registry for suffix in API_ENTITY_ROUTES}
    missing = names - SWEPT - OWNED_ROUTES - API_ROUTES - REPORT_ROUTES - entity_names
    assert not missing, f"teach the sweep these urls: {sorted(missing)}"
