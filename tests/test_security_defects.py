"""Regression tests of the defects found by the security review (issue 16, "Defects found" 1-6)."""

import pytest
from django.test import Client

from access.models import FieldRule, Role
from access.scopes import EDIT, forget
from access.services import share_grant
from contacts.models import Contact
from tests.factories import assign_role, make_contact, make_department, make_user

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def merge_world(db, plain_static):
    """A sales manager (edits own records only) with edit rights shared on a colleague's contact."""
    team = make_department("Sales floor")
    colleague = make_user("colleague1", department=team)
    manager = make_user("manager1", department=team)
    assign_role("Sales manager", user=manager)
    theirs = make_contact(colleague, last_name="Theirs", first_name="Tanya", position="CEO", comment="secret-x")
    mine = make_contact(manager, last_name="Mine", first_name="Misha", position="Intern", opened=True,
                        comment="other-y")
    share_grant(user=colleague, obj=theirs, grantee=manager, level=EDIT)
    forget(manager)
    return {"manager": manager, "colleague": colleague, "theirs": theirs, "mine": mine,
            "client": _client(manager)}


def _merge(world, **choices):
    data = {"ids": f"{world['theirs'].pk},{world['mine'].pk}", "survivor": world["theirs"].pk}
    data.update({f"field:{name}": pk for name, pk in choices.items()})
    return world["client"].post("/duplicates/merge/contact/", data)


def _unchanged(world):
    theirs = Contact.all_objects.get(pk=world["theirs"].pk)
    mine = Contact.all_objects.get(pk=world["mine"].pk)
    assert theirs.owner_id == world["colleague"].pk and not theirs.opened and theirs.position == "CEO"
    assert mine.deleted_at is None


def test_merge_refuses_choosing_the_owner_without_the_right(merge_world):
    response = _merge(merge_world, owner=merge_world["mine"].pk)
    assert response.status_code == 400
    assert "You may not change" in response.content.decode()
    _unchanged(merge_world)


def test_merge_refuses_switching_opened_on(merge_world):
    response = _merge(merge_world, opened=merge_world["mine"].pk)
    assert response.status_code == 400
    _unchanged(merge_world)


def test_merge_refuses_overwriting_a_read_only_field(merge_world):
    role = Role.objects.get(name="Sales manager")
    FieldRule.objects.create(role=role, entity="contact", field="position", mode=FieldRule.READ_ONLY)
    forget(merge_world["manager"])
    response = _merge(merge_world, position=merge_world["mine"].pk)
    assert response.status_code == 400
    _unchanged(merge_world)


def test_merge_screen_hides_hidden_fields_and_offers_no_protected_choice(merge_world):
    role = Role.objects.get(name="Sales manager")
    FieldRule.objects.create(role=role, entity="contact", field="comment", mode=FieldRule.HIDDEN)
    forget(merge_world["manager"])
    ids = f"{merge_world['theirs'].pk},{merge_world['mine'].pk}"
    response = merge_world["client"].get(f"/duplicates/merge/contact/?ids={ids}")
    body = response.content.decode()
    assert response.status_code == 200
    assert "secret-x" not in body and "other-y" not in body and 'name="field:comment"' not in body
    assert 'name="field:owner"' not in body and 'name="field:opened"' not in body
    assert 'name="field:first_name"' in body  # an ordinary field stays choosable
    # A hidden field can't be chosen by a hand-made POST either.
    response = _merge(merge_world, comment=merge_world["mine"].pk)
    assert response.status_code == 400
    _unchanged(merge_world)
    assert Contact.objects.get(pk=merge_world["theirs"].pk).comment == "secret-x"


def test_merge_with_allowed_choices_goes_through_and_keeps_protected_values(merge_world):
    response = _merge(merge_world, first_name=merge_world["mine"].pk)
    assert response.status_code == 302, response.content.decode()[:500]
    theirs = Contact.objects.get(pk=merge_world["theirs"].pk)
    assert theirs.first_name == "Misha"
    assert theirs.owner_id == merge_world["colleague"].pk and not theirs.opened  # kept, not taken from "mine"
    assert Contact.all_objects.get(pk=merge_world["mine"].pk).deleted_at is not None


def test_merge_result_is_rechecked_like_an_edit(db, plain_static):
    """A head of department may reassign; choosing an owner outside their reach is refused by the re-check."""
    team, away = make_department("Team"), make_department("Away")
    head = make_user("head1", department=team)
    assign_role("Head of sales", user=head)
    stranger = make_user("stranger1", department=away)
    a = make_contact(head, last_name="Same")
    b = make_contact(head, last_name="Same")
    Contact.objects.filter(pk=b.pk).update(owner=stranger, department=away)  # test set-up only
    share_grant(user=make_user("root1", superuser=True, department=None), obj=Contact.objects.get(pk=b.pk),
                grantee=head, level=EDIT)
    forget(head)
    client = _client(head)
    response = client.post("/duplicates/merge/contact/", {"ids": f"{a.pk},{b.pk}", "survivor": a.pk,
                                                         "field:owner": b.pk})
    assert response.status_code in (400, 403)
    assert Contact.objects.get(pk=a.pk).owner_id == head.pk
    assert Contact.all_objects.get(pk=b.pk).deleted_at is None


# ---------------------------------------------------------------------------
# 2. Formula escaping can't be bypassed by a leading control character; controls are refused on input


@pytest.mark.parametrize("text", ["\x01=HYPERLINK(\"http://evil\")", "\x00=1+2", "\x1f@SUM(A1)", "\x7f+cmd"])
def test_a_control_character_does_not_hide_a_formula(text):
    from crm_site.export_formats import csv_text, xlsx_value

    assert xlsx_value(text).startswith("'") and csv_text(text).startswith("'")
    assert "\x01" not in xlsx_value(text) and "\x00" not in csv_text(text)


def test_xlsx_export_of_a_stored_control_character_is_no_formula(db, plain_static):
    import io

    from openpyxl import load_workbook

    admin = make_user("root2", superuser=True, department=None)
    obj = make_contact(admin, last_name="Plain")
    Contact.objects.filter(pk=obj.pk).update(last_name="\x01=HYPERLINK(\"http://evil\",\"x\")")  # legacy data
    response = _client(admin).get("/contacts/export/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    values = dict(zip(rows[0], rows[1], strict=True))
    assert values["Last name"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    csv = _client(admin).get("/contacts/export/", {"format": "csv"})
    assert "'=HYPERLINK" in b"".join(csv.streaming_content).decode("utf-8-sig")


def test_control_characters_are_refused_on_input(db, plain_static):
    from django.core.exceptions import ValidationError

    from crm_site.services import record_create

    user = make_user("typist")
    with pytest.raises(ValidationError, match="control characters"):
        record_create(user=user, entity="contact", data={"last_name": "Bad\x01name"})
    record_create(user=user, entity="contact", data={"last_name": "Fine", "address": "Line 1\n\tLine 2"})
    count = Contact.objects.count()
    response = _client(user).post("/contacts/add/", {"last_name": "Evil\x00", "first_name": "x"})
    assert response.status_code == 400 and "control characters" in response.content.decode()
    assert Contact.objects.count() == count


# ---------------------------------------------------------------------------
# 3 and 4. NUL, oversized ids and huge searches never reach a 500


NUL_PAGES = ["/contacts/", "/contacts/autocomplete/", "/deals/board/", "/contacts/export/", "/companies/",
             "/leads/", "/deals/"]


def test_nul_in_searches_and_checks_is_refused_not_a_500(db, plain_static):
    admin = make_user("root3", superuser=True, department=None)
    make_contact(admin, last_name="Ivanov", phones=["+7 495 123-45-67"])
    client = _client(admin)
    for path in NUL_PAGES:
        for value in ("Iva\x00nov", "\x00", "a\x01b"):
            response = client.get(path, {"q": value})
            assert response.status_code == 400, (path, value, response.status_code)
    response = client.post("/duplicates/check/contact/", {"last_name": "Iva\x00nov", "ch-phone-0-value": "\x00"})
    assert response.status_code == 400


def test_oversized_ids_are_no_such_record(db, plain_static):
    admin = make_user("root4", superuser=True, department=None)
    a, b = make_contact(admin, last_name="A"), make_contact(admin, last_name="B")
    client = _client(admin)
    huge, negative = "9" * 25, "-5"
    for value in (huge, negative, "1e9", "0x10"):
        assert client.get("/duplicates/merge/contact/", {"ids": f"{a.pk},{value}"}).status_code == 404
        assert client.get("/contacts/", {"tags": value}).status_code < 500
        assert client.get("/deals/board/", {"pipeline": value}).status_code == 200
        assert client.post("/trash/delete/contact/", {"ids": [value], "confirm": "yes"}).status_code == 302
        assert client.post("/trash/restore/", {"items": [f"contact:{value}"]}).status_code == 404
        assert client.post("/timeline/notifications/", {"id": [value]}).status_code == 302
        assert client.get("/timeline/activities/", {"page": value}).status_code == 200
    assert Contact.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_quick_search_has_a_length_limit_with_a_message(db, plain_static):
    from crm_site.validation import MAX_SEARCH

    admin = make_user("root5", superuser=True, department=None)
    make_contact(admin, last_name="Ivanov")
    client = _client(admin)
    response = client.get("/contacts/", {"q": "Ivanov" + "x" * MAX_SEARCH})
    assert response.status_code == 200
    body = response.content.decode()
    assert "The search is too long" in body and "Ivanov</a>" not in body
    response = client.get("/contacts/", {"q": "x" * 50_000})
    assert response.status_code == 400 and "too long" in response.content.decode()
    assert client.get("/contacts/autocomplete/", {"q": "x" * 300}).status_code == 400


# ---------------------------------------------------------------------------
# 5. Duplicate scans, their status, "not a duplicate" marks and merge undo need rights


def test_scan_start_and_status_need_the_department_edit_level(db, plain_static):
    from dedup.models import ScanRun

    manager = make_user("scanmgr")
    assign_role("Sales manager", user=manager)  # edits own records only
    auditor = make_user("scanaud")
    assign_role("Read-only auditor", user=auditor)
    head = make_user("scanhead")
    assign_role("Head of sales", user=head)
    run = ScanRun.objects.create(entity="contact", started_by=head)
    for outsider in (manager, auditor):
        client = _client(outsider)
        assert client.post("/duplicates/scan/contact/").status_code == 403
        assert client.get(f"/duplicates/scans/{run.pk}/").status_code == 404
        assert 'action="/duplicates/scan/contact/"' not in client.get("/duplicates/?entity=contact").content.decode()
    assert ScanRun.objects.count() == 1
    client = _client(head)
    assert client.get(f"/duplicates/scans/{run.pk}/").status_code == 200
    assert 'action="/duplicates/scan/contact/"' in client.get("/duplicates/?entity=contact").content.decode()


def test_not_a_duplicate_needs_edit_on_both_records(db, plain_static):
    from dedup.models import DuplicateGroup, NotDuplicate, ScanRun

    owner = make_user("ndowner")
    auditor = make_user("ndaud")
    assign_role("Read-only auditor", user=auditor)
    a, b = make_contact(owner, last_name="Same"), make_contact(owner, last_name="Same")
    scan = ScanRun.objects.create(entity="contact", started_by=owner)
    group = DuplicateGroup.objects.create(scan=scan, entity="contact", object_ids=[a.pk, b.pk], score=99)
    assert _client(auditor).post(f"/duplicates/groups/{group.pk}/not-duplicate/").status_code == 403
    group.refresh_from_db()
    assert not NotDuplicate.objects.exists() and group.resolved_at is None
    assert _client(owner).post(f"/duplicates/groups/{group.pk}/not-duplicate/").status_code == 302
    assert NotDuplicate.objects.count() == 1


def test_merge_undo_needs_the_rights_the_merge_needed(db, plain_static):
    from dedup.models import MergeRecord
    from dedup.services import records_merge

    owner = make_user("undoowner")
    reader = make_user("undoreader")
    assign_role("Read-only auditor", user=reader)
    a, b = make_contact(owner, last_name="Twin"), make_contact(owner, last_name="Twin")
    merge = records_merge(user=owner, survivor=a, others=[b])
    response = _client(reader).post(f"/duplicates/merges/{merge.pk}/undo/")
    assert response.status_code == 403
    merge.refresh_from_db()
    assert merge.undone_at is None and Contact.all_objects.get(pk=b.pk).deleted_at is not None
    assert _client(owner).post(f"/duplicates/merges/{merge.pk}/undo/").status_code == 302
    assert MergeRecord.objects.get(pk=merge.pk).undone_at is not None
    assert Contact.objects.filter(pk=b.pk).exists()


# ---------------------------------------------------------------------------
# 6. A colleague given edit rights can't share the record onward


def test_resharing_is_refused_to_a_grantee(db, plain_static):
    from access.services import shares_of

    owner = make_user("shareowner")
    friend = make_user("sharefriend")
    third = make_user("sharethird")
    obj = make_contact(owner, last_name="Shared")
    share_grant(user=owner, obj=obj, grantee=friend, level=EDIT)
    client = _client(friend)
    assert client.get(f"/contacts/{obj.pk}/edit/").status_code == 200  # the grant still lets them edit
    assert client.post(f"/access/share/contact/{obj.pk}/", {"user": third.pk, "level": "edit"}).status_code == 403
    assert client.post(f"/access/share/contact/{obj.pk}/revoke/{friend.pk}/").status_code == 403
    assert shares_of(obj) == {friend.pk: EDIT}
    assert 'id="sharing"' not in client.get(f"/contacts/{obj.pk}/").content.decode()
    head = make_user("sharehead", department=Contact.objects.get(pk=obj.pk).department)
    assign_role("Head of sales", user=head)
    assert _client(head).post(f"/access/share/contact/{obj.pk}/", {"user": third.pk, "level": "read"}
                              ).status_code == 302
    assert shares_of(obj)[third.pk] == "read"
