"""crm_site.epochs for access.scopes: what was resolved about a user's access is reused across requests only while the access data is
unchanged — any write to the tables it rests on (by the ORM, in bulk, by raw SQL, rolled back or not) makes the
next request resolve it again, so a removed role or grant applies at once."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from access.models import FieldRule, Membership, Role, RoleAssignment
from access.scopes import EPOCH, watched_tables
from contacts.models import Contact, ContactUserGrant
from crm_site import epochs
from tests import postgres
from tests.factories import PASSWORD, make_contact, make_department, make_user

pytestmark = [pytest.mark.django_db(transaction=True), postgres.only]


@pytest.fixture(autouse=True)
def _empty_store():
    epochs.forget_all()
    yield
    epochs.forget_all()


def counter():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n FROM {epochs.TABLE} WHERE name = %s", [EPOCH])
        return cursor.fetchone()[0]


def manager(username):
    person = make_user(username, department=make_department(f"{username} dept"))
    RoleAssignment.objects.create(role=Role.objects.get(name="Sales manager"), user=person)
    return person


def logged_in(person):
    client = Client()
    assert client.login(username=person.username, password=PASSWORD)
    return client


def listed(client):
    response = client.get("/contacts/")
    assert response.status_code == 200
    return {obj.pk for obj in (row["object"] for row in response.context["rows"])}


def role_queries(client):
    with CaptureQueriesContext(connection) as captured:
        client.get("/contacts/")
    return [q["sql"] for q in captured.captured_queries if "access_role" in q["sql"] or "fieldrule" in q["sql"]]


def test_every_watched_table_has_the_trigger():
    with connection.cursor() as cursor:
        for table in watched_tables():
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                           [epochs.trigger_name(EPOCH), table])
            assert cursor.fetchone()[0] == 1, table
    assert "contacts_contactusergrant" in watched_tables()
    assert "auth_user_groups" in watched_tables()


def test_the_second_request_reads_no_roles_and_a_change_applies_on_the_next():
    seller, other = manager("seller"), manager("other")
    own = make_contact(seller, last_name="Own")
    theirs = make_contact(other, last_name="Theirs")
    client = logged_in(seller)
    assert listed(client) == {own.pk}
    assert role_queries(client) == []  # resolved by the first request, kept

    assign_perm("contacts.view_contact", seller, theirs)  # shared with the seller
    assert listed(client) == {own.pk, theirs.pk}
    ContactUserGrant.objects.filter(user=seller).delete()  # and unshared
    assert listed(client) == {own.pk}

    RoleAssignment.objects.filter(user=seller).update(role=Role.objects.get(name="Head of sales"))
    Membership.objects.create(user=seller, department=other.memberships.get().department)
    assert listed(client) == {own.pk, theirs.pk}  # department level, the other's department joined
    RoleAssignment.objects.filter(user=seller).delete()
    Role.objects.filter(is_default=True).update(is_default=False)
    assert listed(client) == set()  # no role left: nothing to read


def test_a_field_rule_applies_on_the_next_request():
    seller = manager("seller")
    make_contact(seller, last_name="Own")
    client = logged_in(seller)
    shown = client.get("/contacts/").context["chosen_columns"]
    assert "position" in shown or "phone" in shown
    hidden = "position" if "position" in shown else "phone"
    FieldRule.objects.create(role=Role.objects.get(name="Sales manager"), entity="contact", field=hidden,
                             mode=FieldRule.HIDDEN)
    assert hidden not in client.get("/contacts/").context["chosen_columns"]


@pytest.mark.parametrize("write", ["orm", "bulk_create", "update", "raw", "truncate_free_delete", "groups"])
def test_every_kind_of_write_moves_the_counter(write):
    seller, other = manager("seller"), manager("other")
    contact = make_contact(other)
    before = counter()
    if write == "orm":
        assign_perm("contacts.change_contact", seller, contact)
    elif write == "bulk_create":
        Membership.objects.bulk_create([Membership(user=seller, department=other.memberships.get().department)])
    elif write == "update":
        Role.objects.filter(name="Sales manager").update(description="changed")
    elif write == "raw":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM access_roleassignment WHERE user_id = %s", [seller.pk])
    elif write == "truncate_free_delete":
        Contact.objects.filter(pk=contact.pk).delete()  # its grants go with it (none here: the statement counts)
        ContactUserGrant.objects.all().delete()
    elif write == "groups":
        seller.groups.add(Group.objects.create(name="Partners"))
    assert counter() != before


def test_a_rolled_back_value_is_never_given_again():
    seller = manager("seller")
    before = counter()
    with pytest.raises(RuntimeError), transaction.atomic():
        RoleAssignment.objects.filter(user=seller).delete()
        inside = counter()
        raise RuntimeError
    assert counter() == before
    Role.objects.filter(name="Sales manager").update(description="changed")
    assert counter() not in (before, inside)


def test_what_is_resolved_inside_a_transaction_serves_that_request_only():
    from access.scopes import member_department_ids, user_roles

    seller = manager("seller")
    with transaction.atomic():
        member_department_ids(seller)  # the counter is read: the committed value
        RoleAssignment.objects.filter(user=seller).delete()  # not committed yet
        assert "Sales manager" not in [r.name for r in user_roles(seller)]
        transaction.set_rollback(True)
    next_request = type(seller).objects.get(pk=seller.pk)
    assert [r.name for r in user_roles(next_request)] == ["Sales manager"]  # the rolled-back state was not kept


def test_a_load_with_triggers_off_moves_the_counter_by_hand():
    before = counter()
    epochs.bump_for_tables(["access_membership"])
    assert counter() != before


def test_list_settings_and_segments_are_kept_until_one_changes():
    from crm_site.lists import services as lists
    from crm_site.registry import registry

    seller = manager("seller")
    make_contact(seller, last_name="Own")
    client = logged_in(seller)

    def lists_queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/contacts/")
        return response, [q["sql"] for q in captured.captured_queries
                          if "lists_listsettings" in q["sql"] or "lists_segment" in q["sql"]]

    lists_queries()
    response, queries = lists_queries()
    assert queries == [] and response.context["segments"] == []
    lists.segment_create(user=seller, entity=registry["contact"], name="Mine", params=QueryDict("q=Own"))
    response, queries = lists_queries()
    assert [s.name for s in response.context["segments"]] == ["Mine"] and queries
    response = client.post("/lists/contact/columns/", {"columns": ["name", "phone"], "page_size": "50"})
    assert client.get("/contacts/").context["page_size"] == 50
