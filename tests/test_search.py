"""Quick search (?q=): name parts in any order, phones in any format or in part, emails in any case."""

import pytest
from django.db import connection
from django.urls import reverse

from companies.models import Company
from contacts.models import Contact
from crm_site.registry import registry
from deals.models import Deal
from leads.models import Lead
from tests.factories import add_channels, make_company, make_contact, make_deal, make_lead, make_record

CHANNEL_KEYS = [entity.key for entity in registry if entity.has_channels]

pytestmark = pytest.mark.django_db


def found(model, query):
    return set(model.objects.search(query))


@pytest.fixture
def ivanov(user):
    return make_contact(
        user,
        last_name="Иванов",
        first_name="Пётр",
        middle_name="Сергеевич",
        phones=["+7 495 123-45-67"],
        emails=["Ivan.Petrov@Example.COM"],
    )


@pytest.fixture
def smith(user):
    return make_contact(
        user,
        last_name="Smith",
        first_name="John",
        middle_name="",
        phones=["+380 44 765 4321"],
        emails=["john@smith.example"],
    )


# ---------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    "query",
    ["Иванов", "Пётр", "Иванов Пётр", "Пётр Иванов", "Сергеевич Иванов Пётр", "Ива", "  Пётр   Иванов  "],
)
def test_name_parts_in_any_order(query, ivanov, smith):
    assert found(Contact, query) == {ivanov}


@pytest.mark.parametrize("query", ["Пётр Смирнов", "John Иванов", "Иванов Пётрович"])
def test_every_word_must_match(query, ivanov, smith):
    assert found(Contact, query) == set()


@pytest.mark.parametrize("query", ["smith", "JOHN smith", "sMiTh jOhN"])
def test_names_ignore_case(query, ivanov, smith):
    assert found(Contact, query) == {smith}


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite's LIKE folds the case of ASCII letters only (demo database)"
)
@pytest.mark.parametrize("query", ["иванов", "ПЁТР ИВАНОВ"])
def test_cyrillic_names_ignore_case(query, ivanov, smith):
    assert found(Contact, query) == {ivanov}


def test_like_wildcards_are_literal(ivanov, smith):
    assert found(Contact, "%") == set()
    assert found(Contact, "_") == set()


def test_empty_query_finds_everything(ivanov, smith):
    assert found(Contact, "") == {ivanov, smith}
    assert found(Contact, "   ") == {ivanov, smith}


# ---------------------------------------------------------------------------
# Phones


@pytest.mark.parametrize(
    "query",
    [
        "+7 495 123-45-67",
        "8 (495) 123-45-67",
        "84951234567",
        "+74951234567",
        "8-495-123-45-67",
        "7 (495) 1234567",
    ],
)
def test_phone_in_another_format(query, ivanov, smith):
    assert found(Contact, query) == {ivanov}


@pytest.mark.parametrize("query", ["123-45-67", "1234567", "495 123", "(495) 123-45", "12345"])
def test_partial_phone_digits(query, ivanov, smith):
    assert found(Contact, query) == {ivanov}


def test_foreign_phone_typed_locally_and_in_part(ivanov, smith):
    assert found(Contact, "+380 44 765 4321") == {smith}
    assert found(Contact, "+380447654321") == {smith}
    assert found(Contact, "765 43 21") == {smith}
    assert found(Contact, "044 765 4321") == {smith}


def test_too_few_digits_are_not_a_phone_search(ivanov, smith):
    assert found(Contact, "567") == set()
    assert found(Contact, "4567") == {ivanov}  # 4 digits are enough


def test_record_with_several_matching_phones_is_found_once(user):
    contact = make_contact(user, phones=["+7 495 123-45-67", "+7 495 123-45-68"])
    assert list(Contact.objects.search("495 123-45")) == [contact]


# ---------------------------------------------------------------------------
# Emails


@pytest.mark.parametrize(
    "query",
    [
        "ivan.petrov@example.com",
        "IVAN.PETROV@EXAMPLE.COM",
        "Ivan.Petrov@Example.COM",
        "petrov@example",
        "@example.com",
    ],
)
def test_email_ignores_case(query, ivanov, smith):
    assert found(Contact, query) == {ivanov}


def test_unknown_email(ivanov, smith):
    assert found(Contact, "nobody@example.com") == set()


# ---------------------------------------------------------------------------
# Every entity with channels, and the other text fields


@pytest.mark.parametrize("key", CHANNEL_KEYS)
def test_every_entity_is_found_by_phone_and_email(key, user):
    model = registry[key].model
    wanted = make_record(key, user)
    add_channels(wanted, phones=["+7 (812) 555-44-33"], emails=["Sales@Firm.Example"])
    other = make_record(key, user)
    add_channels(other, phones=["+7 (812) 111-22-33"], emails=["info@other.example"])
    for query in ("8 812 555 44 33", "5554433", "sales@firm.example"):
        assert found(model, query) == {wanted}, query


def test_company_by_name_legal_name_and_tax_id(user):
    company = make_company(user, name="Ромашка", legal_name="ООО «Ромашка-Север»", tax_id="7701234567")
    make_company(user, name="Василёк", legal_name="ООО «Василёк»", tax_id="5009876543")
    assert found(Company, "Ромашка") == {company}
    assert found(Company, "Север") == {company}
    assert found(Company, "7701234567") == {company}


def test_deal_by_title_and_company_name(user):
    company = make_company(user, name="Globex")
    deal = make_deal(user, title="Server upgrade", company=company)
    make_deal(user, title="Office chairs")
    assert found(Deal, "globex") == {deal}
    assert found(Deal, "upgrade server") == {deal}


def test_lead_by_title_person_and_company_name(user):
    lead = make_lead(user, title="Website request", last_name="Kuznetsova", company_name="Initech")
    make_lead(user, title="Call back", last_name="Other", company_name="Hooli")
    assert found(Lead, "initech") == {lead}
    assert found(Lead, "kuznetsova website") == {lead}


# ---------------------------------------------------------------------------
# Through the screens: only what the user may read


def test_list_search_only_shows_visible_records(user_client, user, other_user):
    mine = make_contact(user, last_name="Orlov", phones=["+7 495 700-00-01"])
    hidden = make_contact(other_user, last_name="Orlov", phones=["+7 495 700-00-01"])
    for query in ("orlov", "8 495 700 00 01"):
        response = user_client.get(reverse("contact_list"), {"q": query})
        shown = [row["object"] for row in response.context["rows"]]
        assert shown == [mine], query
        assert hidden.get_absolute_url() not in response.content.decode()


def test_autocomplete_by_phone_and_email(user_client, user, other_user):
    mine = make_company(user, name="Acme", phones=["+7 495 700-00-02"], emails=["hello@acme.example"])
    make_company(other_user, name="Acme Hidden", phones=["+7 495 700-00-02"], emails=["hello@acme.example"])
    for query in ("84957000002", "HELLO@ACME.EXAMPLE", "acme"):
        results = user_client.get(reverse("company_autocomplete"), {"q": query}).json()["results"]
        assert [r["id"] for r in results] == [mine.pk], query


def test_search_skips_the_recycle_bin(user):
    contact = make_contact(user, last_name="Deleted", phones=["+7 495 700-00-03"])
    contact.deleted_at = contact.created_at
    contact.save()
    assert found(Contact, "Deleted") == set()
    assert found(Contact, "+7 495 700-00-03") == set()


# ---------------------------------------------------------------------------
# A linked record finds by its name only for those who may read it


def test_a_company_the_user_may_not_read_finds_nothing_by_its_name(user_client, user, other_user):
    hidden = make_company(other_user, name="Stealthcorp")
    visible = make_company(user, name="Stealthcorp Branch")
    at_hidden = make_contact(user, last_name="Petrov", companies=[hidden])
    at_both = make_contact(user, last_name="Sidorov", companies=[hidden, visible])
    deal_at_hidden = make_deal(user, title="Upgrade", company=hidden)
    assert set(Contact.objects.search("Stealthcorp", user=user)) == {at_both}
    assert set(Contact.objects.search("Stealthcorp")) == {at_hidden, at_both}  # no user: an internal caller
    assert set(Deal.objects.search("Stealthcorp", user=user)) == set()
    assert set(Deal.objects.search("Upgrade", user=user)) == {deal_at_hidden}
    response = user_client.get(reverse("contact_list"), {"q": "Stealthcorp"})
    assert [row["object"] for row in response.context["rows"]] == [at_both]
    response = user_client.get(reverse("deal_list"), {"q": "Stealthcorp"})
    assert response.context["rows"] == []


def test_a_company_shared_with_the_user_finds_by_its_name(user, other_user):
    from access.scopes import forget
    from access.services import share_grant

    hidden = make_company(other_user, name="Sharedcorp")
    contact = make_contact(user, last_name="Petrov", companies=[hidden])
    assert set(Contact.objects.search("Sharedcorp", user=user)) == set()
    share_grant(user=other_user, obj=hidden, grantee=user, level="read")
    forget(user)
    assert set(Contact.objects.search("Sharedcorp", user=user)) == {contact}
