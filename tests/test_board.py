"""The deal board: columns with counts and sums, and moving deals between stages (plain POST and fetch)."""

import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from deals.models import Deal, StageChange
from deals.selectors import BOARD_CARDS_PER_STAGE
from tests.factories import currency, make_deal, pipeline, post_data, stage

pytestmark = pytest.mark.django_db

BOARD = reverse("deal_board")


def move_url(deal):
    return reverse("deal_move", args=[deal.pk])


def column(response, code):
    return next(c for c in response.context["columns"] if c["stage"].code == code)


def sums(col):
    return {s["currency"]: s["total"] for s in col["sums"]}


@pytest.fixture
def deals(user, colleague, other_user):
    made = {
        "a": make_deal(
            user, title="Deal A", stage=stage("new"), amount=Decimal("100.00"), currency=currency("rub")
        ),
        "b": make_deal(
            colleague, title="Deal B", stage=stage("new"), amount=Decimal("50.50"), currency=currency("rub")
        ),
        "c": make_deal(
            user, title="Deal C", stage=stage("new"), amount=Decimal("10.00"), currency=currency("usd")
        ),
        "d": make_deal(user, title="Deal D", stage=stage("proposal"), amount=None, currency=None),
        "hidden": make_deal(other_user, title="Deal Hidden", stage=stage("new"), amount=Decimal("999.00")),
        "deleted": make_deal(user, title="Deal Deleted", stage=stage("new"), amount=Decimal("7.00")),
        "partner": make_deal(
            user, title="Deal Partner", stage=stage("pilot", "partners"), amount=Decimal("5.00")
        ),
    }
    Deal.objects.filter(pk=made["deleted"].pk).update(deleted_at=made["deleted"].created_at)
    return made


def test_board_renders_stages_with_counts_and_sums(user_client, deals):
    response = user_client.get(BOARD)
    assert response.status_code == 200
    assert response.context["pipeline"] == pipeline("sales")
    codes = [c["stage"].code for c in response.context["columns"]]
    assert codes == list(pipeline("sales").stages.order_by("order").values_list("code", flat=True))
    new = column(response, "new")
    assert new["count"] == 3
    assert {d.title for d in new["deals"]} == {"Deal A", "Deal B", "Deal C"}
    assert sums(new) == {"RUB": Decimal("150.50"), "USD": Decimal("10.00")}
    proposal = column(response, "proposal")
    assert proposal["count"] == 1 and proposal["sums"] == []
    assert column(response, "won")["count"] == 0
    page = response.content.decode()
    for col in response.context["columns"]:
        assert f'data-stage-id="{col["stage"].pk}"' in page
        assert str(col["stage"]) in page
    assert "data-count>3<" in page
    assert re.search(r'data-currency="RUB" data-total="150\.50?"', page)  # SQLite sums drop the trailing 0
    assert "150.50 RUB" in page and "10.00 USD" in page
    for key in ("a", "b", "c", "d"):
        assert move_url(deals[key]) in page
    for key in ("hidden", "deleted", "partner"):
        assert deals[key].title not in page


def test_board_of_another_pipeline(user_client, deals):
    response = user_client.get(BOARD, {"pipeline": pipeline("partners").pk})
    assert response.context["pipeline"] == pipeline("partners")
    assert column(response, "pilot")["count"] == 1
    assert "Deal Partner" in response.content.decode()
    assert "Deal A" not in response.content.decode()


def test_board_search(user_client, user, deals):
    zebra = make_deal(user, title="Zebra crossing", stage=stage("won"))
    response = user_client.get(BOARD, {"q": "zebra"})
    assert [c["count"] for c in response.context["columns"] if c["count"]] == [1]
    assert column(response, "won")["deals"] == [zebra]
    assert "Deal A" not in response.content.decode()


def test_board_shows_at_most_a_page_of_cards_per_stage(user_client, user):
    for _ in range(BOARD_CARDS_PER_STAGE + 2):
        make_deal(user, stage=stage("new"), amount=Decimal("1.00"), company=None)
    response = user_client.get(BOARD)
    new = column(response, "new")
    assert new["count"] == BOARD_CARDS_PER_STAGE + 2
    assert len(new["deals"]) == BOARD_CARDS_PER_STAGE
    assert sums(new) == {"RUB": Decimal(BOARD_CARDS_PER_STAGE + 2)}


def test_board_query_count_does_not_grow_with_deals(user_client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def measure():
        with CaptureQueriesContext(connection) as ctx:
            assert user_client.get(BOARD).status_code == 200
        return len(ctx.captured_queries)

    make_deal(user, stage=stage("new"))
    few = measure()
    for code in ("new", "proposal", "won"):
        for _ in range(5):
            make_deal(user, stage=stage(code))
    assert measure() == few


# ---------------------------------------------------------------------------
# Moving


def test_move_without_javascript(user_client, user):
    deal = make_deal(user, stage=stage("new"))
    response = user_client.post(move_url(deal), {"stage": stage("proposal").pk})
    assert response.status_code == 302
    assert response["Location"] == f"{BOARD}?pipeline={pipeline('sales').pk}"
    deal.refresh_from_db()
    assert deal.stage == stage("proposal")
    assert deal.updated_by == user
    change = StageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.changed_by) == (stage("new"), stage("proposal"), user)
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["success"]
    latest = deal.history.order_by("-history_date", "-history_id").first()
    assert latest.history_change_reason == "stage changed" and latest.history_user == user


def test_move_returns_to_the_given_page(user_client, user):
    deal = make_deal(user)
    back = f"{BOARD}?pipeline={pipeline().pk}&q=x"
    response = user_client.post(move_url(deal), {"stage": stage("won").pk, "next": back})
    assert response["Location"] == back
    response = user_client.post(
        move_url(deal), {"stage": stage("lost").pk, "next": "https://evil.example.com/"}
    )
    assert "evil" not in response["Location"]


@pytest.mark.parametrize(
    "headers", [{"X-Requested-With": "fetch"}, {"HX-Request": "true"}], ids=["fetch", "htmx"]
)
def test_move_by_drag_and_drop(headers, user_client, user):
    deal = make_deal(user, stage=stage("new"))
    response = user_client.post(move_url(deal), {"stage": stage("negotiation").pk}, headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    deal.refresh_from_db()
    assert deal.stage == stage("negotiation")
    assert StageChange.objects.get(deal=deal).changed_by == user


def test_move_to_the_same_stage_records_nothing(user_client, user):
    deal = make_deal(user, stage=stage("new"))
    response = user_client.post(
        move_url(deal), {"stage": stage("new").pk}, headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 204
    assert not StageChange.objects.filter(deal=deal).exists()


def test_move_to_a_stage_of_another_pipeline_is_refused(user_client, user):
    deal = make_deal(user, stage=stage("new"))
    foreign = stage("pilot", "partners")
    response = user_client.post(move_url(deal), {"stage": foreign.pk}, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 400
    assert response.content  # the message the board shows
    response = user_client.post(move_url(deal), {"stage": foreign.pk})
    assert response.status_code == 302
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    deal.refresh_from_db()
    assert deal.stage == stage("new")
    assert not StageChange.objects.filter(deal=deal).exists()


@pytest.mark.parametrize("value", ["", "abc", "999999", "9" * 25, "1.5"])
def test_move_without_a_valid_stage_is_refused(value, user_client, user):
    deal = make_deal(user, stage=stage("new"))
    response = user_client.post(move_url(deal), {"stage": value}, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 400
    deal.refresh_from_db()
    assert deal.stage == stage("new")


def test_move_of_an_invisible_deal_is_404(user_client, other_user):
    deal = make_deal(other_user, stage=stage("new"))
    for headers in ({}, {"X-Requested-With": "fetch"}):
        response = user_client.post(move_url(deal), {"stage": stage("won").pk}, headers=headers)
        assert response.status_code == 404
    deal.refresh_from_db()
    assert deal.stage == stage("new")
    assert not StageChange.objects.exists()


def test_move_of_a_read_only_deal_is_403(user_client, other_user):
    deal = make_deal(other_user, stage=stage("new"), opened=True)
    response = user_client.post(
        move_url(deal), {"stage": stage("won").pk}, headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.stage == stage("new")


def test_move_needs_post_and_login(user_client, anon_client, user):
    deal = make_deal(user)
    assert user_client.get(move_url(deal)).status_code == 405
    response = anon_client.post(move_url(deal), {"stage": stage("won").pk})
    assert response.status_code == 302 and reverse("login") in response["Location"]
    deal.refresh_from_db()
    assert deal.stage == stage("new")


# ---------------------------------------------------------------------------
# Stage history from the deal form


def test_deal_created_through_the_form_records_the_initial_stage(user_client, user):
    response = user_client.post(reverse("deal_add"), post_data("deal", user, stage=stage("qualification").pk))
    assert response.status_code == 302
    deal = Deal.objects.get()
    [change] = StageChange.objects.filter(deal=deal)
    assert (change.from_stage, change.to_stage, change.changed_by) == (None, stage("qualification"), user)


def test_deal_form_proposes_the_default_pipeline_and_its_first_stage(user_client):
    response = user_client.get(reverse("deal_add"))
    form = response.context["form"]
    assert form["pipeline"].value() == pipeline("sales").pk
    assert form["stage"].value() == stage("new").pk


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("partners", ("partners", "request")),
        ("abc", ("sales", "new")),
        ("999999", ("sales", "new")),
    ],
)
def test_deal_form_from_the_board_proposes_that_pipelines_first_stage(query, expected, user_client):
    value = str(pipeline(query).pk) if query == "partners" else query
    form = user_client.get(reverse("deal_add"), {"pipeline": value}).context["form"]
    assert form["pipeline"].value() == pipeline(expected[0]).pk
    assert form["stage"].value() == stage(expected[1], expected[0]).pk


def test_deal_form_from_a_company_card_proposes_that_company(user_client, user):
    from tests.factories import make_company

    company = make_company(user, name="Initech")
    card = user_client.get(company.get_absolute_url())
    add_link = f"{reverse('deal_add')}?company={company.pk}"
    assert add_link in card.content.decode()
    response = user_client.get(add_link)
    assert response.context["form"]["company"].value() == str(company.pk)
    assert "Initech" in response.content.decode()


def test_deal_edit_changing_stage_records_it(user_client, user):
    from tests.factories import edit_data

    deal = make_deal(user, stage=stage("new"))
    response = user_client.post(
        reverse("deal_edit", args=[deal.pk]), edit_data(deal, stage=stage("invoice").pk)
    )
    assert response.status_code == 302
    change = StageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.changed_by) == (stage("new"), stage("invoice"), user)


def test_board_hides_companies_the_user_cannot_open(user_client, user, other_user):
    from crm_site import services
    from tests.factories import make_company

    hidden = make_company(other_user, name="Чужая Компания")
    binned = make_company(user, name="Удалённая Компания")
    make_deal(user, title="Deal with hidden", stage=stage("new"), company=hidden)
    make_deal(user, title="Deal with binned", stage=stage("new"), company=binned)
    services.record_delete(user=user, obj=binned)
    page = user_client.get(BOARD).content.decode()
    assert "Deal with hidden" in page and "Deal with binned" in page
    for company in (hidden, binned):
        assert company.name not in page
        assert company.get_absolute_url() not in page
