"""Issue 15, lists: the filter panel (each kind, in the URL), segments (counts, shared scope, the export's scope),
bulk actions (rights row by row, history, the background job), capped counts and keyset pages, the quick search
cases from the issue, and constant query counts."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from crm_site import selectors
from crm_site.lists import filters as list_filters
from crm_site.lists import selectors as lists
from crm_site.lists import services as list_services
from crm_site.lists.models import BulkJob, Segment
from crm_site.models import Tag
from crm_site.registry import registry
from deals.models import Deal
from tests import postgres
from tests.factories import client_type, make_company, make_contact, make_deal, make_lead

pytestmark = pytest.mark.django_db


def listed(user, key="contact", **params):
    query = QueryDict(mutable=True)
    for name, value in params.items():
        query.setlist(name, value if isinstance(value, list) else [str(value)])
    return set(selectors.entity_list(user=user, entity=key, params=query).queryset)


def rows_of(response):
    assert response.status_code == 200, response.status_code
    return [row["object"] for row in response.context["rows"]]


# ---------------------------------------------------------------------------
# Filters, one per kind


def test_text_filter_contains_equals_empty_filled(user):
    a = make_contact(user, last_name="Николаев", position="Директор")
    b = make_contact(user, last_name="Николаевский", position="")
    assert listed(user, last_name="колаев") == {a, b}
    assert listed(user, last_name="николаев", last_name_op="equals") == {a}
    assert listed(user, position_op="empty") == {b}
    assert listed(user, position_op="filled") == {a}
    assert listed(user, last_name_op="equals") == {a, b}  # no text: no filter


def test_number_range_filter(user):
    small = make_deal(user, amount=Decimal("100"))
    big = make_deal(user, amount=Decimal("5000"))
    assert listed(user, "deal", amount_min="1000") == {big}
    assert listed(user, "deal", amount_max="1000") == {small}
    assert listed(user, "deal", amount_min="50", amount_max="6000") == {small, big}


def test_date_presets_and_range(user):
    today = make_contact(user)
    old = make_contact(user)
    Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    assert listed(user, created_at="today") == {today}
    assert listed(user, created_at="days", created_at_days="7") == {today}
    assert listed(user, created_at="days", created_at_days="60") == {today, old}
    day = (timezone.localdate() - datetime.timedelta(days=40)).isoformat()
    assert listed(user, created_at_after=day, created_at_before=day) == {old}
    born = make_contact(user, birthday=None)
    assert born in listed(user, birthday="empty")
    first, last = list_filters.preset_dates("last_month", today=datetime.date(2026, 3, 15))
    assert (first, last) == (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
    assert list_filters.preset_dates("week", today=datetime.date(2026, 12, 3)) == (
        datetime.date(2026, 11, 30), datetime.date(2026, 12, 6))


def test_any_of_lists_tags_owner_yes_no(user, colleague):
    vip, mailing = Tag.objects.create(name="VIP"), Tag.objects.create(name="Mailing")
    a = make_contact(user, type=client_type("client"))
    b = make_contact(colleague, type=client_type("partner"), opened=True)
    a.tags.set([vip, mailing])
    b.tags.set([mailing])
    assert listed(user, type=[a.type_id]) == {a}
    assert listed(user, type=[a.type_id, b.type_id]) == {a, b}
    both = selectors.entity_list(user=user, entity="contact",
                                 params=QueryDict(f"tags={vip.pk}&tags={mailing.pk}")).queryset
    assert sorted(both.values_list("pk", flat=True)) == sorted([a.pk, b.pk])  # a shows once, no DISTINCT
    assert listed(user, owner=[colleague.pk]) == {b}
    assert listed(user, opened="1") == {b}
    assert listed(user, opened="0") == {a}
    assert listed(user, opened="") == {a, b}


def test_related_company_filters(user):
    globex = make_company(user, name="Globex")
    worker = make_contact(user, companies=[globex])
    make_contact(user)
    assert listed(user, company="glob") == {worker}
    deal = make_deal(user, company=globex)
    make_deal(user, company=make_company(user, name="Initech"))
    assert listed(user, "deal", company_name="globex") == {deal}


def test_filter_choices_read_as_people_expect(user_client, user, colleague):
    Tag.objects.create(name="VIP")
    assert 'name="owner"' not in user_client.get(reverse("contact_list")).content.decode()  # loaded when opened
    html = user_client.get(reverse("contact_list"), {"_panel": "filters"}).content.decode()
    assert "<html" not in html
    assert "Carol Clark" in html  # the owner filter names people, not logins
    assert "---------" not in html and "Unknown" not in html
    assert 'type="checkbox" name="tags"' in html and "<select multiple" not in html  # no Ctrl-click
    assert 'name="created_at_days"' in html and 'name="amount_min"' not in html
    inline = user_client.get(reverse("contact_list"), {"_filters": "1"}).content.decode()  # without JavaScript
    assert "Carol Clark" in inline and "<html" in inline
    deals = user_client.get(reverse("deal_list"), {"_panel": "filters"}).content.decode()
    assert 'name="amount_min"' in deals and 'name="company_name"' in deals and 'name="expected_close_date"' in deals


def test_a_hidden_field_gets_no_filter(user):
    entity = registry["contact"]
    names = {d.name for d in list_filters.filter_definitions(entity, user, hidden={"position", "tags"})}
    assert "position" not in names and "tags" not in names and "last_name" in names


@postgres.only
def test_pluggable_source_and_json_containment(user):
    def source(entity, _user):
        if entity.key == "contact":
            yield list_filters.FilterDef("cf_car", "Car", list_filters.JSONContainsFilter(key="car"), field="cf_car")

    list_filters.register_filter_source(source)
    try:
        a = make_contact(user)
        b = make_contact(user)
        Contact.objects.filter(pk=a.pk).update(custom_fields={"car": "Lada", "year": 2015})
        Contact.objects.filter(pk=b.pk).update(custom_fields={"car": "Kia"})
        assert listed(user, cf_car="Lada") == {a}
        query = str(selectors.entity_list(user=user, entity="contact", params=QueryDict("cf_car=Lada")).queryset.query)
        if connection.vendor == "postgresql":
            assert "@>" in query  # containment, which the GIN index on custom_fields serves
        names = {d.name for d in list_filters.filter_definitions(registry["contact"], user, hidden={"cf_car"})}
        assert "cf_car" not in names
    finally:
        list_filters._SOURCES.remove(source)


def test_filters_round_trip_through_the_url(user_client, user):
    wanted = make_contact(user, last_name="Орлов", position="CFO")
    make_contact(user, last_name="Орлов", position="CEO")
    url = (reverse("contact_list") + "?last_name=Орлов&position=cfo&position_op=equals&created_at=days"
           "&created_at_days=3&_filters=1")
    response = user_client.get(url)
    assert rows_of(response) == [wanted]
    rebuilt = form_values(response.content.decode(), form_marker='role="search"')
    assert rebuilt.get("last_name") == "Орлов" and rebuilt.get("position_op") == "equals"
    assert rows_of(user_client.get(reverse("contact_list") + "?" + rebuilt.urlencode())) == [wanted], rebuilt


def form_values(html, form_marker):
    """The GET parameters the browser would send for the rendered form (inputs, ticked boxes, chosen options)."""
    from html.parser import HTMLParser

    values = QueryDict(mutable=True)

    class Parser(HTMLParser):
        inside = False
        select = None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "form" and form_marker.split("=")[0] in attrs:
                self.inside = True
            if not self.inside:
                return
            if tag == "input" and attrs.get("name"):
                kind = attrs.get("type", "text")
                if kind in ("checkbox", "radio") and "checked" not in attrs:
                    return
                if attrs.get("value"):
                    values.appendlist(attrs["name"], attrs["value"])
            elif tag == "select":
                self.select = attrs.get("name")
            elif tag == "option" and self.select and "selected" in attrs and attrs.get("value"):
                values.appendlist(self.select, attrs["value"])

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None
            if tag == "form":
                self.inside = False

    Parser().feed(html)
    return values


def test_bad_filter_input_is_refused_not_an_error(user_client, user):
    make_contact(user)
    for query in ("created_at=days&created_at_days=-5", "amount_min=abc", "owner=x", "type=999999",
                  "created_at_after=2026-13-45", "after=%%%", "before=bm90anNvbg", "page=-3", "sort=;drop"):
        assert user_client.get(reverse("contact_list") + "?" + query).status_code == 200, query
    assert user_client.get(reverse("deal_list") + "?amount_min=abc").status_code == 200


# ---------------------------------------------------------------------------
# Segments


def test_segment_counts_equal_list_counts(user_client, user, colleague):
    for _ in range(3):
        make_contact(user, position="CFO")
    make_contact(user, position="CEO")
    make_contact(colleague, position="CFO")  # readable by user (same department)
    segment = list_services.segment_create(user=user, entity="contact", name="CFOs",
                                           params=QueryDict("position=cfo&page=3"))
    assert "page" not in segment.params
    response = user_client.get(reverse("contact_list"), {"segment": segment.pk})
    shown = rows_of(response)
    assert len(shown) == 4 and response.context["page"]["count"] == 4
    assert lists.segment_queryset(user, segment).count() == 4
    count = user_client.get(reverse("lists_segment_count", args=["contact", segment.pk])).content.decode()
    assert count == "4"


def test_shared_segment_never_widens_scope(user, head, colleague, other_user, plain_static):
    from tests.test_export import client_for

    ours = [make_contact(user), make_contact(colleague)]
    theirs = make_contact(other_user)
    segment = list_services.segment_create(user=head, entity="contact", name="Everything", params=QueryDict(),
                                           shared=True)
    assert set(lists.segment_queryset(user, segment)) == set(ours)
    assert set(lists.segment_queryset(other_user, segment)) == {theirs}
    response = client_for(other_user).get(reverse("contact_list"), {"segment": segment.pk})
    assert rows_of(response) == [theirs]
    # A private segment of someone else is not usable: ignored on the list, 404 for its count, empty as a source.
    private = list_services.segment_create(user=head, entity="contact", name="Mine", params=QueryDict("q=zzz"))
    assert lists.segment_for_user(other_user, "contact", private.pk) is None
    assert lists.segment_queryset(other_user, private).count() == 0
    assert client_for(other_user).get(reverse("lists_segment_count", args=["contact", private.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        list_services.segment_delete(user=other_user, segment=segment)


def test_export_scope_cannot_be_widened_by_the_query_string(user, colleague, head, other_user, plain_static):
    from tests.test_export import client_for, csv_dicts, export

    mine = make_contact(user, position="CFO")
    make_contact(colleague, position="CFO")  # user reads it, but exports only own records
    make_contact(other_user, position="CFO")
    shared = list_services.segment_create(user=head, entity="contact", name="CFO", params=QueryDict("position=cfo"),
                                          shared=True)
    client = client_for(user)
    for params in ({"segment": shared.pk}, {"segment": shared.pk, "owner": colleague.pk}, {"owner": other_user.pk},
                   {"segment": shared.pk, "q": ""}, {"all": "1"}):
        ids = {int(row["ID"]) for row in csv_dicts(export(client, **params))}
        assert ids <= {mine.pk}, params
    assert {int(r["ID"]) for r in csv_dicts(export(client, segment=shared.pk))} == {mine.pk}
    assert set(lists.segment_queryset(user, shared, "export")) == {mine}


def test_segment_from_the_list_screen(user_client, user):
    make_contact(user, position="CTO")
    response = user_client.post(reverse("lists_segment_create", args=["contact"]),
                                {"name": "CTOs", "params": "position=cto&page=2", "shared": "1"})
    segment = Segment.objects.get(name="CTOs")
    assert response.status_code == 302 and f"segment={segment.pk}" in response["Location"]
    assert segment.shared and segment.params == "position=cto"
    html = user_client.get(reverse("contact_list")).content.decode()
    assert "CTOs" in html
    assert user_client.post(reverse("lists_segment_create", args=["contact"]), {"name": " "}).status_code == 302
    assert Segment.objects.count() == 1


# ---------------------------------------------------------------------------
# Columns


def test_columns_and_page_size_per_user(user_client, user, colleague):
    for _ in range(12):
        make_contact(user)
    menu = user_client.get(reverse("contact_list"), {"_panel": "columns"}).content.decode()
    assert 'name="columns" value="birthday"' in menu and "<html" not in menu
    response = user_client.post(reverse("lists_columns", args=["contact"]),
                                {"columns": ["email", "full_name", "bogus"], "order_email": "2", "order_full_name": "1",
                                 "page_size": "10"})
    assert response.status_code == 302
    listing = user_client.get(reverse("contact_list"))
    assert [c["name"] for c in listing.context["columns"]] == ["full_name", "email"]
    assert len(rows_of(listing)) == 10
    from tests.test_export import client_for

    other = client_for(colleague).get(reverse("contact_list"))
    assert [c["name"] for c in other.context["columns"]] == list(registry["contact"].list_columns)
    with pytest.raises(PermissionDenied):
        list_services.list_settings_save(user=user, entity="contact", columns=["email"], default=True)


# ---------------------------------------------------------------------------
# Bulk actions


def test_bulk_assign_owner_respects_rights_row_by_row_and_writes_history(head, user, colleague, other_user):
    ours = [make_contact(user), make_contact(colleague)]
    theirs = make_contact(other_user)
    outcome = list_services.bulk_apply(user=head, entity="contact", action="owner", value={"id": head.pk},
                                       ids=[o.pk for o in ours] + [theirs.pk, 10**12])
    assert (outcome.changed, outcome.refused) == (2, 2)
    for obj in ours:
        obj.refresh_from_db()
        assert obj.owner_id == head.pk
        latest = obj.history.order_by("-history_id").first()
        assert latest.owner_id == head.pk and latest.history_user_id == head.pk
    theirs.refresh_from_db()
    assert theirs.owner_id == other_user.pk and theirs.history.count() == 1


def test_bulk_refuses_a_protected_field_for_an_employee(user, colleague):
    mine = make_contact(user)
    outcome = list_services.bulk_apply(user=user, entity="contact", action="owner", value={"id": colleague.pk},
                                       ids=[mine.pk])
    assert outcome.changed == 0 and outcome.refused == 1  # owner is read-only below "own + department"


def test_bulk_tags_add_remove_and_set_field(user, colleague):
    vip, old = Tag.objects.create(name="VIP"), Tag.objects.create(name="Old")
    a, b = make_contact(user), make_contact(user)
    a.tags.set([old])
    theirs = make_contact(colleague)  # readable, not editable by an employee
    params = QueryDict("")
    outcome = list_services.bulk_apply(user=user, entity="contact", action="tags_add", value={"ids": [vip.pk]},
                                       params=params)
    assert outcome.changed == 2  # the whole filtered list, within the edit scope: the colleague's row is not in it
    assert set(a.tags.all()) == {old, vip} and set(b.tags.all()) == {vip} and not theirs.tags.exists()
    list_services.bulk_apply(user=user, entity="contact", action="tags_remove", value={"ids": [old.pk]},
                             ids=[a.pk, theirs.pk])
    assert set(a.tags.all()) == {vip}
    outcome = list_services.bulk_apply(user=user, entity="contact", action="set_field",
                                       value={"field": "position", "value": "Buyer"}, ids=[a.pk, b.pk, theirs.pk])
    assert (outcome.changed, outcome.refused) == (2, 1)
    assert set(Contact.objects.filter(position="Buyer")) == {a, b}
    assert a.history.order_by("-history_id").first().position == "Buyer"


def test_bulk_stage_and_delete_to_the_bin(user, other_user):
    deals = [make_deal(user), make_deal(user)]
    theirs = make_deal(other_user)
    stage = deals[0].pipeline.stages.exclude(pk=deals[0].stage_id).order_by("order").first()
    outcome = list_services.bulk_apply(user=user, entity="deal", action="stage", value={"id": stage.pk},
                                       ids=[d.pk for d in deals] + [theirs.pk])
    assert (outcome.changed, outcome.refused) == (2, 1)
    assert set(Deal.objects.filter(stage=stage)) == set(deals)
    outcome = list_services.bulk_apply(user=user, entity="deal", action="delete", ids=[deals[0].pk, theirs.pk])
    assert (outcome.changed, outcome.refused) == (1, 1)
    assert not Deal.objects.filter(pk=deals[0].pk).exists() and Deal.all_objects.get(pk=deals[0].pk).deleted_at
    assert Deal.objects.filter(pk=theirs.pk).exists()


def test_bulk_many_rows_run_as_a_background_job(user, colleague, user_client):
    from crm_site.lists.tasks import run_bulk_job

    mine = [make_contact(user) for _ in range(3)]
    theirs = make_contact(colleague)
    outcome = list_services.bulk_apply(user=user, entity="contact", action="set_field", background=True,
                                       value={"field": "position", "value": "Lead"},
                                       ids=[o.pk for o in mine] + [theirs.pk])
    job = outcome.job
    assert job.status == BulkJob.Status.QUEUED and job.total == 4 and job.refused == 1
    assert run_bulk_job(job.pk) == BulkJob.Status.DONE
    assert run_bulk_job(job.pk) is None  # delivered twice: runs once
    job.refresh_from_db()
    assert (job.done, job.refused, job.percent) == (3, 1, 100)
    assert Contact.objects.filter(position="Lead").count() == 3
    page = user_client.get(reverse("lists_job", args=[job.pk]))
    assert page.status_code == 200 and "3 of 4 changed" in page.content.decode()


def test_bulk_from_the_list_screen(user_client, user, colleague):
    mine, theirs = make_contact(user), make_contact(colleague)
    response = user_client.post(reverse("lists_bulk", args=["contact"]),
                                {"action": "set_field", "field": "position", "value": "Boss",
                                 "ids": [mine.pk, theirs.pk], "params": "q="}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Changed: 1." in text and "Not changed" in text
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.position == "Boss" and theirs.position != "Boss"
    assert user_client.post(reverse("lists_bulk", args=["contact"]), {"action": "nope", "ids": [mine.pk]},
                            follow=True).status_code == 200
    assert user_client.post(reverse("lists_bulk", args=["nothing"]), {"action": "delete"}).status_code == 404


def test_the_bulk_values_are_loaded_when_the_form_is_first_used(head_client, head, user):
    """A list page carries no user or tag list for the bulk form: its choices come with ?_panel=bulk (htmx, on
    first use) or in place with ?_bulk=1 (no JavaScript)."""
    Tag.objects.create(name="Бронза")
    make_contact(head)
    with CaptureQueriesContext(connection) as queries:
        page = head_client.get("/contacts/")
    text = page.content.decode()
    assert 'name="action"' in text and 'value="tags_add"' in text and 'value="owner"' in text
    assert "Бронза" not in text and "_panel=bulk" in text and "_bulk=1" in text
    assert not [q for q in queries.captured_queries if "crm_site_tag" in q["sql"] or 'FROM "auth_user"' in
                q["sql"] and '"auth_user"."is_active" =' in q["sql"]]  # no tag list, no list of active users
    panel = head_client.get("/contacts/?_panel=bulk").content.decode()
    assert "Бронза" in panel and 'name="value_ids"' in panel and 'name="value_id"' in panel
    assert 'name="field"' not in panel  # the field action's inputs are in the form already
    inline = head_client.get("/contacts/?_bulk=1").content.decode()
    assert "Бронза" in inline and "_panel=bulk" not in inline and "Show the values to choose" not in inline


# ---------------------------------------------------------------------------
# Quick search: the cases


@pytest.fixture
def nikolay(user):
    return make_contact(user, last_name="Соколов", first_name="Николай", phones=["+7 903 751-00-42"],
                        emails=["nikolays@baltenergo2000.su"])


@pytest.mark.parametrize("query", ["nikolays", "nikolays@", "baltenergo2000.su", "@baltenergo2000", "+7903",
                                   "89037510", "903 751", "8 (903) 751-00-42", "0042", "Никол", "колов нико"])
def test_quick_search_finds_what_users_type(query, nikolay, user):
    make_contact(user, last_name="Other", phones=["+7 495 111-22-33"], emails=["other@example.com"])
    assert listed(user, q=query) == {nikolay}, query


def test_quick_search_finds_a_deal_by_company_and_respects_scope(user, other_user):
    deal = make_deal(user, company=make_company(user, name="Балтэнерго"))
    make_deal(other_user, company=make_company(other_user, name="Балтэнерго-2"))
    assert listed(user, "deal", q="балтэн") == {deal}
    lead = make_lead(user, company_name="Ромашка")
    assert listed(user, "lead", q="ромаш") == {lead}
    worker = make_contact(user, companies=[make_company(user, name="Балтэнерго")])
    assert worker in listed(user, q="Балтэн")  # a contact by their company


# ---------------------------------------------------------------------------
# Counts, keyset pages, queries


def test_capped_count_and_keyset_pages(user_client, user, monkeypatch):
    made = [make_contact(user) for _ in range(23)]
    monkeypatch.setattr(lists, "COUNT_CAP", 15)
    assert lists.capped_count(Contact.objects.all(), cap=15) == (15, True)
    assert lists.capped_count(Contact.objects.all(), cap=50) == (23, False)
    first = user_client.get(reverse("contact_list"), {"per_page": 10})
    page = first.context["page"]
    assert page["has_next"] and page["next_cursor"]
    second = user_client.get(reverse("contact_list"), {"per_page": 10, "page": 2, "after": page["next_cursor"]})
    offset_second = user_client.get(reverse("contact_list"), {"per_page": 10, "page": 2})
    assert rows_of(second) == rows_of(offset_second)
    third = user_client.get(reverse("contact_list"), {"per_page": 10, "page": 3,
                                                      "after": second.context["page"]["next_cursor"]})
    assert len(rows_of(third)) == 3 and not third.context["page"]["has_next"]
    back = user_client.get(reverse("contact_list"), {"per_page": 10, "page": 2,
                                                     "before": third.context["page"]["prev_cursor"]})
    assert rows_of(back) == rows_of(second)
    seen = rows_of(first) + rows_of(second) + rows_of(third)
    assert sorted(o.pk for o in seen) == sorted(o.pk for o in made)
    by_name = user_client.get(reverse("contact_list"), {"per_page": 10, "sort": "full_name"})
    again = user_client.get(reverse("contact_list"), {"per_page": 10, "sort": "full_name", "page": 2,
                                                      "after": by_name.context["page"]["next_cursor"]})
    expected = list(Contact.objects.order_by("last_name", "-pk"))[10:20]
    assert rows_of(again) == expected


@pytest.mark.parametrize("sort", ["", "full_name", "-type"])
def test_pages_read_from_the_leading_keys_match_the_keyset_pages(user_client, user, monkeypatch, sort):
    """The page taken from the count's own scan (lists.window_page) equals the keyset / numbered page."""
    for index in range(17):
        make_contact(user, last_name=f"Same{index % 3}")  # equal sort keys: the pk decides

    def walk():
        seen, params = [], {"per_page": 10, "sort": sort}
        response = user_client.get(reverse("contact_list"), params)
        pages = [response.context["page"]]
        seen.append(rows_of(response))
        number = 1
        while pages[-1]["next_cursor"]:
            number += 1
            response = user_client.get(reverse("contact_list"), {**params, "page": number,
                                                                 "after": pages[-1]["next_cursor"]})
            pages.append(response.context["page"])
            seen.append(rows_of(response))
        if pages[-1]["prev_cursor"]:
            back = user_client.get(reverse("contact_list"), {**params, "page": number - 1,
                                                             "before": pages[-1]["prev_cursor"]})
            seen.append(rows_of(back))
            pages.append(back.context["page"])
        numbered = user_client.get(reverse("contact_list"), {**params, "page": 2})
        seen.append(rows_of(numbered))
        pages.append(numbered.context["page"])
        return seen, [(p["has_next"], p["next_cursor"], p["prev_cursor"], p["count"], p["capped"]) for p in pages]

    from_keys = walk()
    monkeypatch.setattr(lists, "COUNT_CAP", 5)  # every page past the fifth row runs its own query
    by_query = walk()
    assert from_keys[0] == by_query[0]
    assert [page[:3] for page in from_keys[1]] == [page[:3] for page in by_query[1]]
    assert from_keys[1][0][3:] == (17, False) and by_query[1][0][3:] == (5, True)


def test_query_counts_stay_constant(user_client, user):
    segment = list_services.segment_create(user=user, entity="contact", name="All", params=QueryDict(""))
    tag = Tag.objects.create(name="T")

    def count(params):
        lists._estimates.clear()  # each page as asked for the first time (its planner's estimate too)
        with CaptureQueriesContext(connection) as ctx:
            response = user_client.get(reverse("contact_list"), params)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def grow(n):
        for _ in range(n):
            contact = make_contact(user, phones=["+7 903 751-00-42"], emails=["n@example.com"])
            contact.tags.set([tag])

    params = {"q": "903751", "tags": tag.pk, "created_at": "days", "created_at_days": "5", "per_page": 10,
              "segment": segment.pk}
    grow(3)
    few = count(params)
    grow(30)
    many = count(params)
    assert few == many, (few, many)
    first = user_client.get(reverse("contact_list"), {"per_page": 10})
    deep = count({"per_page": 10, "page": 2, "after": first.context["page"]["next_cursor"]})
    assert deep <= count({"per_page": 10})


# ---------------------------------------------------------------------------
# Screens (issue 15, "as a Bitrix24 user expects them")


def test_new_contact_form_creates_the_company_with_the_position(user_client, user):
    from companies.models import Company
    from tests.factories import post_data

    data = post_data("contact", user)
    data.update({"last_name": "Волков", "first_name": "Дмитрий", "new_company": "ООО Новая", "company_position": "CFO"})
    page = user_client.get(reverse("contact_add")).content.decode()
    assert 'name="new_company"' in page and 'name="company_position"' in page and "---------" not in page
    response = user_client.post(reverse("contact_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    contact = Contact.objects.get(last_name="Волков")
    link = contact.company_links.get()
    assert link.company == Company.objects.get(name="ООО Новая") and link.position == "CFO" and link.is_primary
    existing = make_company(user, name="Globex")
    data.update({"last_name": "Другой", "new_company": "", "company": existing.pk, "company_position": ""})
    assert user_client.post(reverse("contact_add"), data).status_code == 302
    assert Contact.objects.get(last_name="Другой").company_links.get().company == existing
    data.update({"last_name": "Третий", "new_company": "ООО Ещё"})
    assert user_client.post(reverse("contact_add"), data).status_code == 400  # both: refused, nothing written
    assert not Company.objects.filter(name="ООО Ещё").exists()


def test_errors_render_inside_the_layout(user_client, marketer, plain_static):
    from tests.test_export import client_for

    missing = user_client.get("/contacts/999999999/")
    assert missing.status_code == 404
    text = missing.content.decode()
    assert 'class="sidebar"' in text and "Nothing here" in text and reverse("home") in text
    refused = client_for(marketer).get(reverse("contact_add"))
    assert refused.status_code == 403 and 'class="sidebar"' in refused.content.decode()


def test_avatar_uses_initials_and_read_only_fields_read_as_text(user_client, marketer, plain_static, user):
    from tests.test_export import client_for

    assert '<span class="avatar" aria-hidden="true">AA</span>' in user_client.get(reverse("home")).content.decode()
    contact = make_contact(user, last_name="Ключевой")
    form = client_for(marketer).get(reverse("contact_edit", args=[contact.pk])).content.decode()
    assert 'class="readonly-value"' in form and 'name="last_name"' not in form
