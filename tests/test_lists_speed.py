"""Issue 15, lists at a million records — what the speed work must not change:

- a searched or filtered list read `fenced` (every match by the search's indexes, then sorted: lists.fenced_keys)
  gives exactly the rows and pages the list-order walk gives, for every entity, page 1, keyset pages both ways
  and numbered pages, within the user's scope (a manager's quick search alone never shows another
  department's records);
- the table rows written out by the `list_rows` tag are the markup the template loop gave;
- the header's task counters, whose visibility SQL is kept per scope (timeline.selectors.visible_filter_sql),
  follow a change of scope (a grant, a new department) on the next request.
No timings here: the figures are the bench's (`python -m bench --only lists`)."""

import datetime
import re
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from access.scopes import READ, forget, scope_key
from access.services import share_grant
from contacts.models import Contact
from crm_site import selectors
from crm_site.lists import selectors as lists
from tests import postgres
from tests.conftest import _client
from tests.factories import add_membership, make_company, make_contact, make_deal, make_department, make_lead

pytestmark = pytest.mark.django_db


def rows_of(response):
    assert response.status_code == 200, response.status_code
    return [row["object"].pk for row in response.context["rows"]]


def walk(client, url, params):
    """Every page of the list by its "next" cursors, one page back, and numbered page 2: (row ids per page,
    the pages' cursors and counts)."""
    seen, pages = [], []
    response = client.get(url, params)
    number = 1
    while True:
        page = response.context["page"]
        seen.append(rows_of(response))
        pages.append((page["has_next"], page["next_cursor"], page["prev_cursor"], page["count"], page["capped"]))
        if not page["next_cursor"]:
            break
        number += 1
        response = client.get(url, {**params, "page": number, "after": page["next_cursor"]})
    if page["prev_cursor"]:
        back = client.get(url, {**params, "page": number - 1, "before": page["prev_cursor"]})
        seen.append(rows_of(back))
    seen.append(rows_of(client.get(url, {**params, "page": 2})))
    return seen, pages


@pytest.fixture
def fence(monkeypatch):
    """fence(True): every searched or filtered list is read fenced; fence(False): by the list-order walk.
    PostgreSQL only: elsewhere lists are never read fenced (`few_rows`)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("fenced reads are PostgreSQL's")
    from crm_site.api import views as api_views

    def choose(value):
        def few_rows(queryset, limit=lists.FENCE_ROWS):
            return value

        monkeypatch.setattr(lists, "few_rows", few_rows)
        monkeypatch.setattr(api_views, "few_rows", few_rows)
    return choose


@pytest.mark.parametrize("sort", ["", "full_name", "-full_name", "-created_at"])
def test_a_search_alone_reads_the_same_pages_fenced_or_walked(user, other_user, fence, monkeypatch, sort, plain_static):
    """A manager-like user (own department) searching alone: the fenced pages equal the walked ones, and hold
    exactly the user's matching records, never another department's."""
    mine = [make_contact(user, last_name=f"Белов{index % 4}") for index in range(13)]
    make_contact(user, last_name="Иванов")
    theirs = [make_contact(other_user, last_name="Белов") for _ in range(4)]
    client = _client(user)
    monkeypatch.setattr(lists, "COUNT_CAP", 6)  # pages past the sixth row run the keyset query
    params = {"q": "бел", "per_page": 10, "sort": sort}
    fence(True)
    fenced = walk(client, reverse("contact_list"), params)
    fence(False)
    walked = walk(client, reverse("contact_list"), params)
    assert fenced[0] == walked[0]
    assert [page[:3] for page in fenced[1]] == [page[:3] for page in walked[1]]
    shown = {pk for page in fenced[0][:len(fenced[1])] for pk in page}
    assert shown == {contact.pk for contact in mine}
    assert not shown & {contact.pk for contact in theirs}


def test_the_fenced_page_is_the_walked_page_for_every_entity(user, fence, plain_static):
    company = make_company(user, name="Белый парус")
    for index in range(7):
        make_company(user, name=f"Белая гора {index}")
        make_lead(user, title=f"Белая заявка {index}")
        make_deal(user, title=f"Белая сделка {index}", company=company, amount=Decimal(100 * index))
    client = _client(user)
    for key in ("company", "lead", "deal"):
        params = {"q": "бел", "per_page": 10}
        fence(True)
        fenced = walk(client, reverse(f"{key}_list"), params)
        fence(False)
        walked = walk(client, reverse(f"{key}_list"), params)
        assert fenced == walked and fenced[0][0], key


@postgres.only
def test_fenced_keys_are_the_ordered_keys(user):
    for index in range(9):
        make_contact(user, last_name=f"Ключ{index % 3}", first_name="" if index % 2 else "Имя")
    queryset = Contact.objects.visible_to(user, READ)
    for expression, descending in (("created_at", True), ("last_name", False), ("first_name", True),
                                   ("first_name", False)):
        ordered = queryset.order_by(f"{'-' if descending else ''}{expression}", "-pk")
        expected = [tuple(row) for row in ordered.values_list(expression, "pk")[:7]]
        assert lists.fenced_keys(ordered, expression, descending, 7) == expected


def test_few_rows_asks_the_planner(user):
    make_contact(user, last_name="Редкий")
    queryset = Contact.objects.visible_to(user, READ).search("Редкий")
    from django.db import connection

    # PostgreSQL estimates the rows (a handful in a test base); elsewhere the walk is kept.
    assert lists.few_rows(queryset, limit=10_000) is (connection.vendor == "postgresql")
    assert lists.few_rows(queryset, limit=-1) is False


@postgres.only
def test_the_planners_estimate_is_asked_once_per_statement_for_a_while(user, monkeypatch):
    """A page plans its statement once: the estimate of the same statement is remembered for ESTIMATE_SECONDS,
    another statement (another search, another user's scope) is asked for, and an old estimate is asked again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_contact(user, last_name="Редкий")
    monkeypatch.setattr(lists, "_estimates", {})
    queryset = Contact.objects.visible_to(user, READ).search("Редкий")

    def explains(fn):
        with CaptureQueriesContext(connection) as queries:
            result = fn()
        return result, sum(query["sql"].startswith("EXPLAIN") for query in queries.captured_queries)

    assert explains(lambda: lists.few_rows(queryset)) == (True, 1)
    assert explains(lambda: lists.few_rows(queryset)) == (True, 0)
    assert explains(lambda: lists.few_rows(queryset, limit=-1)) == (False, 0)  # the same estimate, another limit
    other = Contact.objects.visible_to(user, READ).search("Другой")
    assert explains(lambda: lists.few_rows(other)) == (True, 1)
    monkeypatch.setattr(lists, "ESTIMATE_SECONDS", 0)
    assert explains(lambda: lists.few_rows(queryset)) == (True, 1)
    monkeypatch.setattr(lists, "ESTIMATES_KEPT", 1)  # full: forgotten, not grown
    lists.few_rows(other)
    assert len(lists._estimates) == 1


def test_the_manager_search_without_filter_lists_only_the_own_department(manager, fence, plain_static):
    from tests.factories import make_user

    outsider = make_user("outsider", department=make_department("Team B"))
    own = [make_contact(manager, last_name="Беляев") for _ in range(3)]
    other = make_contact(outsider, last_name="Беляев")
    client = _client(manager)
    for value in (True, False):
        fence(value)
        response = client.get(reverse("contact_list"), {"q": "Бел"})
        assert sorted(rows_of(response)) == sorted(contact.pk for contact in own)
        assert other.pk not in rows_of(response)
        assert response.context["page"]["count"] == 3


# ---------------------------------------------------------------------------
# The rows' markup

REFERENCE_LOOP = """{% load i18n %}{% for row in rows %}
        <tr>
          {% if bulk_actions %}<td class="select-col"><input type="checkbox" name="ids" value="{{ row.object.pk }}" form="bulk-form" aria-label="{% translate 'Select' %} {{ row.object }}"></td>{% endif %}
          {% for cell in row.cells %}
          <td{% if forloop.first %} class="cell-main"{% endif %} title="{% if forloop.first %}{{ cell.value|default:row.object }}{% else %}{{ cell.value }}{% endif %}">
            {% if forloop.first %}
              <a class="row-link" href="{{ row.object.get_absolute_url }}">{{ cell.value|default:row.object }}</a>
            {% elif cell.href %}
              <a href="{{ cell.href }}">{{ cell.value }}</a>
            {% elif cell.link %}
              <a href="{{ cell.link }}">{{ cell.value }}</a>
            {% else %}
              {{ cell.value }}
            {% endif %}
          </td>
          {% endfor %}
        </tr>
        {% endfor %}"""  # the loop generic/list_table.html had before the `list_rows` tag


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("language", ["en", "ru", "uk"])
def test_list_rows_write_the_markup_of_the_template_loop(user, bulk, language):
    from django.utils import translation

    named = make_contact(user, last_name="O'Brien <b>&", first_name="Ann")
    unnamed = make_contact(user, last_name="Пусто")
    rows = [
        {"object": named, "cells": [{"value": "O'Brien <b>& Ann", "link": ""},
                                    {"value": "+7 903 751-00-42", "href": "tel:+79037510042"},
                                    {"value": "Acme & Co", "link": "/companies/1/?a=1&b=2"},
                                    {"value": 1234567, "link": ""}, {"value": Decimal("1234.50"), "link": ""},
                                    {"value": datetime.date(2026, 12, 1), "link": ""},
                                    {"value": timezone.now(), "link": ""}, {"value": None, "link": ""},
                                    {"value": True, "link": ""}, {"link": ""}]},
        {"object": unnamed, "cells": [{"value": "", "link": ""}, {"value": "", "href": ""}]},
    ]
    with translation.override(language):
        reference = Template(REFERENCE_LOOP).render(Context({"rows": rows, "bulk_actions": bulk}))
        written = Template("{% load lists_tags %}{% list_rows rows bulk_actions %}").render(
            Context({"rows": rows, "bulk_actions": bulk}))
    assert written == reference


def test_the_list_page_shows_its_rows(user_client, user):
    contact = make_contact(user, last_name="Строкин", phones=["+7 903 751-00-42"])
    text = user_client.get(reverse("contact_list")).content.decode()
    assert f'href="{contact.get_absolute_url()}">Строкин' in text and 'href="tel:+79037510042"' in text


# ---------------------------------------------------------------------------
# The header's counters


def test_counters_follow_a_new_grant_and_a_new_department(user, other_user):
    """The counters' visibility SQL is kept per scope: a grant or a membership that widens the scope is counted on
    the next request (a fresh user object, as each request has)."""
    from timeline import selectors as timeline
    from timeline.models import Entry, EntryLink, Kind, TaskState

    hidden = make_contact(other_user)
    overdue = Entry.objects.create(kind=Kind.TASK, state=TaskState.PLANNED, author=other_user, responsible=user,
                                   subject="Overdue", deadline=timezone.now() - datetime.timedelta(hours=1))
    EntryLink.objects.create(entry=overdue, content_type=timeline.content_type_of(Contact), object_id=hidden.pk)

    def counted(person):
        forget(person)
        fresh = type(person).objects.get(pk=person.pk)
        expected = Entry.objects.filter(timeline.visible_filter(fresh), pk=overdue.pk).count()
        found = timeline.activity_counters(fresh)["overdue"]
        assert found == expected
        return found, scope_key(fresh, Contact, READ)

    before, key_before = counted(user)
    assert before == 0
    share_grant(user=other_user, obj=hidden, grantee=user, level="read")
    shared, key_shared = counted(user)
    assert shared == 1 and key_shared != key_before
    # A second department of the other user's: its records are the user's to read without the grant.
    from guardian.shortcuts import remove_perm

    remove_perm("contacts.view_contact", user, hidden)
    assert counted(user)[0] == 0
    add_membership(user, other_user.memberships.first().department)
    assert counted(user)[0] == 1


def test_scope_keys_differ_between_users_and_levels(user, colleague, other_user, admin_user, manager):
    keys = {scope_key(person, Contact, READ) for person in (user, colleague, other_user, manager)}
    assert len(keys) == 4  # the user's own id is part of every scope below "everything"
    assert scope_key(admin_user, Contact, READ) == "all"
    assert scope_key(None, Contact, READ) is None


def test_list_queries_stay_constant_with_a_fenced_search(user_client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(params):
        with CaptureQueriesContext(connection) as ctx:
            response = user_client.get(reverse("contact_list"), params)
        assert response.status_code == 200
        return len(ctx.captured_queries), response

    for index in range(12):
        make_contact(user, last_name=f"Счётов{index}")
    first, response = count({"q": "Счёт", "per_page": 10})
    deep, _ = count({"q": "Счёт", "per_page": 10, "page": 2, "after": response.context["page"]["next_cursor"]})
    assert deep <= first
    assert selectors.entity_list(user=user, entity="contact", params=QueryDict("q=Счёт")).queryset.count() == 12


def test_a_search_that_can_match_nothing_lists_nothing(user_client, user):
    make_contact(user, last_name="Пусто")
    too_long = "я" * 300
    response = user_client.get(reverse("contact_list"), {"q": too_long})
    assert response.status_code == 200 and rows_of(response) == []
    queryset = Contact.objects.visible_to(user, READ).filter(pk__in=[])
    assert lists.few_rows(queryset) is False
    assert lists.few_rows(Contact.objects.none()) is False


@pytest.mark.parametrize("sort", ["", "-created_at", "last_name"])
def test_the_api_reads_the_same_search_pages_fenced_or_walked(user, other_user, fence, sort):
    from tests.api_helpers import api_for

    mine = {make_contact(user, last_name=f"Белкин{index % 3}").pk for index in range(7)}
    make_contact(other_user, last_name="Белкин")
    api = api_for(user)

    def pages(value):
        fence(value)
        seen, params = [], {"q": "белк", "page_size": 3, "sort": sort}
        body = api.get("/api/v1/contacts/", params).json()
        seen.append([row["id"] for row in body["results"]])
        while body["next"]:
            body = api.get("/api/v1/contacts/", {**params, "cursor": body["next"]}).json()
            seen.append([row["id"] for row in body["results"]])
        return seen

    fenced, walked = pages(True), pages(False)
    assert fenced == walked and {pk for page in fenced for pk in page} == mine


def test_counters_of_a_user_who_may_read_nothing(db):
    """A role that reads no entity (only two-factor enrolment is open to them): the counters say 0."""
    from access.models import Role, RoleAssignment
    from tests.factories import make_user
    from timeline import selectors as timeline

    nobody = make_user("nobody", department=None)
    RoleAssignment.objects.create(role=Role.objects.create(name="Nothing", matrix={}), user=nobody)
    forget(nobody)
    assert timeline.activity_counters(nobody) == {"today": 0, "overdue": 0}


def test_a_page_reads_its_rows_channels_once_and_keeps_each_rows_own(user, django_assert_num_queries):
    first = make_contact(user, phones=["+79031112233", "+79031112244"], emails=["one@example.com"])
    bare = make_contact(user)
    make_company(user, phones=["+74951234567"])  # a company may share a contact's pk: its phones must not mix in
    records = list(Contact.objects.filter(pk__in=[first.pk, bare.pk]).order_by("pk"))
    with django_assert_num_queries(1):
        selectors.with_channels(records)
        phones = [[c.normalized for c in record.phones] for record in records]
        emails = [[c.value for c in record.emails] for record in records]
    assert phones == [[c.normalized for c in first.communications.all() if c.channel == "phone"], []]
    assert emails == [["one@example.com"], []]
    assert records[0].primary_phone.normalized == first.communications.filter(channel="phone").first().normalized
    assert selectors.with_channels([]) == []


@postgres.only
def test_timestamps_load_with_the_compiled_loader_and_the_same_values():
    """crm_site.pgtime: psycopg's compiled loader instead of Django's pure-Python one, same aware UTC values."""
    import datetime as dt

    import psycopg
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    from crm_site import pgtime

    if not pgtime._compiled_loader():
        pytest.skip("psycopg without its compiled build")
    oid = psycopg.postgres.types["timestamptz"].oid
    sql = ("SELECT now(), '2026-06-01 12:00:00.5+03'::timestamptz, NULL::timestamptz, "
           "'1900-01-01 00:00:00+00'::timestamptz, '2026-03-29 01:30:00.000001+00'::timestamptz")
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(oid, psycopg.pq.Format.TEXT).__name__ == "UtcTimestamptzLoader"
        cursor.execute(sql)
        ours = cursor.fetchone()
    with connection.cursor() as cursor:
        register_tzloader(dt.UTC, cursor.cursor)  # Django's own loader, on this cursor only
        cursor.execute(sql.replace("now()", f"'{ours[0].isoformat()}'::timestamptz"))
        djangos = cursor.fetchone()
    assert ours == djangos
    assert [value.tzinfo for value in ours if value is not None] == [dt.UTC] * 4
    assert [str(value) for value in ours] == [str(value) for value in djangos]


def test_the_compiled_loader_is_left_out_when_the_connection_is_not_in_utc():
    import datetime as dt

    from crm_site import pgtime

    class Info:
        @staticmethod
        def parameter_status(name):
            return "Europe/Moscow"

    class Raw:
        info = Info()
        adapters = None

    class Wrapper:
        vendor = "postgresql"
        timezone = dt.UTC
        connection = Raw()

    Raw.adapters = type("Adapters", (), {"register_loader": lambda *args: pytest.fail("registered")})()
    pgtime.use_compiled_timestamps(sender=None, connection=Wrapper())
    Wrapper.vendor = "sqlite"
    pgtime.use_compiled_timestamps(sender=None, connection=Wrapper())


def test_a_walked_list_tests_subquery_matches_by_hash_and_finds_the_same(user_client, user, fence, plain_static):
    """crm_site.expressions.walked_read: a list walked in its order compiles the search's email and phone matches
    as `IN (subquery)` (a hashed SubPlan, one probe per row) instead of `= ANY(ARRAY(…))` (a scan of the array per
    row); the rows are the same either way, a contact found by their company's name included."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    company = make_company(user, name="Белогорье")
    by_company = make_contact(user, last_name="Сидоров", companies=[company])
    by_name = make_contact(user, last_name="Белов")
    by_email = make_contact(user, last_name="Петров", emails=["belka@example.com"])
    make_contact(user, last_name="Орлов")
    seen = {}
    for fenced in (True, False):
        fence(fenced)
        with CaptureQueriesContext(connection) as captured:
            response = user_client.get(reverse("contact_list"), {"q": "bel"})
            named = user_client.get(reverse("contact_list"), {"q": "Бел"})
        keys = next(q["sql"] for q in captured.captured_queries if '"crm_site_communication"' in q["sql"])
        # the email and phone matches (a company's name is matched on the row's copy, then checked by hash)
        channels = re.findall(r'"contacts_contact"\."id" (= ANY\(ARRAY\(|IN \()SELECT \S+ AS "object_id" '
                              r'FROM "crm_site_communication"', keys)
        assert channels and set(channels) == ({"= ANY(ARRAY("} if fenced else {"IN ("})
        seen[fenced] = (rows_of(response), rows_of(named))
    assert seen[True] == seen[False]
    assert set(seen[True][0]) == {by_email.pk}
    assert set(seen[True][1]) == {by_company.pk, by_name.pk}
