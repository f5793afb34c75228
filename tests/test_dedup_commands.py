"""Commands take an entity as `contact` or `contacts`; the weights are re-estimated and shown in the admin."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from crm_site import events
from dedup.models import DuplicateRule
from dedup.services import not_duplicate_mark, records_merge
from tests.factories import make_contact

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["contact", "contacts", "Contacts"])
def test_commands_take_singular_or_plural(name):
    out = io.StringIO()
    call_command("find_duplicates", name, "--json", stdout=out)
    assert out.getvalue().strip() == "[]"
    call_command("rebuild_match_keys", name, stdout=io.StringIO())


def test_unknown_entity_is_a_clear_error():
    with pytest.raises(CommandError, match="unknown entity 'contactz'"):
        call_command("rebuild_match_keys", "contactz", stdout=io.StringIO())


def _people(user, count):
    out = []
    for i in range(count):
        person = make_contact(user, last_name=f"Фамилия{i:03d}", first_name=["Анна", "Олег", "Ирина"][i % 3],
                              middle_name="", phones=[f"+7 916 {i:03d}-00-00"], birthday=None, address="")
        events.record_event(events.CREATED, obj=person, user=user)
        out.append(person)
    return out


def test_estimate_from_the_base_stores_weights_shown_in_the_admin(user, admin_client):
    people = _people(user, 60)
    for i in range(0, 20, 2):  # duplicates sharing a phone
        copy = make_contact(user, last_name=people[i].last_name, first_name=people[i].first_name, middle_name="",
                            phones=[f"8 916 {i:03d} 00 00"], birthday=None, address="")
        events.record_event(events.CREATED, obj=copy, user=user)
    out = io.StringIO()
    call_command("estimate_match_weights", "contacts", "--sample", "5000", stdout=out)
    rule = DuplicateRule.objects.get(entity="contact")
    assert rule.parameters["m"]["phone"] and rule.estimated_at and "EM over" in rule.estimated_from
    assert "first_name" in out.getvalue() and "stored" in out.getvalue()
    page = admin_client.get(reverse("admin:dedup_duplicaterule_change", args=[rule.pk]))
    assert page.status_code == 200 and "prior, duplicates per record" in page.content.decode()
    call_command("estimate_match_weights", "contact", "--reset", stdout=io.StringIO())
    assert DuplicateRule.objects.get(entity="contact").parameters == {}


def test_estimate_from_feedback_needs_enough_merges(user):
    people = _people(user, 80)
    with pytest.raises(CommandError, match="merges to learn from"):
        call_command("estimate_match_weights", "contact", "--from", "feedback", stdout=io.StringIO())
    for i in range(0, 24, 2):
        records_merge(user=user, survivor=people[i], others=[people[i + 1]])
    for i in range(30, 52, 2):
        not_duplicate_mark(user=user, first=people[i], second=people[i + 1])
    out = io.StringIO()
    call_command("estimate_match_weights", "contact", "--from", "feedback", "--dry-run", stdout=out)
    assert "12 merged pairs and 11 'not a duplicate' marks" in out.getvalue() and "nothing stored" in out.getvalue()
    assert DuplicateRule.objects.get(entity="contact").parameters == {}
