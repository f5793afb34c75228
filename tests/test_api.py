"""The REST API (crm_site/api): CRUD, filters and pages for every registered entity (the fifth, test-only one
included), the same rights as the screens, tokens, idempotency, versions, bulk upsert, limits, timeline, bin."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from access.models import AuditLog, FieldRule, Role
from crm_site.api.models import ApiToken, ExternalKey, IdempotencyRecord, TokenRight
from crm_site.registry import registry
from tests import postgres
from tests.api_helpers import Api, api_for, make_token, record_data
from tests.factories import make_contact, make_record, make_user, search_field

ENTITIES = [entity.key for entity in registry]
pytestmark = [postgres.only, pytest.mark.django_db]


def url(entity_key, pk=None, suffix=""):
    prefix = registry[entity_key].url_prefix
    return f"/api/v1/{prefix}/" + (f"{pk}/" if pk else "") + suffix


# ---------------------------------------------------------------------------
# CRUD, filters, search and pages: every entity


@pytest.mark.parametrize("key", ENTITIES)
def test_crud_for_every_entity(key, user):
    api = api_for(user)
    created = api.post(url(key), record_data(key, user))
    assert created.status_code == 201, created.content
    body = created.json()
    pk, version = body["id"], body["version"]
    assert created["ETag"] == f'"{version}"'
    assert body["owner"] == user.pk and body["custom_fields"] == {}
    text = search_field(key)

    read = api.get(url(key, pk))
    assert read.status_code == 200 and read.json()[text] == body[text]

    changed = api.patch(url(key, pk), {text: "Renamed by API"}, HTTP_IF_MATCH=f'"{version}"')
    assert changed.status_code == 200, changed.content
    assert changed.json()[text] == "Renamed by API" and changed.json()["version"] > version
    assert registry[key].model.objects.get(pk=pk).history.count() == 2  # history like any write

    listed = api.get(url(key), {"q": "Renamed by API"})
    assert [row["id"] for row in listed.json()["results"]] == [pk]
    assert api.get(url(key), {"owner": user.pk}).json()["results"][0]["id"] == pk
    assert api.get(url(key), {"owner": 999999}).status_code == 400  # a bad filter value says so

    assert api.delete(url(key, pk)).status_code == 204
    assert api.get(url(key, pk)).status_code == 404
    binned = api.get("/api/v1/bin/", {"entity": key}).json()["results"]
    assert [(row["entity"], row["id"]) for row in binned] == [(key, pk)]
    restored = api.post(f"/api/v1/bin/{key}/{pk}/restore/")
    assert restored.status_code == 200 and restored.json()["restored"] is True
    assert api.get(url(key, pk)).status_code == 200


@pytest.mark.parametrize("key", ENTITIES)
def test_cursor_pages_are_stable_and_beyond_the_first_an_export(key, user, manager):
    for _ in range(3):
        make_record(key, user)
    api = api_for(user)
    first = api.get(url(key), {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    make_record(key, user)  # a new record meanwhile: the next page neither repeats nor skips
    second = api.get(url(key), {"page_size": 2, "cursor": first["next"]})
    assert second.status_code == 200
    seen = [row["id"] for row in first["results"] + second.json()["results"]]
    assert len(seen) == len(set(seen)) == 3 and second.json()["next"] is None
    log = AuditLog.objects.filter(action=AuditLog.EXPORT).get()
    assert log.count == 1 and log.details["format"] == "api"

    for _ in range(2):
        make_record(key, manager)
    manager_api = api_for(manager)
    page = manager_api.get(url(key), {"page_size": 1}).json()
    assert manager_api.get(url(key), {"page_size": 1}).status_code == 200  # the first page is a list
    assert manager_api.get(url(key), {"page_size": 1, "cursor": page["next"]}).status_code == 403
    assert api.get(url(key), {"page_size": 501}).status_code == 400
    assert api.get(url(key), {"cursor": "garbage"}).status_code == 400


def test_sort_and_filters_as_the_list_panel(user):
    a = make_contact(user, last_name="Aaa", first_name="A")
    b = make_contact(user, last_name="Bbb", first_name="B")
    api = api_for(user)
    ids = [row["id"] for row in api.get("/api/v1/contacts/", {"sort": "full_name"}).json()["results"]]
    assert ids == [a.pk, b.pk]
    ids = [row["id"] for row in api.get("/api/v1/contacts/", {"sort": "-full_name"}).json()["results"]]
    assert ids == [b.pk, a.pk]


def test_a_segment_narrows_the_list_within_the_users_scope(user, other_user):
    from crm_site.lists.models import Segment

    mine = make_contact(user, last_name="Segmentov", first_name="A")
    make_contact(user, last_name="Other", first_name="B")
    make_contact(other_user, last_name="Segmentov", first_name="C")  # matches, but out of the user's scope
    shared = Segment.objects.create(name="S", entity_key="contact", owner=other_user, shared=True,
                                    params="q=Segmentov")
    private = Segment.objects.create(name="P", entity_key="contact", owner=other_user, params="q=Segmentov")
    api = api_for(user)
    ids = [row["id"] for row in api.get("/api/v1/contacts/", {"segment": shared.pk}).json()["results"]]
    assert ids == [mine.pk]
    assert api.get("/api/v1/contacts/", {"segment": private.pk}).status_code == 404  # someone else's private one
    assert api.get("/api/v1/contacts/", {"segment": "99999999"}).status_code == 404


def test_phones_emails_and_links_nested(user):
    api = api_for(user)
    company = api.post("/api/v1/companies/", record_data("company", user)).json()
    data = record_data("contact", user) | {
        "phones": [{"value": "+7 495 123-45-67", "kind": "work"}], "emails": [{"value": "a@example.com"}],
        "links": {"companies": [{"target": company["id"], "position": "CFO", "is_primary": True}]}}
    contact = api.post("/api/v1/contacts/", data)
    assert contact.status_code == 201, contact.content
    body = contact.json()
    assert [p["value"] for p in body["phones"]] == ["+7 495 123-45-67"]
    assert body["emails"][0]["value"] == "a@example.com"
    assert body["links"]["companies"][0]["target"] == company["id"]
    assert body["links"]["companies"][0]["position"] == "CFO"
    bad = api.post("/api/v1/contacts/", record_data("contact", user) | {"phones": [{"value": "not a phone"}]})
    assert bad.status_code == 400 and "phone" in bad.json()


# ---------------------------------------------------------------------------
# Rights: the browser's


def test_out_of_scope_is_404_and_a_missing_right_403_writing_nothing(user, colleague, other_user):
    record = make_contact(user, last_name="Mine")
    other = api_for(other_user)
    assert other.get(f"/api/v1/contacts/{record.pk}/").status_code == 404
    assert other.patch(f"/api/v1/contacts/{record.pk}/", {"last_name": "X"}).status_code == 404
    assert other.delete(f"/api/v1/contacts/{record.pk}/").status_code == 404
    assert record.pk not in [row["id"] for row in other.get("/api/v1/contacts/").json()["results"]]
    colleague_api = api_for(colleague)  # reads the department's records, edits only their own
    assert colleague_api.get(f"/api/v1/contacts/{record.pk}/").status_code == 200
    assert colleague_api.patch(f"/api/v1/contacts/{record.pk}/", {"last_name": "X"}).status_code == 403
    assert colleague_api.delete(f"/api/v1/contacts/{record.pk}/").status_code == 403
    record.refresh_from_db()
    assert record.last_name == "Mine" and record.deleted_at is None and record.history.count() == 1
    # owner may not be moved out of one's own reach (a right, like the form)
    moved = api_for(user).patch(f"/api/v1/contacts/{record.pk}/", {"owner": other_user.pk})
    assert moved.status_code == 403
    assert api_for(user).post(f"/api/v1/bin/contact/{record.pk}/restore/").status_code == 404


def test_a_link_out_of_reach_is_neither_shown_nor_usable(user, other_user):
    theirs = make_record("company", other_user)
    api = api_for(user)
    refused = api.post("/api/v1/deals/", record_data("deal", user) | {"company": theirs.pk})
    assert refused.status_code == 400 and "company" in refused.json()


def test_a_page_shows_links_only_to_records_within_reach(user, other_user, admin_user):
    """A list page reads its versions, channels, links, tags and linked records' reach in one query: what the
    user may not read is left out (a link) or blanked (a foreign key), record by record."""
    from contacts.models import ContactCompany

    theirs, mine = make_record("company", other_user), make_record("company", user)
    deal = make_record("deal", user)
    type(deal).objects.filter(pk=deal.pk).update(company=theirs)  # a test's setup: linked before losing reach
    contact = make_contact(user, phones=["+7 495 765-43-21"])
    ContactCompany.objects.create(contact=contact, company=theirs, position="Owner")
    ContactCompany.objects.create(contact=contact, company=mine, position="CFO")
    other_contact = make_contact(user)
    api = api_for(user)
    deals = {row["id"]: row for row in api.get("/api/v1/deals/").json()["results"]}
    assert deals[deal.pk]["company"] is None
    assert api.get(f"/api/v1/deals/{deal.pk}/").json()["company"] is None
    assert api_for(admin_user).get(f"/api/v1/deals/{deal.pk}/").json()["company"] == theirs.pk
    contacts = {row["id"]: row for row in api.get("/api/v1/contacts/").json()["results"]}
    assert [link["target"] for link in contacts[contact.pk]["links"]["companies"]] == [mine.pk]
    assert contacts[contact.pk]["links"]["companies"][0]["position"] == "CFO"
    assert [phone["value"] for phone in contacts[contact.pk]["phones"]] == ["+7 495 765-43-21"]
    assert contacts[other_contact.pk]["links"]["companies"] == [] and contacts[other_contact.pk]["phones"] == []
    assert contacts[contact.pk]["version"] == contact.history.latest("history_id").history_id
    admin_view = api_for(admin_user).get(f"/api/v1/contacts/{contact.pk}/").json()
    assert sorted(link["target"] for link in admin_view["links"]["companies"]) == sorted([theirs.pk, mine.pk])


def test_field_rules_hide_and_lock_the_same_fields(user):
    role = Role.objects.get(name="Employee")
    FieldRule.objects.create(role=role, entity="contact", field="comment", mode=FieldRule.HIDDEN)
    FieldRule.objects.create(role=role, entity="contact", field="position", mode=FieldRule.READ_ONLY)
    record = make_contact(user, comment="secret", position="CEO")
    api = api_for(user)
    body = api.get(f"/api/v1/contacts/{record.pk}/").json()
    assert "comment" not in body and body["position"] == "CEO"
    assert api.patch(f"/api/v1/contacts/{record.pk}/", {"comment": "x"}).status_code == 400
    assert "position" in api.patch(f"/api/v1/contacts/{record.pk}/", {"position": "CTO"}).json()
    assert "comment" not in api.get("/api/v1/contacts/").json()["results"][0]
    record.refresh_from_db()
    assert (record.comment, record.position) == ("secret", "CEO")


def test_validation_errors_per_field(user):
    api = api_for(user)
    response = api.post("/api/v1/deals/", record_data("deal", user) | {"amount": "lots", "title": ""})
    assert response.status_code == 400
    assert {"amount", "title"} <= set(response.json())
    assert api.post("/api/v1/deals/", [1, 2]).status_code == 400
    assert api.post("/api/v1/deals/", {"no_such_field": 1, "title": "x"}).status_code in (201, 400)


def test_history_and_audit_log_say_a_change_came_through_the_api_and_which_token(user):
    token, raw = make_token(user, name="Telephony")
    api = Api(raw)
    made = api.post("/api/v1/contacts/", record_data("contact", user)).json()
    api.patch(f"/api/v1/contacts/{made['id']}/", {"position": "Buyer"})
    api.post("/api/v1/contacts/bulk/", {"mode": "upsert", "key": "external_id", "source": "1c", "items": [
        {"external_id": "x-1", **record_data("contact", user)}]})
    contact = registry["contact"].model.objects.get(pk=made["id"])
    assert set(contact.history.values_list("history_change_reason", flat=True)) == {f"api token #{token.pk}"}
    bulk_made = ExternalKey.objects.get(source="1c", external_id="x-1").object_id
    assert registry["contact"].model.objects.get(pk=bulk_made).history.get().history_change_reason == \
        f"api token #{token.pk}"
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    card = client.get(f"/contacts/{made['id']}/").content.decode()
    assert "via the API, token “Telephony”" in card
    ru = Client(headers={"accept-language": "ru"})
    ru.force_login(user)
    assert "Telephony" in ru.get(f"/contacts/{made['id']}/").content.decode()
    entry = AuditLog.objects.filter(action=AuditLog.API_REQUEST, details__token=token.pk).first()
    with translation.override("en"):
        assert entry is not None and entry.get_action_display() == "API request"
    assert AuditLog.objects.filter(action=AuditLog.API_REQUEST, details__token=token.pk).count() == 3
    first = AuditLog.objects.filter(action=AuditLog.API_REQUEST, details__token=token.pk).order_by("pk").first()
    assert (first.actor, first.actor_name, first.object_repr, first.ip, first.content_type) == (
        user, user.get_username(), str(token), "127.0.0.1", None)
    assert first.details == {"token": token.pk, "method": "POST", "path": "/api/v1/contacts/"}
    token.refresh_from_db()
    assert token.use_count == 3 and token.last_used_at is not None
    assert Api(raw + "\x00").get("/api/v1/contacts/").status_code == 401


# ---------------------------------------------------------------------------
# Tokens


def test_token_scopes_expiry_revocation_and_counting(user):
    record = make_contact(user)
    _token, raw = make_token(user, {"contact": ["read"]})
    api = Api(raw)
    assert api.get(f"/api/v1/contacts/{record.pk}/").status_code == 200
    assert api.patch(f"/api/v1/contacts/{record.pk}/", {"last_name": "X"}).status_code == 403
    assert api.get("/api/v1/companies/").status_code == 403
    assert api.post("/api/v1/contacts/", record_data("contact", user)).status_code == 403
    token = ApiToken.objects.get(user=user)
    assert token.use_count == 4 and token.last_used_at is not None
    assert AuditLog.objects.filter(action="api_request", details__token=token.pk).count() == 4

    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()
    assert api.get("/api/v1/contacts/").status_code == 401
    token.expires_at = None
    token.revoked_at = timezone.now()
    token.save()
    assert api.get("/api/v1/contacts/").status_code == 401
    assert Api("crm_deadbeef_nope").get("/api/v1/contacts/").status_code == 401
    assert Api().get("/api/v1/contacts/").status_code in (401, 403)
    user.is_active = False
    user.save()
    token.revoked_at = None
    token.save()
    assert api.get("/api/v1/contacts/").status_code == 401


def test_token_page_making_is_a_right_per_role(user, admin_user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    page = client.get("/api/tokens/")
    assert page.status_code == 200 and b"Make token" not in page.content
    assert client.post("/api/tokens/", {"name": "x", "scope_contact": "read"}).status_code == 403
    assert not ApiToken.objects.exists()

    TokenRight.objects.create(role=Role.objects.get(name="Employee"))
    made = client.post("/api/tokens/", {"name": "Website", "scope_contact": "write", "expires": ""})
    assert made.status_code == 200
    token = ApiToken.objects.get(user=user)
    raw = made.context["raw"]
    assert raw and token.key_hash != raw and raw not in str(token.__dict__)  # stored hashed
    assert token.scopes == {"contact": ["read", "write"]}  # what is not chosen is not reachable
    assert Api(raw).get("/api/v1/contacts/").status_code == 200
    assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 302
    assert Api(raw).get("/api/v1/contacts/").status_code == 401

    admin = Client(headers={"accept-language": "en"})
    admin.force_login(admin_user)
    other = make_user("zed")
    admin.post(f"/api/tokens/?user={other.pk}", {"name": "For zed", "user": other.pk, "scope_deal": "read"})
    assert ApiToken.objects.filter(user=other, created_by=admin_user).count() == 1


def test_session_auth_needs_csrf(user):
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "en"})
    client.force_login(user)
    assert client.get("/api/v1/contacts/").status_code == 200
    refused = client.post("/api/v1/contacts/", record_data("contact", user), content_type="application/json")
    assert refused.status_code == 403


# ---------------------------------------------------------------------------
# Writes: idempotency, versions


def test_idempotency_key_returns_the_first_response_and_writes_once(user):
    api = api_for(user)
    data = record_data("contact", user)
    first = api.post("/api/v1/contacts/", data, HTTP_IDEMPOTENCY_KEY="abc-1")
    again = api.post("/api/v1/contacts/", data, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert registry["contact"].model.objects.count() == 1
    other = api.post("/api/v1/contacts/", data | {"last_name": "Other"}, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert other.status_code == 422
    pk = first.json()["id"]
    patch1 = api.patch(f"/api/v1/contacts/{pk}/", {"position": "P"}, HTTP_IDEMPOTENCY_KEY="abc-2")
    patch2 = api.patch(f"/api/v1/contacts/{pk}/", {"position": "P"}, HTTP_IDEMPOTENCY_KEY="abc-2")
    assert patch1.json() == patch2.json()
    assert IdempotencyRecord.objects.count() == 2


def test_stale_version_is_409_with_the_changed_fields(user):
    api = api_for(user)
    created = api.post("/api/v1/contacts/", record_data("contact", user)).json()
    api.patch(f"/api/v1/contacts/{created['id']}/", {"position": "Boss"})
    stale = api.patch(f"/api/v1/contacts/{created['id']}/", {"comment": "mine"},
                      HTTP_IF_MATCH=f'"{created["version"]}"')
    assert stale.status_code == 409
    assert stale.json()["changed_fields"] == ["position"]
    assert api.patch(f"/api/v1/contacts/{created['id']}/", {"comment": "mine", "version": created["version"]}
                     ).status_code == 409
    assert api.delete(f"/api/v1/contacts/{created['id']}/", HTTP_IF_MATCH=str(created["version"])
                      ).status_code == 409


# ---------------------------------------------------------------------------
# Bulk and upsert


def test_bulk_create_and_upsert_by_external_id(user):
    api = api_for(user)
    items = [record_data("company", user) | {"external_id": f"1c-{i}"} for i in range(3)]
    created = api.post("/api/v1/companies/bulk/", {"items": items, "source": "1c"})
    assert created.status_code == 200, created.content
    assert created.json()["created"] == 3
    ids = [row["id"] for row in created.json()["results"]]
    assert ExternalKey.objects.filter(source="1c").count() == 3

    upsert = {"mode": "upsert", "key": "external_id", "source": "1c"}
    items = [{"external_id": "1c-0", "comment": "replaced"}, {"external_id": "1c-9", **record_data("company", user)}]
    report = api.post("/api/v1/companies/bulk/", {**upsert, "items": items, "on_match": "replace"}).json()
    assert [r["status"] for r in report["results"]] == ["updated", "created"]
    assert report["results"][0]["id"] == ids[0]
    model = registry["company"].model
    assert model.objects.get(pk=ids[0]).comment == "replaced"

    skipped = api.post("/api/v1/companies/bulk/", {**upsert, "items": [{"external_id": "1c-1", "comment": "no"}],
                                                   "on_match": "skip"}).json()
    assert skipped["results"][0]["status"] == "skipped" and model.objects.get(pk=ids[1]).comment != "no"

    model.objects.filter(pk=ids[2]).update(address="")  # an empty field the merge may fill
    merged = api.post("/api/v1/companies/bulk/", {**upsert, "on_match": "merge", "items": [
        {"external_id": "1c-2", "comment": "not taken", "address": "Омск"}]}).json()
    assert merged["results"][0]["status"] == "updated"
    obj = model.objects.get(pk=ids[2])
    assert obj.address == "Омск" and obj.comment != "not taken"


def test_bulk_upsert_by_duplicate_rules_and_all_or_nothing(user):
    existing = make_contact(user, last_name="Иванов", first_name="Пётр", phones=["+7 495 111-22-33"],
                            emails=["petr@example.com"])
    api = api_for(user)
    item = {"last_name": "Иванов", "first_name": "Пётр", "position": "Директор",
            "phones": [{"value": "+74951112233"}], "emails": [{"value": "petr@example.com"}]}
    report = api.post("/api/v1/contacts/bulk/", {"mode": "upsert", "key": "duplicates", "on_match": "merge",
                                                 "items": [item]}).json()
    assert report["results"][0]["status"] == "updated" and report["results"][0]["id"] == existing.pk
    existing.refresh_from_db()
    assert existing.position == "Директор"
    assert registry["contact"].model.objects.count() == 1

    before = registry["contact"].model.objects.count()
    refused = api.post("/api/v1/contacts/bulk/", {"all_or_nothing": True, "items": [
        record_data("contact", user), {"birthday": "not a date"}]})
    assert refused.status_code == 400
    assert [r["status"] for r in refused.json()["results"]] == ["not_written", "error"]
    assert registry["contact"].model.objects.count() == before

    partial = api.post("/api/v1/contacts/bulk/", {"items": [record_data("contact", user), {"birthday": "x"}]})
    assert [r["status"] for r in partial.json()["results"]] == ["created", "error"]
    assert api.post("/api/v1/contacts/bulk/", {"items": [{}] * 1001}).status_code == 400
    assert api.post("/api/v1/contacts/bulk/", {"mode": "upsert", "items": []}).status_code == 400


def test_bulk_upsert_by_duplicate_rules_has_the_imports_duplicate_control(user, monkeypatch):
    """One target per item: an item matching two records equally well is refused (ambiguous), and a second item
    of the same record in one batch is refused instead of writing the record twice or creating a twin."""
    from types import SimpleNamespace

    from dedup import scoring

    model = registry["contact"].model
    target = make_contact(user, last_name="Сидоров", first_name="Олег", phones=["+7 495 222-33-44"])
    twins = [make_contact(user, last_name=f"Кузнецова{n}", first_name="Анна") for n in range(2)]
    api = api_for(user)
    same = {"last_name": "Сидоров", "first_name": "Олег", "phones": [{"value": "+74952223344"}]}
    fresh = {"last_name": "Новиков", "first_name": "Игорь", "phones": [{"value": "+74959998877"}]}
    twin = {"last_name": "Кузнецова", "first_name": "Анна", "position": "Бухгалтер"}
    real = scoring.match_rows

    def match_rows(entity_key, rows, **kwargs):  # the twins: two records the rules rate equally (a stand-in)
        found = real(entity_key, rows, **kwargs)
        verdict = SimpleNamespace(is_duplicate=True, percent=90, reasons=[])
        return [[SimpleNamespace(object_id=t.pk, verdict=verdict) for t in twins]
                if ("surname", "kuznecov") in keys else matches for keys, matches in zip(rows, found, strict=True)]

    monkeypatch.setattr(scoring, "match_rows", match_rows)
    before = model.objects.count()
    report = api.post("/api/v1/contacts/bulk/", {"mode": "upsert", "key": "duplicates", "on_match": "merge",
                                                 "items": [same | {"position": "Снабженец"}, same, twin, fresh,
                                                           fresh]}).json()
    statuses = [r["status"] for r in report["results"]]
    assert statuses == ["updated", "error", "error", "created", "error"], report
    assert report["results"][0]["id"] == target.pk
    assert "item 0" in report["results"][1]["errors"]["non_field_errors"][0]
    assert "item 3" in report["results"][4]["errors"]["non_field_errors"][0]
    assert all(f"#{t.pk}" in report["results"][2]["errors"]["non_field_errors"][0] for t in twins)
    assert model.objects.count() == before + 1
    assert all(model.objects.get(pk=t.pk).position != "Бухгалтер" for t in twins)


def test_bulk_by_a_user_without_add_right_writes_nothing(user):
    role = Role.objects.create(name="Reader", matrix={"*": {"read": 5}})
    from tests.factories import assign_role

    reader = make_user("reader")
    assign_role(role.name, user=reader)
    report = api_for(reader).post("/api/v1/contacts/bulk/", {"items": [record_data("contact", reader)]}).json()
    assert report["results"][0]["status"] == "error" and registry["contact"].model.objects.count() == 0


# ---------------------------------------------------------------------------
# Limits


def test_rate_limit_per_token_and_body_size(user, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "2/min"}}
    from rest_framework.settings import api_settings

    api_settings.reload()
    from crm_site.api.throttling import TokenRateThrottle

    TokenRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        api = api_for(user)
        assert api.get("/api/v1/contacts/").status_code == 200
        assert api.get("/api/v1/contacts/").status_code == 200
        limited = api.get("/api/v1/contacts/")
        assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
        assert api_for(user).get("/api/v1/contacts/").status_code == 200  # another token, its own budget
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "600/min"}}
        api_settings.reload()
        TokenRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        cache.clear()
    settings.CRM_API_MAX_BODY = 100
    assert api_for(user).post("/api/v1/contacts/", {"comment": "x" * 200}).status_code == 413


# ---------------------------------------------------------------------------
# Timeline


def test_timeline_list_and_add(user, other_user):
    record = make_contact(user)
    api = api_for(user)
    note = api.post(f"/api/v1/contacts/{record.pk}/timeline/", {"kind": "note", "body": "Called back"})
    assert note.status_code == 201, note.content
    task = api.post(f"/api/v1/contacts/{record.pk}/timeline/", {"kind": "task", "subject": "Send offer"})
    assert task.status_code == 201 and task.json()["state"] == "planned" and task.json()["deadline"]
    call = api.post(f"/api/v1/contacts/{record.pk}/timeline/", {"kind": "call", "direction": "in", "duration": 3})
    assert call.status_code == 201
    assert api.post(f"/api/v1/contacts/{record.pk}/timeline/", {"kind": "note"}).status_code == 400
    assert api.post(f"/api/v1/contacts/{record.pk}/timeline/", {"kind": "merged"}).status_code == 400
    kinds = [row["kind"] for row in api.get(f"/api/v1/contacts/{record.pk}/timeline/").json()["results"]]
    assert {"note", "task", "call"} <= set(kinds)
    assert api_for(other_user).get(f"/api/v1/contacts/{record.pk}/timeline/").status_code == 404
    assert api_for(other_user).post(f"/api/v1/contacts/{record.pk}/timeline/", {"kind": "note", "body": "x"}
                                    ).status_code == 404


# ---------------------------------------------------------------------------
# The schema


def test_openapi_schema_validates_and_lists_every_entity(admin_client):
    from drf_spectacular.validation import validate_schema

    response = admin_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    import json

    schema = json.loads(response.content)
    validate_schema(schema)
    for entity in registry:
        assert f"/api/v1/{entity.url_prefix}/" in schema["paths"]
        post = schema["paths"][f"/api/v1/{entity.url_prefix}/"]["post"]  # each entity its own serializer
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(f"/{entity.model.__name__}Request"), ref
        assert post["tags"] == [entity.url_prefix]
        assert f"/api/v1/{entity.url_prefix}/bulk/" in schema["paths"]
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()


# ---------------------------------------------------------------------------
# The permission sweep: every record route × role × in/out of scope, against access.scopes.can as the oracle


ROLES = ["Employee", "Sales manager", "Marketer", "Head of sales", "Read-only auditor"]


@pytest.mark.parametrize("key", ENTITIES)
def test_permission_sweep_over_api_routes(key, department, other_department):
    from access.fields import read_only_fields
    from access.scopes import DELETE, EDIT, READ, can
    from tests.factories import assign_role

    owner = make_user("owner", department=department)
    outsider_record = make_record(key, make_user("far", department=other_department))
    own_record = make_record(key, owner)
    text = search_field(key)
    for role in ROLES:
        person = make_user(f"p{role[:4]}".replace(" ", ""), department=department)
        if role != "Employee":
            assign_role(role, user=person)
        api = api_for(person)
        listed = {row["id"] for row in api.get(url(key), {"page_size": 500}).json()["results"]}
        for obj in (own_record, outsider_record):
            obj.refresh_from_db()
            before = (getattr(obj, text), obj.history.count())
            readable, editable, deletable = (can(person, obj, action) for action in (READ, EDIT, DELETE))
            detail = url(key, obj.pk)
            got = api.get(detail)
            assert got.status_code == (200 if readable else 404), (role, obj, got.status_code)
            assert (obj.pk in listed) == readable
            assert api.get(url(key, obj.pk, "timeline/")).status_code == (200 if readable else 404)
            patched = api.patch(detail, {text: "Sweep"})
            locked = text in read_only_fields(person, key)  # a field rule: 400 on that field, like the form
            expected = (400 if locked else 200) if editable else 403 if readable else 404
            assert patched.status_code == expected, (role, patched.content)
            if not editable or locked:
                obj.refresh_from_db()
                assert (getattr(obj, text), obj.history.count()) == before  # a forbidden write writes nothing
            if not editable:
                assert api.post(url(key, obj.pk, "timeline/"), {"kind": "note", "body": "x"}).status_code in (
                    403, 404)
            if not deletable:
                assert api.delete(detail).status_code in (403, 404)
                obj.refresh_from_db()
                assert obj.deleted_at is None


def test_cursor_keeps_microseconds(user):
    base = timezone.now().replace(microsecond=500000)
    model = registry["contact"].model
    ids = [make_contact(user).pk for _ in range(3)]
    for offset, pk in enumerate(ids):
        model.objects.filter(pk=pk).update(created_at=base + timedelta(microseconds=offset + 1))
    api = api_for(user)
    for sort in ("created_at", "-created_at"):
        seen, cursor = [], ""
        while True:
            page = api.get("/api/v1/contacts/", {"page_size": 1, "sort": sort, **({"cursor": cursor} if cursor else {})})
            seen += [row["id"] for row in page.json()["results"]]
            cursor = page.json()["next"]
            if not cursor:
                break
        assert seen == (ids if sort == "created_at" else ids[::-1])


def test_administrators_may_make_tokens_by_default_others_not(user):
    from crm_site.api.tokens import may_make_tokens
    from tests.factories import assign_role

    boss = make_user("boss")
    assign_role("Administrator", user=boss)
    assert may_make_tokens(boss) and not may_make_tokens(user)
    from crm_site.api import tokens

    token, raw = tokens.token_create(actor=boss, user=boss, name="mine", scopes={"deal": ["read"]})
    assert token.scopes == {"deal": ["read"]} and raw.startswith("crm_")
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        tokens.token_create(actor=user, user=user, name="x", scopes={"deal": ["read"]})
    with pytest.raises(PermissionDenied):
        tokens.token_create(actor=boss, user=user, name="for someone else", scopes={"deal": ["read"]})
    with pytest.raises(ValidationError):
        tokens.token_create(actor=boss, user=boss, name="", scopes={"nope": ["fly"]})


def test_custom_fields_read_and_written_through_the_api(user):
    from crm_site.customfields.models import CustomField

    CustomField.objects.create(entity="contact", code="car", label="Car", type="text")
    CustomField.objects.create(entity="contact", code="seats", label="Seats", type="integer")
    CustomField.objects.create(entity="contact", code="secret_note", label="Secret", type="text")
    FieldRule.objects.create(role=Role.objects.get(name="Employee"), entity="contact", field="cf_secret_note",
                             mode=FieldRule.HIDDEN)
    api = api_for(user)
    created = api.post("/api/v1/contacts/", record_data("contact", user) | {"custom_fields": {"car": "Lada",
                                                                                              "seats": "5"}})
    assert created.status_code == 201, created.content
    assert created.json()["custom_fields"] == {"car": "Lada", "seats": 5}
    pk = created.json()["id"]
    bad = api.patch(f"/api/v1/contacts/{pk}/", {"custom_fields": {"seats": "many"}})
    assert bad.status_code == 400
    assert api.patch(f"/api/v1/contacts/{pk}/", {"custom_fields": {"secret_note": "x"}}).status_code == 400
    registry["contact"].model.objects.filter(pk=pk).update(custom_fields={"car": "Lada", "seats": 5,
                                                                          "secret_note": "hidden"})
    assert "secret_note" not in api.get(f"/api/v1/contacts/{pk}/").json()["custom_fields"]
