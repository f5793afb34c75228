"""The dashboard (issue 14): every figure against hand-computed values on fixed data — a deal that skipped
stages, a deal reopened after a win, one reopened and won again, a deal and a lead in the bin, RUB/EUR/USD —
the scope (a manager never counts another department's records), every link opening a list with the same
count, the plan's roll-up, the export right, and a query count that does not grow with the data.

The fixed period is March 2025 (Europe/Moscow); the previous one February 2025. Deals of the "sales" pipeline
(stage orders: new 0, qualification 1, proposal 2, negotiation 3, invoice 4, won 5, lost 6):

| deal | owner | created | moves | now | amount |
| D1 | m1 | Mar 2 | new → qualification Mar 3 → won Mar 10 (skipped 3 stages) | won | 100 RUB |
| D2 | m1 | Mar 3 | new → proposal Mar 5 → lost Mar 12 (reason: price) | lost | 50 EUR |
| D3 | m1b | Mar 4 | new → negotiation Mar 6 → won Mar 8 → negotiation Mar 9 (reopened) | negotiation | 200 RUB |
| D4 | m1 | Mar 1 | new → won Mar 5 → invoice Mar 6 → won Mar 20 (won again) | won | 300 RUB |
| D5 | m1 | Mar 2 | new → won Mar 7, then moved to the bin | won | 1000 RUB |
| D6 | m2 (other department) | Mar 5 | new → won Mar 15 | won | 500 USD |
| D7 | m1 | Feb 10 | new → won Feb 20 | won | 70 RUB |
| D8 | m1 | Mar 10 | — | new | none |
| D9 | m1 | now | — | new | 10 RUB |
"""

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import QueryDict
from django.test import RequestFactory, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from crm_site.registry import registry
from crm_site.reports import dashboard as board
from crm_site.reports import selectors
from crm_site.reports.models import SalesTarget, StuckRule
from crm_site.reports.periods import parse_period, period_of
from crm_site.selectors import entity_list
from tests.factories import (
    PASSWORD,
    currency,
    make_deal,
    make_department,
    make_lead,
    make_user,
    pipeline,
    source,
    stage,
)

MARCH = {"period": "month", "date": "2025-03-15"}


def at(month, day, hour=12):
    return timezone.make_aware(datetime.datetime(2025, month, day, hour, 0))


def moves(deal, created, path):
    """Replace the deal's stage history by `path` [(stage code, (month, day))], the first at its creation."""
    from deals.models import Deal, StageChange

    StageChange.objects.filter(deal=deal).delete()
    previous = None
    for code, when in path:
        to = stage(code)
        StageChange.objects.create(deal=deal, from_stage=previous, to_stage=to, changed_at=at(*when))
        previous = to
    Deal.objects.filter(pk=deal.pk).update(created_at=at(*created), stage=previous or deal.stage)


class Fixed(TestCase):
    @classmethod
    def setUpTestData(cls):
        from crm_site.services import record_delete
        from leads.models import Lead
        from timeline.models import Entry, EntryLink

        cls.dept_a = make_department("Sales A")
        cls.dept_b = make_department("Sales B")
        cls.sub_a = make_department("Sales A1", parent=cls.dept_a)
        cls.admin = make_user("boss", superuser=True, department=None)
        cls.m1 = make_user("m1", department=cls.dept_a)
        cls.m1b = make_user("m1b", department=cls.sub_a)
        cls.m2 = make_user("m2", department=cls.dept_b)
        rub, eur, usd = currency("rub"), currency("eur"), currency("usd")
        cls.rub, cls.eur, cls.usd = rub, eur, usd

        def deal(owner, amount, cur, **extra):
            return make_deal(owner, company=None, amount=amount, currency=cur, **extra)

        cls.d1 = deal(cls.m1, Decimal(100), rub)
        moves(cls.d1, (3, 2), [("new", (3, 2)), ("qualification", (3, 3)), ("won", (3, 10))])
        from deals.models import LostReason

        cls.price = LostReason.objects.get(code="price")
        cls.d2 = deal(cls.m1, Decimal(50), eur, lost_reason=cls.price)
        moves(cls.d2, (3, 3), [("new", (3, 3)), ("proposal", (3, 5)), ("lost", (3, 12))])
        cls.d3 = deal(cls.m1b, Decimal(200), rub)
        moves(cls.d3, (3, 4), [("new", (3, 4)), ("negotiation", (3, 6)), ("won", (3, 8)), ("negotiation", (3, 9))])
        cls.d4 = deal(cls.m1, Decimal(300), rub)
        moves(cls.d4, (3, 1), [("new", (3, 1)), ("won", (3, 5)), ("invoice", (3, 6)), ("won", (3, 20))])
        cls.d5 = deal(cls.m1, Decimal(1000), rub)
        moves(cls.d5, (3, 2), [("new", (3, 2)), ("won", (3, 7))])
        cls.d5.refresh_from_db()
        record_delete(user=cls.m1, obj=cls.d5)
        cls.d6 = deal(cls.m2, Decimal(500), usd)
        moves(cls.d6, (3, 5), [("new", (3, 5)), ("won", (3, 15))])
        cls.d7 = deal(cls.m1, Decimal(70), rub)
        moves(cls.d7, (2, 10), [("new", (2, 10)), ("won", (2, 20))])
        cls.d8 = deal(cls.m1, None, None)
        moves(cls.d8, (3, 10), [("new", (3, 10))])
        cls.d9 = deal(cls.m1, Decimal(10), rub)  # created now, in "new": not stuck
        StuckRule.objects.create(pipeline=pipeline("sales"), days=10)

        # Leads: L1 Mar 3 website; L2 Mar 5 website, converted Mar 8; L3 Mar 7 no source; L4 Feb 10 website;
        # L5 Mar 4 in the bin; L6 Mar 6 call, other department.
        def lead(owner, created, src, converted=None):
            obj = make_lead(owner, source=src)
            Lead.objects.filter(pk=obj.pk).update(created_at=at(*created),
                                                  converted_at=at(*converted) if converted else None)
            return obj

        website, call = source("website"), source("call")
        lead(cls.m1, (3, 3), website)
        lead(cls.m1, (3, 5), website, converted=(3, 8))
        lead(cls.m1, (3, 7), None)
        lead(cls.m1, (2, 10), website)
        l5 = lead(cls.m1, (3, 4), website)
        l5.refresh_from_db()
        record_delete(user=cls.m1, obj=l5)
        lead(cls.m2, (3, 6), call)

        # Activities: m1 two calls and a meeting in March on D1, a call in February, a call on D5 (in the bin),
        # a task done Mar 10, a task overdue since Mar 20; m2 a call on D6.
        from django.contrib.contenttypes.models import ContentType

        deal_type = ContentType.objects.get_for_model(type(cls.d1))

        def entry(on, **fields):
            obj = Entry.objects.create(**fields)
            EntryLink.objects.create(entry=obj, content_type=deal_type, object_id=on.pk)
            return obj

        entry(cls.d1, kind="call", author=cls.m1, created_at=at(3, 3))
        entry(cls.d1, kind="call", author=cls.m1, created_at=at(3, 4))
        entry(cls.d1, kind="meeting", author=cls.m1, created_at=at(3, 5))
        entry(cls.d1, kind="call", author=cls.m1, created_at=at(2, 5))
        entry(cls.d5, kind="call", author=cls.m1, created_at=at(3, 6))
        entry(cls.d1, kind="task", author=cls.m1, responsible=cls.m1, state="done", deadline=at(3, 9),
              done_at=at(3, 10), created_at=at(3, 1))
        entry(cls.d1, kind="task", author=cls.m1, responsible=cls.m1, state="planned", deadline=at(3, 20),
              created_at=at(3, 1))
        entry(cls.d6, kind="call", author=cls.m2, created_at=at(3, 7))

        # Targets of March 2025 and Q1 2025.
        def target(**fields):
            return SalesTarget.objects.create(year=2025, **fields)

        target(period_kind="month", number=3, metric="amount", value=1000, currency=rub, manager=cls.m1)
        target(period_kind="month", number=3, metric="amount", value=500, currency=rub, manager=cls.m1b)
        target(period_kind="month", number=3, metric="amount", value=2000, currency=rub, department=cls.dept_a)
        target(period_kind="quarter", number=1, metric="count", value=5, department=cls.dept_a)
        target(period_kind="month", number=3, metric="amount", value=100, currency=rub, manager=cls.m2)

    def setUp(self):
        self.period = parse_period(MARCH)
        self.previous = self.period.previous()

    def fresh(self, user):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.get(pk=user.pk)  # no scope cache left from another test

    # -- periods -----------------------------------------------------------------

    def test_periods(self):
        assert (self.period.first, self.period.end) == (datetime.date(2025, 3, 1), datetime.date(2025, 4, 1))
        assert self.previous.first == datetime.date(2025, 2, 1)
        week = parse_period({"period": "week", "date": "2025-03-13"})
        assert (week.first, week.days) == (datetime.date(2025, 3, 10), 7)
        quarter = parse_period({"period": "quarter", "date": "2025-05-02"})
        assert (quarter.first, quarter.previous().first) == (datetime.date(2025, 4, 1), datetime.date(2025, 1, 1))
        custom = parse_period({"period": "custom", "from": "2025-03-10", "to": "2025-03-19"})
        assert (custom.days, custom.previous().first) == (10, datetime.date(2025, 2, 28))
        assert parse_period({"period": "custom", "from": "2025-03-10", "to": "2025-01-01"}).kind == "month"
        assert parse_period({"period": "bogus", "date": "not a date"}).kind == "month"
        assert period_of("year", datetime.date(2025, 7, 1)).previous().first == datetime.date(2024, 1, 1)

    # -- figures (superuser) -----------------------------------------------------

    def test_new_records_and_leads(self):
        admin = self.fresh(self.admin)
        new = {row["entity"]: row for row in selectors.new_records(admin, "all", self.period, self.previous)}
        assert (new["deal"]["current"], new["deal"]["previous"]) == (6, 1)  # D1-D4, D6, D8; D7 (D5 in the bin)
        assert (new["lead"]["current"], new["lead"]["previous"]) == (4, 1)
        by_source = {row["id"]: (row["current"], row["previous"])
                     for row in selectors.leads_by(admin, "all", self.period, self.previous, "source")}
        assert by_source == {source("website").pk: (2, 1), None: (1, 0), source("call").pk: (1, 0)}
        conversion = selectors.lead_conversion(admin, "all", self.period)
        assert conversion == {"created": 4, "converted": 1, "rate": 0.25, "days": 3.0}

    def test_funnel_counts_skipped_stages_and_reopened_deals(self):
        admin = self.fresh(self.admin)
        funnel = selectors.funnel(admin, "all", self.period, pipeline("sales"))
        counts = [step["count"] for step in funnel["steps"]]
        assert counts == [6, 5, 5, 4, 3, 3]  # new, qualification, proposal, negotiation, invoice, won
        assert funnel["steps"][1]["conversion"] == pytest.approx(5 / 6)
        assert funnel["steps"][1]["drop_off"] == pytest.approx(1 / 6)
        assert funnel["steps"][0]["conversion"] is None
        amounts = {a["currency_id"]: a["amount"] for a in funnel["steps"][0]["amounts"]}
        assert amounts == {self.rub.pk: Decimal(600), self.eur.pk: Decimal(50), self.usd.pk: Decimal(500)}
        won = {a["currency_id"]: a["amount"] for a in funnel["steps"][-1]["amounts"]}
        assert won == {self.rub.pk: Decimal(400), self.usd.pk: Decimal(500)}  # D1 + D4; D6; not D3 (reopened)
        now = {step["stage_id"]: step["now"] for step in funnel["steps"]}
        assert now[stage("new").pk] == 1 and now[stage("negotiation").pk] == 1 and now[stage("won").pk] == 3
        assert [lost["now"] for lost in funnel["lost"]] == [1]

    def test_won_and_lost(self):
        closed = selectors.closed_deals(self.fresh(self.admin), "all", self.period, self.previous)
        current = closed["current"]
        assert current["won"]["count"] == 3  # D1, D4 (once, at its second win), D6; not D3, not D5
        amounts = {a["currency_id"]: (a["amount"], a["count"], a["average"]) for a in current["won"]["amounts"]}
        assert amounts == {self.rub.pk: (Decimal(400), 2, Decimal(200)), self.usd.pk: (Decimal(500), 1, Decimal(500))}
        assert current["won"]["days"] == round((8 + 19 + 10) / 3, 1)
        assert current["lost"]["count"] == 1
        assert current["rate"] == 0.75
        assert current["reasons"] == [{"id": self.price.pk, "count": 1}]
        before = closed["previous"]
        assert (before["won"]["count"], before["rate"], before["won"]["days"]) == (1, 1.0, 10.0)

    def test_stuck(self):
        rows = selectors.stuck_deals(self.fresh(self.admin), "all")
        assert {(row["stage_id"], row["count"]) for row in rows} == {(stage("new").pk, 1),
                                                                     (stage("negotiation").pk, 1)}  # D8, D3

    def test_activities(self):
        rows = {row["user_id"]: row for row in selectors.activities(self.fresh(self.admin), "all", self.period)}
        m1 = rows[self.m1.pk]
        assert (m1["call"], m1["meeting"], m1["email"], m1["task"], m1["overdue"]) == (2, 1, 0, 1, 1)
        assert rows[self.m2.pk]["call"] == 1

    def test_plan_rolls_up_per_manager_and_department(self):
        now = at(4, 10)  # the period is over: the forecast is the actual
        plan = selectors.sales_plan(self.fresh(self.admin), "all", self.period, now=now)
        by_subject = {(item["target"].manager_id, item["target"].department_id, item["target"].period_kind): item
                      for item in plan}
        m1 = by_subject[(self.m1.pk, None, "month")]
        assert (m1["actual"], m1["percent"], m1["forecast"]) == (Decimal(400), 40.0, Decimal(400))
        assert by_subject[(self.m1b.pk, None, "month")]["actual"] == Decimal(0)  # D3 was reopened
        assert by_subject[(self.m2.pk, None, "month")]["actual"] == Decimal(0)  # D6 is in USD
        department = by_subject[(None, self.dept_a.pk, "month")]
        assert (department["actual"], department["percent"]) == (Decimal(400), 20.0)
        assert department["managers"] == {"count": 2, "value": Decimal(1500), "actual": Decimal(400)}
        assert department["actual"] == m1["actual"] + by_subject[(self.m1b.pk, None, "month")]["actual"]
        quarter = by_subject[(None, self.dept_a.pk, "quarter")]
        assert (quarter["actual"], quarter["percent"]) == (3, 60.0)  # D1, D4 and D7 (February)
        halfway = selectors.sales_plan(self.fresh(self.admin), "all", self.period, now=at(3, 16))
        m1_half = next(item for item in halfway if item["target"].manager_id == self.m1.pk)
        assert m1_half["forecast"] == Decimal(800)  # 400 in 15.5 of 31 days → 800 by the end

    # -- scope --------------------------------------------------------------------

    def test_manager_never_counts_another_department(self):
        m1 = self.fresh(self.m1)
        funnel = selectors.funnel(m1, "all", self.period, pipeline("sales"))
        assert [step["count"] for step in funnel["steps"]] == [5, 4, 4, 3, 2, 2]  # without D6
        closed = selectors.closed_deals(m1, "all", self.period, self.previous)["current"]
        assert (closed["won"]["count"], closed["rate"]) == (2, pytest.approx(2 / 3))
        assert {a["currency_id"] for a in closed["won"]["amounts"]} == {self.rub.pk}
        assert selectors.lead_conversion(m1, "all", self.period)["created"] == 3
        rows = selectors.activities(m1, "all", self.period)
        assert [row["user_id"] for row in rows] == [self.m1.pk]  # m2's call is on a deal m1 may not read
        plan = selectors.sales_plan(m1, "all", self.period, now=at(4, 10))
        assert self.m2.pk not in {item["target"].manager_id for item in plan}
        mine = selectors.funnel(m1, "me", self.period, pipeline("sales"))
        assert mine["steps"][0]["count"] == 4  # not m1b's D3
        department = selectors.funnel(m1, "department", self.period, pipeline("sales"))
        assert department["steps"][0]["count"] == 5  # D3 is in a subdepartment
        assert [item["target"].manager_id for item in selectors.sales_plan(m1, "me", self.period)] == [self.m1.pk]

    def test_anonymous_and_inactive_see_nothing(self):
        inactive = make_user("gone", department=self.dept_a, is_active=False)
        for user in (inactive,):
            assert selectors.funnel(user, "all", self.period, pipeline("sales"))["steps"][0]["count"] == 0
            assert selectors.closed_deals(user, "all", self.period, self.previous)["current"]["won"]["count"] == 0

    # -- links --------------------------------------------------------------------

    def assert_links_match(self, user, params):
        user = self.fresh(user)
        context = board.build(user, QueryDict(params), use_cache=False)
        request = RequestFactory().get("/")
        request.user = user
        checked = 0
        for table in context["tables"].values():
            for row in table.rows:
                for cell in row:
                    if not cell.href or not isinstance(cell.value, int) or isinstance(cell.value, bool):
                        continue
                    url = urlsplit(cell.href)
                    match = resolve(url.path)
                    query = QueryDict(url.query)
                    if match.url_name == "reports_activities":
                        from crm_site.reports.views import activities  # noqa: F401

                        kind, state = query.get("kind") or "all", query.get("state") or "done"
                        entries, _who = selectors.activity_entries(
                            user, query.get("scope"), kind=kind, state=state, period=parse_period(query),
                            person=int(query["person"]))
                        count = entries.count()
                    else:
                        key = match.url_name.removesuffix("_list")
                        listed = entity_list(user=user, entity=registry[key], params=query, request=request)
                        assert listed.filterset.is_valid(), (cell.href, listed.filterset.errors)
                        count = listed.queryset.count()
                    assert count == cell.value, (table.name, row[0].text, cell.href, count, cell.value)
                    checked += 1
        return checked

    def test_every_link_opens_a_list_with_the_same_count(self):
        assert self.assert_links_match(self.admin, "period=month&date=2025-03-15") > 40
        assert self.assert_links_match(self.m1, "period=month&date=2025-03-15") > 30
        assert self.assert_links_match(self.m1, "period=month&date=2025-03-15&scope=me") > 20

    def test_a_chart_link_opens_the_list_page(self):
        self.client.login(username="m1", password=PASSWORD)
        context = board.build(self.fresh(self.m1), QueryDict("period=month&date=2025-03-15"), use_cache=False)
        bar = context["tables"]["funnel"].chart[-1]  # won
        response = self.client.get(bar["href"])
        assert response.status_code == 200
        assert response.context["page"]["count"] == 2
        lost = context["tables"]["lost"].chart[0]
        assert self.client.get(lost["href"]).context["page"]["count"] == 1
        stuck_query = parse_qs(urlsplit(context["tables"]["stuck"].rows[0][3].href).query)
        assert stuck_query["stuck"] == ["true"]

    # -- pages ----------------------------------------------------------------------

    def test_dashboard_page_export_and_rights(self):
        from django.conf import settings

        self.client.login(username="m1", password=PASSWORD)
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = self.client.get("/?period=month&date=2025-03-15")
        assert response.status_code == 200
        html = response.content.decode()
        assert "<svg" in html and "Deal funnel" in html and "Sales plan" in html
        assert "cdn" not in html.lower()
        # The default role exports own records: the export works, the rows are the manager's figures.
        response = self.client.get("/reports/export/won/?period=month&date=2025-03-15&format=csv")
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        assert "Won deals" in text and "Win rate" in text
        response = self.client.get("/reports/export/funnel/?period=month&date=2025-03-15&format=xlsx")
        assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
        assert self.client.get("/reports/export/nope/?format=csv").status_code == 404
        assert self.client.get("/reports/export/won/?format=pdf").status_code == 400
        from access.models import AuditLog

        assert AuditLog.objects.filter(action=AuditLog.EXPORT, actor=self.m1).count() == 2
        # A sales manager has no export right: 403, and no export links on the page.
        from tests.factories import assign_role

        manager = make_user("sm", department=self.dept_a)
        assign_role("Sales manager", user=manager)
        self.client.login(username="sm", password=PASSWORD)
        assert self.client.get("/reports/export/won/?format=csv").status_code == 403
        assert "/reports/export/" not in self.client.get("/").content.decode()
        self.client.logout()
        assert self.client.get("/").status_code == 302
        response = self.client.get("/reports/activities/?kind=call&period=month&date=2025-03-15")
        assert response.status_code == 302

    def test_activities_page(self):
        self.client.login(username="m1", password=PASSWORD)
        response = self.client.get(f"/reports/activities/?kind=call&person={self.m1.pk}&period=month&date=2025-03-15")
        assert response.status_code == 200 and response.context["count"] == 2
        response = self.client.get(f"/reports/activities/?state=overdue&person={self.m1.pk}")
        assert response.context["count"] == 1
        response = self.client.get("/reports/activities/?kind=<script>&person=x&period=custom&from=zz")
        assert response.status_code == 200

    def test_query_count_does_not_grow_with_data(self):
        self.client.login(username="boss", password=PASSWORD)
        from django.core.cache import cache

        self.client.get("/?period=month&date=2025-03-15")  # once-a-process look-ups (content types) out of the way
        cache.clear()
        with CaptureQueriesContext(connection) as before:
            assert self.client.get("/?period=month&date=2025-03-15").status_code == 200
        for owner in (self.m1, self.m2, self.m1b):
            extra = make_deal(owner, company=None, stage=stage("proposal"), lost_reason=None)
            moves(extra, (3, 11), [("new", (3, 11)), ("proposal", (3, 12)), ("lost", (3, 13))])
            make_lead(owner, source=source("call"))
        cache.clear()
        with CaptureQueriesContext(connection) as after:
            assert self.client.get("/?period=month&date=2025-03-15").status_code == 200
        assert len(after) == len(before), [q["sql"][:120] for q in after.captured_queries]
        with CaptureQueriesContext(connection) as cached:
            self.client.get("/?period=month&date=2025-03-15")
        assert len(cached) < len(after)  # the figures come from the cache for a minute


def test_bad_params_fall_back(client, admin_user):
    client.force_login(admin_user)
    for query in ("period=custom&from=2025-13-40&to=x", "scope=evil&pipeline=abc", "date=99999-01-01",
                  "period=custom&from=1000-01-01&to=2999-01-01"):
        assert client.get("/?" + query).status_code == 200


def test_anonymous_user_gets_nothing(db):
    period = parse_period(MARCH)
    assert selectors.new_records(AnonymousUser(), "all", period, period.previous())[0]["current"] == 0


def test_target_validation_and_admin(admin_client, admin_user):
    from django.core.exceptions import ValidationError

    target = SalesTarget(period_kind="quarter", year=2025, number=5, metric="amount", value=1, manager=admin_user)
    with pytest.raises(ValidationError) as error:
        target.full_clean()
    assert {"number", "currency"} <= set(error.value.message_dict)
    with pytest.raises(ValidationError):
        SalesTarget(period_kind="month", year=2025, number=1, metric="count", value=1).full_clean()
    SalesTarget(period_kind="month", year=2025, number=1, metric="count", value=3, pipeline=pipeline()).full_clean()
    for url in ("/admin/reports/salestarget/", "/admin/reports/salestarget/add/", "/admin/reports/stuckrule/add/",
                "/admin/deals/lostreason/"):
        assert admin_client.get(url).status_code == 200
