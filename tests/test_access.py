"""The role matrix, departments, sharing grants, the auth backend and the audit log."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.models import AuditLog, Level, Role, RoleAssignment
from access.scopes import ADD, DELETE, EDIT, EXPORT, IMPORT, READ, can, scope_q
from access.services import share_grant, share_revoke, shares_of
from crm_site.registry import registry
from tests.factories import assign_role, make_department, make_record, make_user, search_field

pytestmark = pytest.mark.django_db
ENTITY_KEYS = registry.keys()


def visible(model, user, action=READ):
    return set(model.objects.visible_to(user, action))


def custom_role(name, **levels):
    """A role whose "*" row has the given levels (others none)."""
    return Role.objects.create(name=name, matrix={"*": {a: int(levels.get(a, Level.NONE)) for a in
                                                        ("read", "add", "edit", "delete", "export", "import")}})


@pytest.fixture
def tree(db):
    """root → branch → leaf, plus an unrelated department."""
    root = make_department("Root")
    branch = make_department("Branch", parent=root)
    leaf = make_department("Leaf", parent=branch)
    other = make_department("Other")
    people = {name: make_user(name, department=dept) for name, dept in
              (("rooter", root), ("brancher", branch), ("leafer", leaf), ("stranger", other))}
    return {"root": root, "branch": branch, "leaf": leaf, "other": other, **people}


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_each_level_reaches_exactly_its_scope(key, tree):
    model = registry[key].model
    me = tree["brancher"]
    records = {
        "own": make_record(key, me),
        "department": make_record(key, make_user(department=tree["branch"])),
        "subdepartment": make_record(key, tree["leafer"]),
        "parent": make_record(key, tree["rooter"]),
        "opened": make_record(key, tree["stranger"], opened=True),
        "closed": make_record(key, tree["stranger"]),
    }
    expected = {
        Level.NONE: set(),
        Level.OWN: {"own"},
        Level.DEPARTMENT: {"own", "department"},
        Level.SUBDEPARTMENTS: {"own", "department", "subdepartment"},
        Level.ALL_OPEN: {"own", "department", "subdepartment", "opened"},
        Level.ALL: set(records),
    }
    for value, names in expected.items():
        RoleAssignment.objects.filter(user=me).delete()
        role = custom_role(f"read {value}", read=value)
        RoleAssignment.objects.create(role=role, user=me)
        me = type(me).objects.get(pk=me.pk)  # a new request: nothing cached
        assert visible(model, me) == {records[n] for n in names}, Level(value).label
        assert all(can(me, records[n], READ) == (n in names) for n in records)
        assert not visible(model, me, EDIT)


def test_role_through_a_department_and_most_permissive_wins(tree):
    me = tree["leafer"]
    theirs = make_record("contact", tree["stranger"])
    assign_role("Sales manager", user=me)
    assert not can(me, theirs, READ)
    assign_role("Read-only auditor", department=tree["leaf"])  # every member of Leaf inherits it
    me = type(me).objects.get(pk=me.pk)
    assert can(me, theirs, READ)
    assert not can(me, theirs, EDIT)  # auditor reads only; manager edits own only
    assert can(me, make_record("contact", me), EDIT)


def test_default_role_only_without_any_other(tree):
    me = tree["leafer"]
    assert scope_q(me, registry["contact"].model, ADD) is not None  # Employee (default) may add
    assign_role("Read-only auditor", user=me)
    me = type(me).objects.get(pk=me.pk)
    assert scope_q(me, registry["contact"].model, ADD) is None
    Role.objects.update(is_default=False)
    RoleAssignment.objects.all().delete()
    me = type(me).objects.get(pk=me.pk)
    assert scope_q(me, registry["contact"].model, READ) is None


def test_entity_row_overrides_the_star_row(tree):
    me = tree["leafer"]
    role = custom_role("Contacts only", read=Level.NONE)
    role.matrix["contact"] = {"read": Level.ALL}
    role.save()
    RoleAssignment.objects.create(role=role, user=me)
    assert can(me, make_record("contact", tree["stranger"]), READ)
    assert not can(me, make_record("company", tree["stranger"]), READ)


def test_manager_and_head_of_sales(tree):
    head, manager = tree["rooter"], tree["leafer"]
    assign_role("Head of sales", user=head)
    assign_role("Sales manager", user=manager)
    in_leaf = make_record("deal", manager)
    other = make_record("deal", tree["stranger"])
    for action in (READ, EDIT, DELETE, EXPORT, IMPORT):
        assert can(head, in_leaf, action)
        assert not can(head, other, action)
    assert can(manager, in_leaf, EDIT) and not can(manager, in_leaf, EXPORT)
    assert not can(manager, other, READ)


def test_changes_apply_on_the_next_request(tree, plain_static):
    me = tree["leafer"]
    assign_role("Sales manager", user=me)
    theirs = make_record("contact", tree["stranger"])
    client = Client()
    client.force_login(me)
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assignment = assign_role("Read-only auditor", user=me)
    assert client.get(theirs.get_absolute_url()).status_code == 200
    assignment.delete()
    assert client.get(theirs.get_absolute_url()).status_code == 404


# ---------------------------------------------------------------------------
# has_perm through the backend


def test_has_perm_answers_from_the_matrix(tree):
    me = tree["leafer"]
    assign_role("Sales manager", user=me)
    mine, theirs = make_record("contact", me), make_record("contact", tree["stranger"])
    assert me.has_perm("contacts.view_contact", mine) and me.has_perm("contacts.change_contact", mine)
    assert me.has_perm("contacts.delete_contact", mine)
    assert not me.has_perm("contacts.view_contact", theirs)
    assert not me.has_perm("contacts.change_contact", theirs)
    assert me.has_perm("contacts.add_contact") and not me.has_perm("contacts.export_contact")


# ---------------------------------------------------------------------------
# Sharing


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_grant_read_then_edit_then_revoke(key, tree, plain_static):
    owner, friend = tree["leafer"], tree["stranger"]
    assign_role("Sales manager", user=friend)
    obj = make_record(key, owner)
    model = registry[key].model
    assert obj not in visible(model, friend)
    share_grant(user=owner, obj=obj, grantee=friend, level=READ)
    friend = type(friend).objects.get(pk=friend.pk)
    assert obj in visible(model, friend) and not can(friend, obj, EDIT)
    client = Client()
    client.force_login(friend)
    listing = client.get(reverse(f"{key}_list"))
    assert obj in [row["object"] for row in listing.context["rows"]]
    assert client.get(reverse(f"{key}_edit", args=[obj.pk])).status_code == 403
    share_grant(user=owner, obj=obj, grantee=friend, level=EDIT)
    friend = type(friend).objects.get(pk=friend.pk)
    assert can(friend, obj, EDIT) and not can(friend, obj, DELETE)
    assert friend.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}", obj)
    assert shares_of(obj) == {friend.pk: EDIT}
    assert client.get(reverse(f"{key}_edit", args=[obj.pk])).status_code == 200
    share_revoke(user=owner, obj=obj, grantee=friend)
    friend = type(friend).objects.get(pk=friend.pk)
    assert not can(friend, obj, READ)
    assert list(AuditLog.objects.filter(object_id=obj.pk).values_list("action", flat=True)) == [
        AuditLog.GRANT_REMOVED, AuditLog.GRANT_ADDED, AuditLog.GRANT_ADDED]


def test_group_grants_and_the_one_query_that_finds_any_grant(tree):
    """A record shared with a group reaches its members (view: read; change: read and edit), and whether anything is
    shared with a user is answered for every entity and action in one query (access.scopes._granted)."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    from access.scopes import forget

    owner, friend = tree["leafer"], tree["stranger"]
    assign_role("Sales manager", user=friend)
    group = Group.objects.create(name="Partners")
    friend.groups.add(group)
    viewed, changed = make_record("contact", owner), make_record("company", owner)
    model_of = {key: registry[key].model for key in ("contact", "company")}
    assert viewed not in visible(model_of["contact"], friend)
    assign_perm("contacts.view_contact", group, viewed)
    assign_perm("companies.change_company", group, changed)
    forget(friend)
    assert viewed in visible(model_of["contact"], friend) and not can(friend, viewed, EDIT)
    assert changed in visible(model_of["company"], friend) and can(friend, changed, EDIT)
    forget(friend)
    with CaptureQueriesContext(connection) as ctx:
        for model in model_of.values():
            for action in (READ, EDIT):
                scope_q(friend, model, action)
    granted = [query for query in ctx.captured_queries if "grant" in query["sql"]]
    if connection.vendor == "postgresql":  # elsewhere each entity and action is asked on its own
        assert len(granted) == 1, granted
    friend.groups.remove(group)  # out of the group: nothing shared any more (a new request)
    forget(friend)
    assert viewed not in visible(model_of["contact"], friend)
    assert changed not in visible(model_of["company"], friend)


def test_only_an_editor_may_share(tree):
    owner, reader, friend = tree["leafer"], tree["brancher"], tree["stranger"]
    obj = make_record("contact", owner)
    assign_role("Read-only auditor", user=reader)
    with pytest.raises(PermissionDenied):
        share_grant(user=reader, obj=obj, grantee=friend, level=READ)
    assert shares_of(obj) == {}


def test_share_views_from_the_card(tree, plain_static):
    owner, friend = tree["leafer"], tree["stranger"]
    obj = make_record("company", owner)
    client = Client(headers={"accept-language": "en"})
    client.force_login(owner)
    card = client.get(obj.get_absolute_url())
    assert reverse("access_share", args=["company", obj.pk]) in card.content.decode()
    response = client.post(reverse("access_share", args=["company", obj.pk]), {"user": friend.pk, "level": "edit"})
    assert response.status_code == 302
    assert shares_of(obj) == {friend.pk: EDIT}
    assert "Stranger" in client.get(obj.get_absolute_url()).content.decode()
    client.post(reverse("access_share", args=["company", obj.pk]), {"user": owner.pk, "level": "edit"})
    assert shares_of(obj) == {friend.pk: EDIT}  # not with oneself
    client.post(reverse("access_revoke", args=["company", obj.pk, friend.pk]))
    assert shares_of(obj) == {}
    outsider = Client()
    outsider.force_login(friend)
    assert outsider.post(reverse("access_share", args=["company", obj.pk]),
                         {"user": friend.pk, "level": "edit"}).status_code == 404
    assert shares_of(obj) == {}


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_purge_deletes_grants_and_a_reused_id_inherits_nothing(key, tree):
    owner, friend = tree["leafer"], tree["stranger"]
    model = registry[key].model
    obj = make_record(key, owner)
    share_grant(user=owner, obj=obj, grantee=friend, level=EDIT)
    pk = obj.pk
    model.all_objects.filter(pk=pk).delete()  # the bin's purge is a hard delete
    from access.grants import grant_models_for

    user_grant, _ = grant_models_for(model)
    assert not user_grant.objects.filter(content_object_id=pk).exists()
    reborn = make_record(key, owner)
    model.all_objects.filter(pk=reborn.pk).update(id=pk)
    reborn = model.all_objects.get(pk=pk)
    friend = type(friend).objects.get(pk=friend.pk)
    assert not can(friend, reborn, READ)


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_list_query_count_does_not_grow_with_records_or_grants(key, tree, plain_static):
    owner, friend = tree["leafer"], tree["stranger"]
    assign_role("Sales manager", user=friend)
    client = Client()
    client.force_login(friend)
    path = reverse(f"{key}_list")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx)

    share_grant(user=owner, obj=make_record(key, owner), grantee=friend, level=READ)
    make_record(key, friend)
    queries()  # warm the per-process caches (content types) that a first request fills
    first = queries()
    for _ in range(4):
        share_grant(user=owner, obj=make_record(key, owner), grantee=friend, level=EDIT)
        make_record(key, friend)
    assert queries() == first


# ---------------------------------------------------------------------------
# Cross-department cases


def test_another_departments_contact_is_not_found_by_phone_autocomplete_or_board(tree, plain_static):
    me, stranger = tree["leafer"], tree["stranger"]
    assign_role("Sales manager", user=me)
    theirs = make_record("contact", stranger, last_name="Foreignov", phones=["+7 495 765-43-21"])
    deal = make_record("deal", stranger, title="Foreign deal")
    mine = make_record("deal", me, title="My deal")
    client = Client(headers={"accept-language": "en"})
    client.force_login(me)
    for query in ("+7 495 765-43-21", "84957654321", "765-43-21", "Foreignov"):
        body = client.get(reverse("contact_list"), {"q": query}).content.decode()
        assert theirs.get_absolute_url() not in body
        data = client.get(reverse("contact_autocomplete"), {"q": query}).json()
        assert data["results"] == []
    board = client.get(reverse("deal_board")).content.decode()
    assert "Foreign deal" not in board and "My deal" in board
    assert client.post(reverse("deal_move", args=[deal.pk]), {"stage": deal.stage_id}).status_code == 404
    assert mine.pk


def test_home_counts_only_visible_records(tree, plain_static):
    me = tree["leafer"]
    assign_role("Sales manager", user=me)
    make_record("contact", tree["stranger"])
    make_record("contact", me)
    client = Client()
    client.force_login(me)
    new = client.get("/").context["tables"]["new"]  # the dashboard's "new records" of this period
    label = str(registry["contact"].verbose_name_plural).capitalize()
    [row] = [row for row in new.rows if str(row[0].text) == label]
    assert row[1].value == 1


# ---------------------------------------------------------------------------
# Audit log


def test_login_failed_login_and_logout_are_logged(tree, plain_static):
    client = Client()
    assert client.post(reverse("login"), {"username": "leafer", "password": "wrong-one"}).status_code == 200
    failed = AuditLog.objects.get(action=AuditLog.LOGIN_FAILED)
    assert failed.actor is None and failed.actor_name == "leafer"
    assert "wrong-one" not in str(failed.details)
    from tests.factories import PASSWORD

    assert client.post(reverse("login"), {"username": "leafer", "password": PASSWORD}).status_code == 302
    assert AuditLog.objects.filter(action=AuditLog.LOGIN, actor=tree["leafer"]).exists()
    client.post(reverse("logout"))
    assert AuditLog.objects.filter(action=AuditLog.LOGOUT, actor=tree["leafer"]).exists()


def test_search_field_helper_is_available():
    assert search_field("contact")


def test_prefilled_autocomplete_does_not_name_an_invisible_record(tree, plain_static):
    me = tree["leafer"]
    assign_role("Sales manager", user=me)
    theirs = make_record("company", tree["stranger"], name="Hiddenfirm")
    client = Client()
    client.force_login(me)
    body = client.get(reverse("deal_add"), {"company": theirs.pk}).content.decode()
    assert "Hiddenfirm" not in body
    mine = make_record("company", me, name="Myfirm")
    assert "Myfirm" in client.get(reverse("deal_add"), {"company": mine.pk}).content.decode()
