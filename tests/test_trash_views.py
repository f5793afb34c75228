"""The recycle bin screens and the generic lists' bulk delete."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from companies.models import Company
from contacts.models import Contact
from crm_site.registry import registry
from deals.models import Deal
from tests.factories import make_company, make_contact, make_deal, make_record, search_field
from trash.services import records_delete

pytestmark = pytest.mark.django_db
ENTITY_KEYS = [entity.key for entity in registry]
TRASH = "/trash/"


def html(response):
    return response.content.decode()


def token(obj):
    return f"{type(obj).entity().key}:{obj.pk}"


# ---------------------------------------------------------------------------
# The bin page


def test_bin_lists_items_with_type_name_deleter_and_days_left(user_client, user):
    contact, company = make_contact(user), make_company(user)
    records_delete(user=user, objs=[contact, company])
    response = user_client.get(TRASH)
    assert response.status_code == 200
    page = html(response)
    assert escape(str(contact)) in page and escape(company.name) in page
    assert "Alice Adams" in page
    days = [item["days_left"] for item in response.context["items"]]
    assert days == [30, 30]
    assert {item["entity"].key for item in response.context["items"]} == {"contact", "company"}


def test_bin_shows_only_items_the_user_may_delete(user_client, user, colleague, admin_client):
    mine, theirs = make_contact(user), make_contact(colleague)
    records_delete(user=user, objs=[mine])
    records_delete(user=colleague, objs=[theirs])
    listed = [item["object"].pk for item in user_client.get(TRASH).context["items"]]
    assert listed == [mine.pk]
    listed = {item["object"].pk for item in admin_client.get(TRASH).context["items"]}
    assert listed == {mine.pk, theirs.pk}


def test_bin_filters_and_search(user_client, user, head):
    contact = make_contact(user, last_name="Уникальнов")
    company = make_company(user)
    deal = make_deal(user, company=None)
    records_delete(user=user, objs=[contact, company])
    records_delete(user=head, objs=[deal])

    def listed(**params):
        response = user_client.get(TRASH, params)
        assert response.status_code == 200
        return {item["token"] for item in response.context["items"]}

    assert listed(type="contact") == {token(contact)}
    assert listed(q="Уникальнов") == {token(contact)}
    assert listed(deleted_by=head.pk) == {token(deal)}
    today = timezone.localdate()
    assert listed(since=today.isoformat()) == {token(contact), token(company), token(deal)}
    assert listed(until=(today - timedelta(days=1)).isoformat()) == set()
    response = user_client.get(TRASH, {"since": today.isoformat(), "until": "2000-01-01"})
    assert "start date is after the end date" in html(response)


def test_bin_pages_across_entities(user_client, user, settings):
    settings.CRM_PAGE_SIZE = 10
    records = [make_record(ENTITY_KEYS[n % len(ENTITY_KEYS)], user) for n in range(23)]
    records_delete(user=user, objs=records)
    seen = []
    for number in (1, 2, 3):
        response = user_client.get(TRASH, {"page": number})
        assert response.context["page"].paginator.count >= 23
        seen += [item["token"] for item in response.context["items"]]
    expected = {token(obj) for obj in records}
    assert expected <= set(seen) and len(seen) == len(set(seen))


def test_bin_item_page_shows_history_and_linked_items_in_bin(user_client, user):
    company = make_company(user)
    deal = make_deal(user, company=company)
    records_delete(user=user, objs=[deal, company])
    response = user_client.get(reverse("trash_item", args=["deal", deal.pk]))
    assert response.status_code == 200
    page = html(response)
    assert "moved to the recycle bin" in page
    assert escape(company.name) in page
    assert response.context["linked_in_bin"] == [company]


def test_bin_item_out_of_scope_is_404(user_client, other_user, colleague, user):
    for owner in (other_user, colleague):
        contact = make_contact(owner)
        records_delete(user=owner, objs=[contact])
        assert user_client.get(reverse("trash_item", args=["contact", contact.pk])).status_code == 404
    live = make_contact(user)
    assert user_client.get(reverse("trash_item", args=["contact", live.pk])).status_code == 404
    assert user_client.get(reverse("trash_item", args=["nothing", live.pk])).status_code == 404


# ---------------------------------------------------------------------------
# Restore


def test_restore_one_goes_back_to_its_card(user_client, user):
    contact = make_contact(user)
    records_delete(user=user, objs=[contact])
    response = user_client.post(reverse("trash_restore"), {"items": [token(contact)]})
    assert response.status_code == 302 and response["Location"] == contact.get_absolute_url()
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert user_client.get(contact.get_absolute_url()).status_code == 200


def test_restore_many(user_client, user):
    contacts = [make_contact(user) for _ in range(3)]
    records_delete(user=user, objs=contacts)
    response = user_client.post(reverse("trash_restore"), {"items": [token(c) for c in contacts]})
    assert response.status_code == 302 and response["Location"] == TRASH
    assert Contact.objects.filter(pk__in=[c.pk for c in contacts]).count() == 3


def test_restore_offers_the_linked_record_still_in_bin(user_client, user):
    company = make_company(user)
    deal = make_deal(user, company=company)
    records_delete(user=user, objs=[deal, company])
    response = user_client.post(reverse("trash_restore"), {"items": [token(deal)]})
    assert response.status_code == 200
    page = html(response)
    assert "Restore them too" in page and f'value="{token(company)}"' in page
    response = user_client.post(reverse("trash_restore"), {"items": [token(company)]})
    assert Company.objects.filter(pk=company.pk).exists()
    assert Deal.objects.get(pk=deal.pk).company == company


def test_restore_with_related_in_one_action(user_client, user):
    company = make_company(user)
    deal = make_deal(user, company=company)
    records_delete(user=user, objs=[deal, company])
    response = user_client.post(reverse("trash_restore"), {"items": [token(deal)], "restore_related": "on"})
    assert response.status_code == 302
    assert Company.objects.filter(pk=company.pk).exists() and Deal.objects.filter(pk=deal.pk).exists()


def test_manager_cannot_restore_someone_elses_item_404(user_client, colleague):
    contact = make_contact(colleague)
    records_delete(user=colleague, objs=[contact])
    response = user_client.post(reverse("trash_restore"), {"items": [token(contact)]})
    assert response.status_code == 404
    assert Contact.all_objects.get(pk=contact.pk).deleted_at is not None
    assert user_client.post(reverse("trash_restore"), {"items": ["contact:999999", "junk"]}).status_code == 404


# ---------------------------------------------------------------------------
# Delete permanently


def test_only_administrators_delete_permanently(user_client, user, admin_client):
    contact = make_contact(user)
    records_delete(user=user, objs=[contact])
    assert "Delete selected permanently" not in html(user_client.get(TRASH))
    response = user_client.post(reverse("trash_purge"), {"items": [token(contact)], "confirm": "yes"})
    assert response.status_code == 403
    assert Contact.all_objects.filter(pk=contact.pk).exists()

    assert "Delete selected permanently" in html(admin_client.get(TRASH))
    response = admin_client.post(reverse("trash_purge"), {"items": [token(contact)]})
    assert response.status_code == 200 and "cannot be undone" in html(response)
    assert Contact.all_objects.filter(pk=contact.pk).exists()
    response = admin_client.post(reverse("trash_purge"), {"items": [token(contact)], "confirm": "yes"})
    assert response.status_code == 302
    assert not Contact.all_objects.filter(pk=contact.pk).exists()


def test_manager_cannot_purge_someone_elses_item(head_client, admin_client, other_user):
    contact = make_contact(other_user)
    records_delete(user=other_user, objs=[contact])
    assert head_client.post(reverse("trash_purge"), {"items": [token(contact)], "confirm": "yes"}).status_code == 403
    assert Contact.all_objects.filter(pk=contact.pk).exists()


# ---------------------------------------------------------------------------
# Bulk delete from the generic lists


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_bulk_delete_from_the_list(key, user_client, user):
    first, second, kept = (make_record(key, user) for _ in range(3))
    listing = html(user_client.get(reverse(f"{key}_list")))
    assert "Delete selected" in listing and f'name="ids" value="{first.pk}"' in listing
    action = reverse("trash_bulk_delete", args=[key])
    response = user_client.post(action, {"ids": [first.pk, second.pk]})
    assert response.status_code == 200 and "Move 2 records to the recycle bin?" in html(response)
    assert type(first).objects.filter(pk=first.pk).exists()  # the confirmation changes nothing
    response = user_client.post(action, {"ids": [first.pk, second.pk], "confirm": "yes"}, follow=True)
    assert "2 records moved to the recycle bin." in html(response)
    assert set(type(first).objects.values_list("pk", flat=True)) >= {kept.pk}
    assert not type(first).objects.filter(pk__in=[first.pk, second.pk]).exists()


def test_bulk_delete_reports_refused(user_client, user, colleague, other_user):
    mine, theirs, hidden = make_contact(user), make_contact(colleague), make_contact(other_user)
    response = user_client.post(
        reverse("trash_bulk_delete", args=["contact"]),
        {"ids": [mine.pk, theirs.pk, hidden.pk], "confirm": "yes"}, follow=True,
    )
    page = html(response)
    assert "1 record moved to the recycle bin." in page
    assert "2 records were not deleted" in page
    assert Contact.objects.filter(pk__in=[theirs.pk, hidden.pk]).count() == 2


def test_bulk_delete_with_nothing_selected(user_client):
    response = user_client.post(reverse("trash_bulk_delete", args=["contact"]), {"confirm": "yes"}, follow=True)
    assert "Select the records to delete." in html(response)
    assert user_client.post(reverse("trash_bulk_delete", args=["nope"]), {}).status_code == 404


def test_bulk_delete_needs_login(anon_client, user):
    contact = make_contact(user)
    response = anon_client.post(reverse("trash_bulk_delete", args=["contact"]), {"ids": [contact.pk], "confirm": "yes"})
    assert response.status_code == 302 and "login" in response["Location"]
    assert Contact.objects.filter(pk=contact.pk).exists()


# ---------------------------------------------------------------------------
# A binned record disappears everywhere


def test_binned_records_disappear_from_lists_search_board_and_related_widgets(user_client, user):
    company = make_company(user)
    contact = make_contact(user, companies=[company])
    deal = make_deal(user, company=company, contacts=[contact])
    records_delete(user=user, objs=[contact, deal])

    assert contact not in [row["object"] for row in user_client.get(reverse("contact_list")).context["rows"]]
    marker = getattr(contact, search_field("contact"))
    found = user_client.get(reverse("contact_list"), {"q": marker}).context["rows"]
    assert contact.pk not in [row["object"].pk for row in found]
    auto = user_client.get(reverse("contact_autocomplete"), {"q": marker}).json()["results"]
    assert contact.pk not in [r["id"] for r in auto]
    board = html(user_client.get(reverse("deal_board")))
    assert escape(deal.title) not in board
    card = user_client.get(company.get_absolute_url())
    relation_targets = [link["target"].pk for r in card.context["relations"] for link in r["links"]]
    assert contact.pk not in relation_targets
    related = [obj.pk for lst in card.context["related_lists"] for obj in lst["records"]]
    assert deal.pk not in related
    assert escape(str(contact)) not in html(card) and escape(deal.title) not in html(card)


def test_bin_is_in_the_menu(user_client):
    assert 'href="/trash/"' in html(user_client.get("/"))


def test_retention_periods_are_set_in_the_admin(admin_client):
    from trash.models import RetentionPolicy

    response = admin_client.get(reverse("admin:trash_retentionpolicy_add"))
    assert response.status_code == 200 and 'value="contact"' in html(response)
    response = admin_client.post(reverse("admin:trash_retentionpolicy_add"), {"entity_key": "deal", "days": "7"})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(entity_key="deal").days == 7
    response = admin_client.post(reverse("admin:trash_retentionpolicy_add"), {"entity_key": "lead", "days": "0"})
    assert response.status_code == 200 and not RetentionPolicy.objects.filter(entity_key="lead").exists()
    response = admin_client.post(reverse("admin:trash_retentionpolicy_add"), {"entity_key": "nope", "days": "5"})
    assert response.status_code == 200 and not RetentionPolicy.objects.filter(entity_key="nope").exists()
    assert "Deals" in html(admin_client.get(reverse("admin:trash_retentionpolicy_changelist")))
