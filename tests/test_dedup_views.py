"""Screens: warnings respect access, merge screen permissions, groups page, undo from the card, schedules."""

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from crm_site import events
from dedup import tasks
from dedup.models import DuplicateGroup, MergeRecord, NotDuplicate, ScanRun, ScanSchedule
from dedup.services import duplicates_scan, records_merge
from tests.factories import assign_role, make_contact, make_lead

pytestmark = pytest.mark.django_db


def contact(owner, **fields):
    """A contact announced like the services do; no shared birthday/address unless asked (factory defaults)."""
    fields.setdefault("birthday", None)
    fields.setdefault("address", "")
    obj = make_contact(owner, **fields)
    events.record_event(events.CREATED, obj=obj, user=owner)
    return obj


def check(client, entity="contact", **data):
    return client.post(reverse("dedup_check", args=[entity]), data, HTTP_HX_REQUEST="true")


def test_form_has_the_warning_slot(user_client):
    response = user_client.get(reverse("contact_add"))
    assert b'id="dedup-warnings"' in response.content
    assert reverse("dedup_check", args=["contact"]).encode() in response.content


def test_warning_shows_a_readable_duplicate(user, user_client):
    dup = contact(user, last_name="Петров", first_name="Пётр", phones=["+7 495 123-45-67"])
    response = check(user_client, last_name="Petrov", **{"ch-phone-0-value": "8 (495) 123-45-67"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "Петров" in text and dup.get_absolute_url() in text and "same phone +7 495 123-45-67" in text


def test_warning_hides_a_duplicate_the_user_may_not_read(user_client, other_user):
    secret = contact(other_user, last_name="Секретный", first_name="Клиент", phones=["+7 495 765-43-21"],
                     emails=["secret@example.com"])
    response = check(user_client, **{"ch-phone-0-value": "+7 495 765 43 21"})
    text = response.content.decode()
    assert "exists, owned by Bob Brown" in text
    assert "Секретный" not in text and "765" not in text and "secret@" not in text
    assert secret.get_absolute_url() not in text


def test_warning_excludes_the_record_being_edited(user, user_client):
    me = contact(user, phones=["+7 495 123-45-67"])
    response = user_client.post(reverse("dedup_check", args=["contact"]) + f"?exclude={me.pk}",
                                {"ch-phone-0-value": "+7 495 123-45-67"})
    assert "Possible duplicates" not in response.content.decode()


def test_warning_for_an_entity_without_rules_is_empty(user_client):
    response = check(user_client, "deal", title="x")
    assert response.status_code == 200 and "Possible duplicates" not in response.content.decode()


def test_lead_conversion_page_shows_duplicates(user, user_client):
    person = contact(user, phones=["+7 495 123-45-67"])
    lead = make_lead(user, phones=["84951234567"])
    page = user_client.get(reverse("lead_convert", args=[lead.pk]))
    assert reverse("dedup_record", args=["lead", lead.pk]).encode() in page.content
    response = user_client.get(reverse("dedup_record", args=["lead", lead.pk]))
    assert str(person) in response.content.decode()


def test_merge_screen_and_merge(user, user_client):
    a = contact(user, position="", phones=["+7 495 123-45-67"])
    b = contact(user, position="CEO", phones=["+7 495 999-99-99"])
    url = reverse("dedup_merge", args=["contact"]) + f"?ids={a.pk},{b.pk}"
    page = user_client.get(url)
    assert page.status_code == 200 and "CEO" in page.content.decode()
    response = user_client.post(reverse("dedup_merge", args=["contact"]),
                                {"ids": f"{a.pk},{b.pk}", "survivor": a.pk, "field:last_name": b.pk})
    assert response.status_code == 302 and response["Location"] == a.get_absolute_url()
    a.refresh_from_db()
    assert a.last_name == b.last_name and a.position == "CEO"
    assert not Contact.objects.filter(pk=b.pk).exists()
    card = user_client.get(a.get_absolute_url()).content.decode()
    merge = MergeRecord.objects.get()
    assert reverse("dedup_merge_undo", args=[merge.pk]) in card
    response = user_client.post(reverse("dedup_merge_undo", args=[merge.pk]))
    assert response.status_code == 302 and Contact.objects.filter(pk=b.pk).exists()


def test_merge_out_of_scope_is_404_and_missing_right_is_403(user, user_client, colleague, other_user):
    mine = contact(user)
    foreign = contact(other_user)  # another department: not readable
    theirs = contact(colleague)  # same department: readable, but `user` may not delete it
    url = reverse("dedup_merge", args=["contact"])
    assert user_client.get(url + f"?ids={mine.pk},{foreign.pk}").status_code == 404
    assert user_client.post(url, {"ids": f"{mine.pk},{foreign.pk}", "survivor": mine.pk}).status_code == 404
    assert user_client.post(url, {"ids": f"{mine.pk},{theirs.pk}", "survivor": mine.pk}).status_code == 403
    assert Contact.objects.filter(pk=theirs.pk).exists() and not MergeRecord.objects.exists()
    assert user_client.get(url + f"?ids={mine.pk}").status_code == 404


def test_undo_refused_after_change_shows_a_message(user, user_client):
    a, b = contact(user), contact(user)
    merge = records_merge(user=user, survivor=a, others=[b])
    a.refresh_from_db()
    a.comment = "edited"
    a.save()
    response = user_client.post(reverse("dedup_merge_undo", args=[merge.pk]), follow=True)
    assert "changed since the merge" in response.content.decode()
    assert not Contact.objects.filter(pk=b.pk).exists()


def test_groups_page_lists_only_readable_groups(user, user_client, other_user):
    a = contact(user, phones=["+7 495 123-45-67"])
    b = contact(user, phones=["+7 495 1234567"])
    c = contact(other_user, emails=["x@y.ru"])
    d = contact(user, emails=["X@y.ru"])
    duplicates_scan(entity_key="contact")
    assert DuplicateGroup.objects.count() == 2
    text = user_client.get(reverse("dedup_groups") + "?entity=contact").content.decode()
    assert a.get_absolute_url() in text and b.get_absolute_url() in text
    assert c.get_absolute_url() not in text and d.get_absolute_url() not in text


def test_scan_start_not_a_duplicate_and_auto_merge(user, user_client):
    a = contact(user, phones=["+7 495 123-45-67"], comment="", position="")
    b = contact(user, phones=["+7 495 1234567"], comment="", position="",
                last_name=a.last_name, first_name=a.first_name, middle_name=a.middle_name, birthday=a.birthday,
                type=a.type, source=a.source, address=a.address)
    # Starting a scan needs the department edit level (issue 16): the default role edits own records only.
    assert user_client.post(reverse("dedup_scan", args=["contact"])).status_code == 403
    assign_role("Head of sales", user=user)
    response = user_client.post(reverse("dedup_scan", args=["contact"]))
    assert response.status_code == 302
    run = ScanRun.objects.get()
    if run.status == ScanRun.Status.PENDING:  # with a broker the worker would run it
        tasks.scan(run.pk)
    run.refresh_from_db()
    assert run.status == "done" and run.groups == 1
    assert user_client.get(reverse("dedup_scan_status", args=[run.pk])).status_code == 200
    group = DuplicateGroup.objects.get()
    response = user_client.post(reverse("dedup_merge_auto", args=[group.pk]))
    assert response.status_code == 302
    assert Contact.objects.filter(pk__in=[a.pk, b.pk]).count() == 1


def test_not_a_duplicate_view(user, user_client, other_user):
    a = contact(user, phones=["+7 495 123-45-67"])
    b = contact(user, phones=["+7 495 1234567"])
    duplicates_scan(entity_key="contact")
    group = DuplicateGroup.objects.get()
    assert check(user_client, **{"ch-phone-0-value": "+7 495 123-45-67"}).status_code == 200
    other = pytest.importorskip("django.test").Client()
    other.force_login(other_user)
    assert other.post(reverse("dedup_not_duplicate", args=[group.pk])).status_code == 404
    assert user_client.post(reverse("dedup_not_duplicate", args=[group.pk])).status_code == 302
    assert NotDuplicate.objects.filter(first_id=min(a.pk, b.pk), second_id=max(a.pk, b.pk)).exists()
    assert duplicates_scan(entity_key="contact").groups == 0


def test_scheduled_scans_are_due_once(user):
    ScanSchedule.objects.filter(entity="contact").update(frequency="daily", last_run_at=None)
    ScanSchedule.objects.exclude(entity="contact").update(frequency="never")
    first = tasks.scheduled_scans()
    assert len(first) == 1 and ScanRun.objects.filter(entity="contact").count() == 1
    assert tasks.scheduled_scans() == []  # not due again, and a pending run exists
    schedule = ScanSchedule.objects.get(entity="contact")
    assert schedule.is_due(timezone.now() + timezone.timedelta(days=1))
    assert not ScanSchedule(frequency="never").is_due()


def test_warnings_go_next_to_the_field_that_matched(user, user_client):
    contact(user, last_name="Петров", first_name="Пётр", phones=["+7 495 123-45-67"], emails=["p@petrov.ru"])
    text = check(user_client, last_name="Petrov", first_name="Petr",
                 **{"ch-phone-0-value": "8 (495) 123-45-67"}).content.decode()
    assert 'id="field-note-last_name" hx-swap-oob="innerHTML"' in text
    assert 'id="field-note-ch-phone" hx-swap-oob="innerHTML"' in text
    phone_slot = text.split('id="field-note-ch-phone"')[1].split('id="field-note-')[0]
    name_slot = text.split('id="field-note-last_name"')[1].split('id="field-note-')[0]
    # Next to the strongest evidence (the phone here), once.
    assert "Петров" in phone_slot and "same phone +7 495 123-45-67" in phone_slot
    assert "Петров" not in name_slot
    page = user_client.get(reverse("contact_add")).content.decode()
    assert 'id="field-note-last_name"' in page and 'id="field-note-ch-phone"' in page


def test_a_channel_the_form_does_not_carry_gets_no_slot(user, user_client):
    """A read-only or hidden channel is not in the form (no inputs): the answer swaps no note into a slot the page
    lacks, and a warning about it is shown with the others."""
    contact(user, last_name="Петров", first_name="Пётр", emails=["p@petrov.ru"])
    text = check(user_client, last_name="Petrov", first_name="Petr", **{"ch-phone-0-value": ""}).content.decode()
    assert 'id="field-note-ch-phone"' in text
    assert 'id="field-note-ch-email"' not in text
    assert 'id="field-note-last_name"' in text


def test_same_phone_different_person_is_shown_apart(user, user_client):
    contact(user, last_name="Пономарев", first_name="Руслан", phones=["+7 495 123-45-67"])
    text = check(user_client, last_name="Савин", first_name="Николай",
                 **{"ch-phone-0-value": "+7 495 123-45-67"}).content.decode()
    assert "Same phone or email, different person" in text and "Possible duplicates" not in text
    assert "first names differ" in text


def test_saving_a_sure_duplicate_asks_once_more(user, user_client):
    from tests.factories import post_data

    existing = contact(user, last_name="Сидоров", first_name="Антон", phones=["+7 916 321-00-00"])
    data = post_data("contact", user, phones=["8 916 321 00 00"], last_name="Сидоров", first_name="Антон",
                     middle_name="")
    before = Contact.objects.count()
    response = user_client.post(reverse("contact_add"), data)
    text = response.content.decode()
    assert response.status_code == 200 and Contact.objects.count() == before
    assert "Create anyway" in text and "Open the existing one" in text and existing.get_absolute_url() in text
    response = user_client.post(reverse("contact_add"), {**data, "confirmed": "1"})
    assert response.status_code == 302 and Contact.objects.count() == before + 1


def test_lead_conversion_offers_and_picks_the_existing_contact(user, user_client):
    person = contact(user, last_name="Петров", first_name="Иван", middle_name="Ильич", phones=["+7 495 123-45-67"],
                     emails=["ivan@petrov.ru"])
    lead = make_lead(user, last_name="Петров", first_name="Иван", middle_name="Ильич", phones=["84951234567"],
                     emails=["ivan@petrov.ru"])
    page = user_client.get(reverse("lead_convert", args=[lead.pk]))
    form = page.context["form"]
    assert form.initial["contact"] == person.pk and form.initial["create_contact"] is False
    convert_url = reverse("lead_convert", args=[lead.pk])
    warnings = user_client.get(reverse("dedup_record", args=["lead", lead.pk]) + f"?use={convert_url}").content.decode()
    assert f'{convert_url}?contact={person.pk}' in warnings and "Use this contact" in warnings
    page = user_client.get(convert_url + f"?contact={person.pk}")
    assert page.context["form"].initial["contact"] == person.pk
    assert user_client.get(reverse("dedup_record", args=["lead", lead.pk]) + "?use=https://evil.example.com/"
                           ).content.decode().count("evil") == 0
