"""`field__any`: the rows of `field__in`, as one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact


@pytest.fixture
def contacts(user):
    return [Contact.objects.create(last_name=name, owner=user) for name in ("Орлов", "Соколова", "Лебедев")]


def test_any_selects_what_in_selects(contacts):
    wanted = [contacts[0].pk, contacts[2].pk, contacts[0].pk, None, 10**9]
    assert set(Contact.objects.filter(pk__any=wanted)) == set(Contact.objects.filter(pk__in=wanted))
    assert set(Contact.objects.filter(pk__any=wanted)) == {contacts[0], contacts[2]}
    names = ["Орлов", "Лебедев", "nobody"]
    assert set(Contact.objects.filter(last_name__any=names).values_list("last_name", flat=True)) == {"Орлов", "Лебедев"}


def test_any_on_a_foreign_key(contacts, user, other_user):
    assert set(Contact.objects.filter(owner_id__any=[user.pk, other_user.pk])) == set(contacts)
    assert list(Contact.objects.filter(owner__any=[other_user.pk])) == []


def test_any_of_nothing_is_no_row(contacts):
    assert list(Contact.objects.filter(pk__any=[])) == []
    assert list(Contact.objects.filter(pk__any=[None])) == []
    assert Contact.objects.exclude(pk__any=[]).count() == 3


def test_any_sends_one_parameter_on_postgresql(contacts):
    ids = [c.pk for c in contacts] + list(range(10**8, 10**8 + 2000))
    with CaptureQueriesContext(connection) as queries:
        assert Contact.objects.filter(pk__any=ids).count() == 3
    sql = queries.captured_queries[-1]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and " IN (" not in sql  # one array, not 2,003 placeholders
    else:
        assert " IN (" in sql


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL array literal")
def test_text_array_literal_round_trips_any_text(db):
    from dedup.scoring import text_array

    values = ["plain", "", "с пробелом", 'quote " inside', "back\\slash", "comma,brace{}", "NULL", "end\\", "'"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT unnest(%s::text[])", [text_array(values)])
        assert [row[0] for row in cursor.fetchall()] == values
