"""Regression tests of the defects found by the security review (issue 16, "Defects found" 1-6)."""

import pytest
from django.test import Client

from access.models import FieldRule, Role
from access.scopes import EDIT, forget
from access.services import share_grant
from contacts.models import Contact
from tests.factories import assign_role, make_contact, make_department, make_user

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def merge_world(db, plain_static):
    """A sales manager (edits own records only) with edit rights shared on a colleague's contact."""
    team = make_department("Sales floor")
    colleague = make_user("colleague1", department=team)
    manager = make_user("manager1", department=team)
    assign_role("Sales manager", user=manager)
    theirs = make_contact(colleague, last_name="Theirs", first_name="Tanya", position="CEO", comment="secret-x")
    mine = make_contact(manager, last_name="Mine", first_name="Misha", position="Intern", opened=True,
                        comment="other-y")
    share_grant(user=colleague, obj=theirs, grantee=manager, level=EDIT)
    forget(manager)
    return {"manager": manager, "colleague": colleague, "theirs": theirs, "mine": mine,
            "client": _client(manager)}


def _merge(world, **choices):
    data = {"ids": f"{world['theirs'].pk},{world['mine'].pk}", "survivor": world["theirs"].pk}
    data.update({f"field:{name}": pk for name, pk in choices.items()})
    return world["client"].post("/duplicates/merge/contact/", data)


def _unchanged(world):
    theirs = Contact.all_objects.get(pk=world["theirs"].pk)
    mine = Contact.all_objects.get(pk=world["mine"].pk)
    assert theirs.owner_id == world["colleague"].pk and not theirs.opened and theirs.position == "CEO"
    assert mine.deleted_at is None


def test_merge_refuses_choosing_the_owner_without_the_right(merge_world):
    response = _merge(merge_world, owner=merge_world["mine"].pk)
    assert response.status_code == 400
    assert "You may not change" in response.content.decode()
    _unchanged(merge_world)


def test_merge_refuses_switching_opened_on(merge_world):
    response = _merge(merge_world, opened=merge_world["mine"].pk)
    assert response.status_code == 400
    _unchanged(merge_world)


def test_merge_refuses_overwriting_a_read_only_field(merge_world):
    role = Role.objects.get(name="Sales manager")
    FieldRule.objects.create(role=role, entity="contact", field="position", mode=FieldRule.READ_ONLY)
    forget(merge_world["manager"])
    response = _merge(merge_world, position=merge_world["mine"].pk)
    assert response.status_code == 400
    _unchanged(merge_world)


def test_merge_screen_hides_hidden_fields_and_offers_no_protected_choice(merge_world):
    role = Role.objects.get(name="Sales manager")
    FieldRule.objects.create(role=role, entity="contact", field="comment", mode=FieldRule.HIDDEN)
    forget(merge_world["manager"])
    ids = f"{merge_world['theirs'].pk},{merge_world['mine'].pk}"
    response = merge_world["client"].get(f"/duplicates/merge/contact/?ids={ids}")
    body = response.content.decode()
    assert response.status_code == 200
    assert "secret-x" not in body and "other-y" not in body and 'name="field:comment"' not in body
    assert 'name="field:owner"' not in body and 'name="field:opened"' not in body
    assert 'name="field:first_name"' in body  # an ordinary field stays choosable
    # A hidden field can't be chosen by a hand-made POST either.
    response = _merge(merge_world, comment=merge_world["mine"].pk)
    assert response.status_code == 400
    _unchanged(merge_world)
    assert Contact.objects.get(pk=merge_world["theirs"].pk).comment == "secret-x"


def test_merge_with_allowed_choices_goes_through_and_keeps_protected_values(merge_world):
    response = _merge(merge_world, first_name=merge_world["mine"].pk)
    assert response.status_code == 302, response.content.decode()[:500]
    theirs = Contact.objects.get(pk=merge_world["theirs"].pk)
    assert theirs.first_name == "Misha"
    assert theirs.owner_id == merge_world["colleague"].pk and not theirs.opened  # kept, not taken from "mine"
    assert Contact.all_objects.get(pk=merge_world["mine"].pk).deleted_at is not None


def test_merge_result_is_rechecked_like_an_edit(db, plain_static):
    """A head of department may reassign; choosing an owner outside their reach is refused by the re-check."""
    team, away = make_department("Team"), make_department("Away")
    head = make_user("head1", department=team)
    assign_role("Head of sales", user=head)
    stranger = make_user("stranger1", department=away)
    a = make_contact(head, last_name="Same")
    b = make_contact(head, last_name="Same")
    Contact.objects.filter(pk=b.pk).update(owner=stranger, department=away)  # test set-up only
    share_grant(user=make_user("root1", superuser=True, department=None), obj=Contact.objects.get(pk=b.pk),
                grantee=head, level=EDIT)
    forget(head)
    client = _client(head)
    response = client.post("/duplicates/merge/contact/", {"ids": f"{a.pk},{b.pk}", "survivor": a.pk,
                                                         "field:owner": b.pk})
    assert response.status_code in (400, 403)
    assert Contact.objects.get(pk=a.pk).owner_id == head.pk
    assert Contact.all_objects.get(pk=b.pk).deleted_at is None
