"""The hostile-input sweep: every URL pattern of the project (GET and POST) and every form, with bad values — NUL,
C0 control characters, 100k-character strings, huge and negative numbers, invalid dates, wrong types. No answer
is a 500, and a refused request (4xx) writes nothing.

One small world for the module (a superuser's records of every entity, a link, a binned record, a timeline
task, a merge, a duplicate group and a scan). Each request sets every parameter it could read to the same bad
value at once: a form validates each field on its own, so one request per value reaches every field.
"""

import re

import pytest
from django.db import connection, transaction
from django.test import Client

from crm_site.registry import registry
from tests.factories import edit_data, make_record, make_user, post_data
from tests.sweep_world import body, project_patterns, rolled_back

pytestmark = pytest.mark.django_db

BAD = ["\x00", "a\x01b\x1f", "x" * 100_000, "9" * 25, "-1", "-" + "9" * 25, "2024-13-45", "[]", "true", "1e309",
       "0", " "]
# Everything a view or a filter might read from a query string.
PARAMS = ["q", "page", "per_page", "sort", "ids", "tags", "pipeline", "format", "entity", "exclude", "survivor",
          "kind", "related", "tl_kind", "tl_related", "scope", "owner", "type", "source", "stage", "opened",
          "currency", "contact", "company", "next", "use", "tl_page", "status", "industry", "department", "version"]
# Everything a writing view might read from a body, besides the entity forms' own fields.
BODY = ["ids", "items", "id", "survivor", "confirm", "target", "stage", "user", "level", "restore_related", "state",
        "subject", "body", "deadline", "start", "duration", "responsible", "contact_mode", "company_mode",
        "next", "position", "is_primary", "old_password", "new_password1", "new_password2", "username", "password",
        "language", "field:owner", "field:last_name"]
SWEPT_ENTITIES = ("contact", "deal")
CONTROL = ["\x00", "a\x01b\x1f"]
NO_POST = {"logout", "login", "password_change", "set_language"}  # they act on the session itself


@pytest.fixture(scope="module")
def hostile(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield _world()
            transaction.set_rollback(True)


def _world():
    from django.contrib.contenttypes.models import ContentType

    from crm_site.services import record_delete
    from dedup.models import DuplicateGroup, ScanRun
    from dedup.services import records_merge
    from timeline.models import Entry, EntryLink, Kind

    root = make_user("hostile-root", superuser=True, department=None)
    records = {e.key: make_record(e.key, root) for e in registry}
    for entity in registry:
        for relation in entity.relations:
            relation.through_model.objects.get_or_create(**{
                relation.from_field: records[entity.key],
                relation.to_field: records[relation.target_model.entity().key]})
    contact = records["contact"]
    binned = make_record("contact", root)
    record_delete(user=root, obj=binned)
    twin = make_record("contact", root)
    merge = records_merge(user=root, survivor=make_record("contact", root), others=[twin])
    entry = Entry.objects.create(kind=Kind.TASK, author=root, responsible=root, subject="t", state="planned")
    EntryLink.objects.create(entry=entry, content_type=ContentType.objects.get_for_model(contact),
                             object_id=contact.pk)
    scan = ScanRun.objects.create(entity="contact", started_by=root)
    other = make_record("contact", root)
    group = DuplicateGroup.objects.create(scan=scan, entity="contact", object_ids=[contact.pk, other.pk], score=99)
    objects = {"timeline_edit": entry.pk, "timeline_delete": entry.pk, "timeline_complete": entry.pk,
               "dedup_merge_undo": merge.pk, "dedup_scan_status": scan.pk, "dedup_not_duplicate": group.pk,
               "dedup_merge_auto": group.pk}
    return {"root": root, "records": records, "binned": binned, "objects": objects}


OTHER_PARAMS = {name: {} for name in (
    "import_batch", "import_map", "import_options", "import_progress", "import_apply", "import_cancel",
    "import_undo", "import_report", "api_token_revoke", "webhook_detail", "webhook_delete", "webhook_redeliver",
    "export_status", "export_download", "lists_job", "lists_segment_delete", "lists_segment_count",
    "customfield_file", "reports_export", "session_end", "password_reset_confirm", "api_bin_restore", "api_webhook_detail",
    "api_webhook_deliveries")}
OTHER_PARAMS["password_reset_confirm"] = {"uidb64": "MQ", "token": "set-password"}
OTHER_PARAMS["session_end"] = {"public_id": "0" * 24}
OTHER_PARAMS["reports_export"] = {"table": "won"}


def _paths(world, route, pattern):
    """(path, entity key or None) for the pattern: filled for each entity it concerns."""
    names = list(pattern.pattern.converters)
    entity_key = pattern.default_args.get("entity") or next(
        (e.key for e in registry if (pattern.name or "").startswith(e.key + "_")), None)
    keys = [entity_key] if entity_key else (list(registry.keys())[:2] if "entity" in names else [None])
    if entity_key and not pattern.name.endswith(("_add", "_edit")) and entity_key not in SWEPT_ENTITIES:
        return []  # the same generic view serves every entity: two of them are enough, forms for all
    out = []
    for key in keys:
        values = {"entity": key, "kind": "note", "user_id": world["root"].pk}
        if pattern.name in world["objects"]:
            values["pk"] = world["objects"][pattern.name]
        elif pattern.name == "trash_item":
            values.update(entity="contact", pk=world["binned"].pk)
            key = "contact"
        elif key:
            obj = world["records"][key]
            values["pk"] = obj.pk
            relations = registry[key].relations
            values["relation"] = relations[0].name if relations else "none"
            link = relations[0].through_model.objects.filter(**{relations[0].from_field: obj}).first() \
                if relations else None
            values["link_id"] = link.pk if link else 1
        converters = pattern.pattern.converters
        for name in names:  # a parameter naming no record here (someone's batch, token, session): one that
            if values.get(name) is None and pattern.name in OTHER_PARAMS:  # doesn't exist, or a plain value
                values[name] = OTHER_PARAMS[pattern.name].get(name, 1 if type(converters[name]).__name__ ==
                                                              "IntConverter" else "x")
        missing = [n for n in names if values.get(n) is None]
        assert not missing, f"the hostile sweep can't fill {missing} of {route} ({pattern.name}): teach it"
        path = "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m, v=values: str(v[m.group(2)]), route)
        if (path, key) not in out:
            out.append((path, key))
    return out


def _form_data(world, key):
    """Valid edit/add form data of the entity (so every field of the form is named)."""
    if key is None:
        return {}
    try:
        return edit_data(world["records"][key])
    except Exception:  # noqa: BLE001  (an entity without a form helper: its add form's fields)
        return post_data(key, world["root"])


def _rotated(names, turn, values):
    """Each name gets a different bad value, shifted by `turn`: over the patterns every pair comes up."""
    return {name: values[(turn + index) % len(values)] for index, name in enumerate(names)}


def test_no_url_answers_500_to_bad_input_and_refusals_write_nothing(hostile, plain_static):
    client = Client(headers={"accept-language": "en"})
    client.force_login(hostile["root"])
    others = [v for v in BAD if v not in CONTROL]
    in_address = [v if len(v) < 1000 else "x" * 1500 for v in others]  # 100k in a query string: the 400 below
    sent = 0
    for number, (route, pattern) in enumerate(project_patterns()):
        for path, key in _paths(hostile, route, pattern):
            if path.startswith("/api/") and connection.vendor != "postgresql":
                continue  # the API answers 503 "needs PostgreSQL" on SQLite (tests/test_sqlite_demo.py)
            filters = list(registry[key].filter_fields) if key else []
            fields = list(_form_data(hostile, key)) + BODY
            requests = [("GET", {name: CONTROL[number % 2] for name in PARAMS}),
                        ("GET", {"q": "x" * 100_000}),
                        *[("GET", _rotated(PARAMS + filters, number + turn, in_address)) for turn in (0, 5)]]
            if pattern.name not in NO_POST:
                requests += [("POST", {name: CONTROL[number % 2] for name in fields}),
                             *[("POST", _rotated(fields, number + turn, others)) for turn in (0, 5)]]
            refused = []
            with rolled_back() as check:
                for method, data in requests:
                    response = (client.get if method == "GET" else client.post)(path, data)
                    assert response.status_code < 500, (path, method, response.status_code)
                    if response.status_code in (200, 302):
                        body(response)  # streamed exports are produced to the end
                    if data is requests[0][1] or (method == "POST" and data is requests[-3][1] and
                                                  pattern.name not in NO_POST):
                        assert response.status_code == 400, (path, method, "control characters", response.status_code)
                    if method == "POST" and response.status_code >= 400:
                        refused.append(data)
                    sent += 1
                changed = check.done()
            if changed and len(refused) == len([r for r in requests if r[0] == "POST"]):
                pytest.fail(f"{path}: refused every bad POST but wrote {changed}")
            for data in refused if changed else ():  # some were accepted: replay the refused ones alone
                with rolled_back() as alone:
                    response = client.post(path, data)
                    wrote = alone.done()
                assert response.status_code < 400 or not wrote, f"{path}: refused ({response.status_code}) but wrote"
    assert sent > 200


def test_bad_values_in_the_path_are_not_a_500(hostile, plain_static):
    client = Client(headers={"accept-language": "en"})
    client.force_login(hostile["root"])
    contact = hostile["records"]["contact"].pk
    for path in (f"/timeline/%00/{contact}/", f"/timeline/{'x' * 5000}/{contact}/", "/duplicates/check/%01x/",
                 f"/duplicates/record/contact/{'9' * 25}/", f"/contacts/{'9' * 25}/", f"/contacts/{'9' * 25}/edit/",
                 f"/trash/contact/{'9' * 25}/", f"/timeline/entry/{'9' * 25}/edit/", f"/duplicates/scans/{'9' * 25}/",
                 f"/access/share/contact/{contact}/revoke/{'9' * 25}/", f"/deals/{'9' * 25}/move/"):
        for method in (client.get, client.post):
            assert method(path).status_code < 500, (method.__name__, path)
