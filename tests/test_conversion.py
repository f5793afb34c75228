"""Lead conversion: every path through leads.services.lead_convert and through the convert screen."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import escape

from companies.models import Company
from contacts.models import Contact, ContactCompany
from deals.models import Deal, DealContact, StageChange
from leads.models import Lead
from leads.services import lead_convert
from tests.factories import make_company, make_contact, make_lead, pipeline, stage

pytestmark = pytest.mark.django_db

LEAD_PHONES = ["8 (495) 123-45-67", "+380 44 123 4567"]
LEAD_EMAILS = ["Lead.Person@Example.COM"]


@pytest.fixture
def lead(user):
    return make_lead(
        user,
        title="Запрос на 20 лицензий",
        last_name="Петров",
        first_name="Иван",
        middle_name="Ильич",
        position="Закупщик",
        company_name="АО Вектор",
        expected_amount=Decimal("120000.00"),
        phones=LEAD_PHONES,
        emails=LEAD_EMAILS,
    )


@pytest.fixture
def existing_contact(user):
    return make_contact(user, last_name="Существующий", first_name="Контакт", phones=["+7 495 000-00-00"])


@pytest.fixture
def existing_company(user):
    return make_company(user, name="Существующая компания")


def convert_url(lead):
    return reverse("lead_convert", args=[lead.pk])


def counts():
    return {
        model.__name__: model.all_objects.count() if hasattr(model, "all_objects") else model.objects.count()
        for model in (Contact, Company, Deal, ContactCompany, DealContact, StageChange)
    }


def form_post(**options):
    """The convert screen's POST data for service-style keyword arguments."""
    data = {}
    for name, value in options.items():
        if value is True:
            data[name] = "on"
        elif hasattr(value, "pk"):
            data[name] = str(value.pk)
        elif value not in (None, False, ""):
            data[name] = str(value)
    return data


# Each path: (id, options builder, contact expected, company expected, deal expected)
# "new" = created from the lead, "existing" = the chosen record, None = nothing.
PATHS = [
    ("contact-only", lambda c, co: {"create_contact": True}, "new", None, False),
    ("company-only", lambda c, co: {"create_company": True}, None, "new", False),
    ("deal-only", lambda c, co: {"create_deal": True}, None, None, True),
    ("contact-company", lambda c, co: {"create_contact": True, "create_company": True}, "new", "new", False),
    (
        "contact-company-deal",
        lambda c, co: {"create_contact": True, "create_company": True, "create_deal": True},
        "new",
        "new",
        True,
    ),
    (
        "existing-contact-new-company",
        lambda c, co: {"contact": c, "create_company": True},
        "existing",
        "new",
        False,
    ),
    (
        "existing-company-new-contact-deal",
        lambda c, co: {"company": co, "create_contact": True, "create_deal": True},
        "new",
        "existing",
        True,
    ),
]


def normalized(obj, channel):
    return sorted(obj.communications.filter(channel=channel).values_list("normalized", flat=True))


def check_converted(
    lead, user, before, *, contact, company, deal, existing_contact, existing_company, via_view
):
    lead = Lead.objects.get(pk=lead.pk)
    after = counts()
    assert lead.status.code == "converted"
    assert lead.is_converted and lead.converted_by == user
    latest = lead.history.order_by("-history_date", "-history_id").first()
    assert latest.history_change_reason == "converted"
    assert latest.status_id == lead.status_id
    if via_view:
        assert latest.history_user == user

    lead_phones = normalized(lead, "phone")
    lead_emails = normalized(lead, "email")

    # Contact
    if contact == "new":
        made = lead.converted_contact
        assert made is not None and made != existing_contact
        assert (made.last_name, made.first_name, made.middle_name) == ("Петров", "Иван", "Ильич")
        assert made.position == lead.position and made.source == lead.source and made.comment == lead.comment
        assert made.owner == lead.owner and made.created_by == user
        assert made.department == lead.department
        assert normalized(made, "phone") == lead_phones == ["+380441234567", "+74951234567"]
        assert normalized(made, "email") == lead_emails == ["lead.person@example.com"]
        assert made.communications.filter(channel="phone", is_primary=True).count() == 1
        assert made.history.filter(history_type="+").exists()
        assert after["Contact"] == before["Contact"] + 1
    elif contact == "existing":
        assert lead.converted_contact == existing_contact
        assert Contact.objects.get(pk=existing_contact.pk).last_name == "Существующий"
        assert normalized(existing_contact, "phone") == ["+74950000000"]  # nothing copied into it
        assert after["Contact"] == before["Contact"]
    else:
        assert lead.converted_contact is None
        assert after["Contact"] == before["Contact"]

    # Company
    if company == "new":
        made = lead.converted_company
        assert made is not None and made != existing_company
        assert made.name == "АО Вектор"
        assert made.owner == lead.owner and made.created_by == user
        assert made.history.filter(history_type="+").exists()
        # The lead's phones go to the person when there is one, else to the company.
        assert normalized(made, "phone") == ([] if lead.converted_contact else lead_phones)
        assert after["Company"] == before["Company"] + 1
    elif company == "existing":
        assert lead.converted_company == existing_company
        assert after["Company"] == before["Company"]
    else:
        assert lead.converted_company is None
        assert after["Company"] == before["Company"]

    # Contact ↔ company
    if lead.converted_contact and lead.converted_company:
        link = ContactCompany.objects.get(contact=lead.converted_contact, company=lead.converted_company)
        assert link.position == lead.position
        assert link.is_primary
        assert after["ContactCompany"] == before["ContactCompany"] + 1
    else:
        assert after["ContactCompany"] == before["ContactCompany"]

    # Deal
    deals = list(Deal.objects.filter(source_lead=lead))
    if deal:
        [made] = deals
        assert made.title == "Запрос на 20 лицензий"
        assert made.amount == lead.expected_amount and made.currency == lead.currency
        assert made.company == lead.converted_company
        assert made.pipeline == pipeline("sales") and made.stage == stage("new")
        assert made.owner == lead.owner and made.created_by == user
        assert made.history.filter(history_type="+").exists()
        [change] = StageChange.objects.filter(deal=made)
        assert (change.from_stage, change.to_stage, change.changed_by) == (None, stage("new"), user)
        expected_contacts = [lead.converted_contact] if lead.converted_contact else []
        assert list(made.contacts.all()) == expected_contacts
    else:
        assert deals == []
        assert after["Deal"] == before["Deal"]
    return lead


@pytest.mark.parametrize(
    ("path_id", "options", "contact", "company", "deal"), PATHS, ids=[p[0] for p in PATHS]
)
def test_conversion_through_the_service(
    path_id, options, contact, company, deal, user, lead, existing_contact, existing_company
):
    before = counts()
    result = lead_convert(user=user, lead=lead, **options(existing_contact, existing_company))
    converted = check_converted(
        lead,
        user,
        before,
        contact=contact,
        company=company,
        deal=deal,
        existing_contact=existing_contact,
        existing_company=existing_company,
        via_view=False,
    )
    assert result.contact == converted.converted_contact
    assert result.company == converted.converted_company
    assert (result.deal is not None) == deal


@pytest.mark.parametrize(
    ("path_id", "options", "contact", "company", "deal"), PATHS, ids=[p[0] for p in PATHS]
)
def test_conversion_through_the_screen(
    path_id, options, contact, company, deal, user_client, user, lead, existing_contact, existing_company
):
    before = counts()
    data = form_post(**options(existing_contact, existing_company))
    if deal:
        data.update({"pipeline": str(pipeline("sales").pk), "deal_title": ""})
    response = user_client.post(convert_url(lead), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    assert response["Location"] == lead.get_absolute_url()
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["success"]
    check_converted(
        lead,
        user,
        before,
        contact=contact,
        company=company,
        deal=deal,
        existing_contact=existing_contact,
        existing_company=existing_company,
        via_view=True,
    )
    card = user_client.get(lead.get_absolute_url())
    assert card.status_code == 200
    assert convert_url(lead) not in card.content.decode()  # nothing left to convert


def test_convert_screen_proposes_everything(user_client, lead):
    card = user_client.get(lead.get_absolute_url())
    assert convert_url(lead) in card.content.decode()
    response = user_client.get(convert_url(lead))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["create_contact"].value() and form["create_company"].value() and form["create_deal"].value()
    assert form["deal_title"].value() == lead.title
    assert form["pipeline"].value() == pipeline("sales").pk
    assert escape(lead.title) in response.content.decode()


def test_deal_title_and_pipeline_are_taken_from_the_screen(user_client, user, lead):
    response = user_client.post(
        convert_url(lead),
        form_post(create_deal=True, pipeline=pipeline("partners"), deal_title="Пилот на 3 месяца"),
    )
    assert response.status_code == 302
    deal = Deal.objects.get(source_lead=lead)
    assert deal.title == "Пилот на 3 месяца"
    assert deal.stage == stage("request", "partners")


# ---------------------------------------------------------------------------
# Refusals


def assert_untouched(lead, before):
    lead = Lead.objects.get(pk=lead.pk)
    assert not lead.is_converted
    assert lead.status.code == "new"
    assert lead.converted_contact is None and lead.converted_company is None
    assert counts() == before


def test_nothing_chosen(user_client, user, lead):
    before = counts()
    with pytest.raises(ValidationError):
        lead_convert(user=user, lead=lead)
    response = user_client.post(convert_url(lead), {"pipeline": str(pipeline().pk), "deal_title": "x"})
    assert response.status_code == 400
    errors = response.context["form"].non_field_errors()
    assert errors and escape(errors[0]) in response.content.decode()
    assert_untouched(lead, before)


def test_already_converted(user_client, user, lead):
    lead_convert(user=user, lead=lead, create_contact=True)
    before = counts()
    with pytest.raises(ValidationError):
        lead_convert(user=user, lead=lead, create_company=True)
    response = user_client.post(convert_url(lead), form_post(create_company=True, create_deal=True))
    assert response.status_code == 302
    assert response["Location"] == lead.get_absolute_url()
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["info"]
    assert user_client.get(convert_url(lead)).status_code == 302
    assert counts() == before


@pytest.mark.parametrize("which", ["contact", "company"])
def test_creating_and_choosing_both(which, user_client, user, lead, existing_contact, existing_company):
    existing = existing_contact if which == "contact" else existing_company
    before = counts()
    with pytest.raises(ValidationError):
        lead_convert(user=user, lead=lead, **{f"create_{which}": True, which: existing})
    response = user_client.post(convert_url(lead), form_post(**{f"create_{which}": True, which: existing}))
    assert response.status_code == 400
    assert which in response.context["form"].errors
    assert escape(response.context["form"].errors[which][0]) in response.content.decode()
    assert_untouched(lead, before)


def test_lead_of_another_department_is_404(user_client, user, other_user):
    theirs = make_lead(other_user)
    before = counts()
    assert user_client.get(convert_url(theirs)).status_code == 404
    assert user_client.post(convert_url(theirs), form_post(create_contact=True)).status_code == 404
    with pytest.raises(PermissionDenied):
        lead_convert(user=user, lead=theirs, create_contact=True)
    assert_untouched(theirs, before)


def test_opened_lead_of_another_owner_is_forbidden(user_client, user, other_user):
    theirs = make_lead(other_user, opened=True)
    before = counts()
    assert user_client.get(convert_url(theirs)).status_code == 403
    assert user_client.post(convert_url(theirs), form_post(create_contact=True)).status_code == 403
    assert convert_url(theirs) not in user_client.get(theirs.get_absolute_url()).content.decode()
    assert_untouched(theirs, before)


@pytest.mark.parametrize("which", ["contact", "company"])
def test_existing_record_the_user_cannot_see_is_refused(which, user_client, user, other_user, lead):
    hidden = make_contact(other_user) if which == "contact" else make_company(other_user)
    before = counts()
    with pytest.raises(PermissionDenied):
        lead_convert(user=user, lead=lead, create_deal=True, **{which: hidden})
    response = user_client.post(convert_url(lead), form_post(create_deal=True, **{which: hidden}))
    assert response.status_code == 400
    assert which in response.context["form"].errors
    assert_untouched(lead, before)


def test_contact_from_a_lead_without_a_name_rolls_everything_back(user_client, user):
    nameless = make_lead(user, last_name="", first_name="", middle_name="", company_name="ООО Без имени")
    before = counts()
    with pytest.raises(ValidationError):
        lead_convert(user=user, lead=nameless, create_company=True, create_contact=True, create_deal=True)
    assert_untouched(nameless, before)
    response = user_client.post(convert_url(nameless), form_post(create_company=True, create_contact=True))
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert_untouched(nameless, before)


def test_company_name_falls_back_to_the_lead_title(user):
    lead = make_lead(user, company_name="")
    result = lead_convert(user=user, lead=lead, create_company=True)
    assert result.company.name == lead.title


def test_head_converts_a_subordinate_lead_for_its_owner(head, user):
    lead = make_lead(user)
    result = lead_convert(user=head, lead=lead, create_contact=True, create_deal=True)
    assert result.contact.owner == user and result.deal.owner == user
    assert result.contact.created_by == head
    assert Lead.objects.get(pk=lead.pk).converted_by == head


def test_existing_contact_keeps_its_primary_company(user, existing_contact, existing_company):
    ContactCompany.objects.create(contact=existing_contact, company=existing_company, is_primary=True)
    lead = make_lead(user)
    result = lead_convert(user=user, lead=lead, contact=existing_contact, create_company=True)
    link = ContactCompany.objects.get(contact=existing_contact, company=result.company)
    assert not link.is_primary
    assert ContactCompany.objects.get(contact=existing_contact, company=existing_company).is_primary


def test_converted_lead_can_still_be_edited(user_client, user, lead):
    from tests.factories import edit_data

    lead_convert(user=user, lead=lead, create_contact=True)
    lead = Lead.objects.get(pk=lead.pk)
    response = user_client.post(reverse("lead_edit", args=[lead.pk]), edit_data(lead, comment="Done"))
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).comment == "Done"
