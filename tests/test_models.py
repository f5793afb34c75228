"""The shared core: department from the owner, channels and their normalisation, soft delete, access scopes."""

import pytest
from django.contrib.auth.models import AnonymousUser

from access.scopes import ADD, DELETE, EDIT, EXPORT, READ, can, primary_department, scope_q
from companies.models import Company
from contacts.models import Contact
from crm_site import normalize
from crm_site.models import Communication
from crm_site.registry import registry
from crm_site.services import record_update
from tests.factories import add_channels, add_membership, assign_role, make_department, make_record, make_user

ENTITY_KEYS = [entity.key for entity in registry]

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------
# Department follows the responsible user


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_department_is_taken_from_the_owner(key, user, department):
    obj = make_record(key, user)
    assert obj.department == department


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_department_follows_owner_change(key, user, other_user, other_department, admin_user):
    obj = make_record(key, user)
    obj = record_update(user=admin_user, obj=obj, data={"owner": other_user})
    obj.refresh_from_db()
    assert obj.department == other_department


def test_department_is_none_without_membership(db):
    loner = make_user(department=None)
    assert make_record("company", loner).department is None


def test_primary_membership_wins(db):
    first, second = make_department("First"), make_department("Second")
    person = make_user(department=first)
    person.memberships.update(is_primary=False)
    add_membership(person, second, is_primary=True)
    assert primary_department(person) == second
    assert make_record("contact", person).department == second


def test_saving_without_owner_change_keeps_the_department(user, department):
    obj = make_record("company", user)
    elsewhere = make_department("Elsewhere")
    user.memberships.update(department=elsewhere)
    record_update(user=user, obj=obj, data={"name": "Renamed"})
    obj.refresh_from_db()
    assert obj.department == department


def test_empty_department_is_filled_from_the_owner(user, department):
    obj = make_record("company", user, department=None)
    record_update(user=user, obj=obj, data={"name": "Renamed"})
    obj.refresh_from_db()
    assert obj.department == department


# ---------------------------------------------------------------------------
# Phones, emails, links


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("8 (495) 123-45-67", "+74951234567"),
        ("+7 495 123 45 67", "+74951234567"),
        ("+7 (495) 123-45-67", "+74951234567"),
        ("84951234567", "+74951234567"),
        ("+74951234567", "+74951234567"),
        ("  +7-495-123-45-67  ", "+74951234567"),
        ("+380 44 123 4567", "+380441234567"),
        ("+380441234567", "+380441234567"),
        ("+7 495 123-45-67 доб. 123", "+74951234567"),
        ("+7 495 123-45-67 ext. 123", "+74951234567"),
        ("8 800 555-35-35", "+78005553535"),
        ("+1 (212) 555-0100", "+12125550100"),
        ("+49 30 1234567", "+49301234567"),
    ],
)
def test_phone_normalisation(typed, normalized, user):
    assert normalize.normalize_phone(typed) == normalized
    contact = make_record("contact", user)
    comm = Communication(record=contact, channel=Communication.Channel.PHONE, value=typed)
    comm.save()
    comm.refresh_from_db()
    assert comm.normalized == normalized
    assert comm.value == typed.strip()
    assert comm.href == "tel:" + normalized


def test_phone_extension_is_kept_for_display():
    assert normalize.format_phone("+7 495 123-45-67 доб. 123") == "+7 495 123-45-67 ext. 123"
    assert normalize.parse_phone("+7 495 123-45-67 доб. 123").extension == "123"


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("8 (495) 123-45-67", "+7 495 123-45-67"),
        ("+380441234567", "+380 44 123 4567"),
        ("not a phone", "not a phone"),
    ],
)
def test_phone_display(typed, shown):
    assert normalize.format_phone(typed) == shown


@pytest.mark.parametrize("typed", ["", "   ", "abc", "12", "call me"])
def test_not_a_phone(typed):
    assert normalize.parse_phone(typed) is None


def test_unparseable_phone_is_kept_as_digits():
    assert normalize.normalize_phone("12") == "12"


def test_phone_region_setting(settings):
    settings.CRM_DEFAULT_REGION = "UA"
    assert normalize.normalize_phone("044 123 4567") == "+380441234567"


@pytest.mark.parametrize(
    ("channel", "typed", "normalized"),
    [
        ("email", "  Ivan.Petrov@Example.COM ", "ivan.petrov@example.com"),
        ("web", "https://www.Example.com/", "example.com"),
        ("web", "example.com/page", "example.com/page"),
        ("messenger", " @Ivan_Petrov ", "@ivan_petrov"),
    ],
)
def test_other_channels_normalisation(channel, typed, normalized, user):
    contact = make_record("contact", user)
    comm = Communication(record=contact, channel=channel, value=typed)
    comm.save()
    assert comm.normalized == normalized
    assert comm.value == typed.strip()


@pytest.mark.parametrize(
    ("channel", "value", "href"),
    [
        ("email", "a@example.com", "mailto:a@example.com"),
        ("web", "example.com", "https://example.com"),
        ("web", "http://example.com", "http://example.com"),
        ("web", "javascript:alert(1)", "https://javascript:alert(1)"),
        ("messenger", "@ivan", ""),
    ],
)
def test_channel_links_are_safe(channel, value, href):
    comm = Communication(channel=channel, value=value)
    comm.normalized = Communication.normalize_value(channel, value)
    assert comm.href == href
    assert not comm.href.lower().startswith("javascript:")


def test_primary_phone_and_email(user):
    contact = make_record("contact", user)
    add_channels(contact, phones=["+7 495 111-11-11", "+7 495 222-22-22"], emails=["a@example.com"])
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.primary_phone.normalized == "+74951111111"
    assert contact.primary_email.value == "a@example.com"
    assert [p.is_primary for p in contact.phones] == [True, False]


# ---------------------------------------------------------------------------
# Soft delete


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_soft_deleted_records_are_hidden_by_the_default_manager(key, user):
    model = registry[key].model
    alive = make_record(key, user)
    gone = make_record(key, user)
    gone.deleted_at = gone.created_at
    gone.save()
    assert list(model.objects.all()) == [alive]
    assert set(model.all_objects.all()) == {alive, gone}
    assert list(model.all_objects.in_bin()) == [gone]
    assert list(model.all_objects.alive()) == [alive]
    assert list(model.objects.visible_to(user)) == [alive]
    assert gone.is_deleted and not alive.is_deleted


# ---------------------------------------------------------------------------
# Names and urls


def test_contact_names():
    assert (
        Contact(last_name="Иванов", first_name="Пётр", middle_name="Сергеевич").full_name
        == "Иванов Пётр Сергеевич"
    )
    assert Contact(first_name="Пётр").full_name == "Пётр"
    assert str(Contact()) != ""


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_absolute_url_and_entity(key, user):
    obj = make_record(key, user)
    assert type(obj).entity().key == key
    assert obj.get_absolute_url().endswith(f"/{obj.pk}/")


# ---------------------------------------------------------------------------
# Interim access rules (access/scopes.py)


def visible(model, who, action=READ):
    return set(model.objects.visible_to(who, action))


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_read_scope(key, user, colleague, other_user, head):
    model = registry[key].model
    mine = make_record(key, user)
    colleagues = make_record(key, colleague)
    opened = make_record(key, other_user, opened=True)
    hidden = make_record(key, other_user)
    assert visible(model, user) == {mine, colleagues, opened}
    assert visible(model, other_user) == {opened, hidden}
    assert visible(model, head) == {mine, colleagues, opened}
    for obj in (mine, colleagues, opened):
        assert can(user, obj, READ)
    assert not can(user, hidden, READ)


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_edit_and_delete_scope(key, user, colleague, other_user, head):
    model = registry[key].model
    mine = make_record(key, user)
    colleagues = make_record(key, colleague)
    opened = make_record(key, other_user, opened=True)
    for action in (EDIT, DELETE):
        assert visible(model, user, action) == {mine}
        assert visible(model, head, action) == {mine, colleagues}  # the head edits the whole department
        assert not can(user, opened, action)
        assert not can(user, colleagues, action)


def test_head_of_a_parent_department_reaches_the_subtree(db):
    root = make_department("Company")
    branch = make_department("Branch", parent=root)
    leaf = make_department("Team", parent=branch)
    boss = make_user("boss", department=root)
    root.head = boss
    root.save()
    assign_role("Head of sales", user=boss)
    worker = make_user("worker", department=leaf)
    obj = make_record("deal", worker)
    assert can(boss, obj, READ) and can(boss, obj, EDIT)


def test_marketer_reads_and_exports_everything_and_edits_only_what_is_not_key(user, other_user):
    from access.fields import read_only_fields

    company, deal = make_record("company", other_user), make_record("deal", other_user)
    assign_role("Marketer", user=user)
    assert can(user, company, READ) and can(user, company, EXPORT) and can(user, deal, EXPORT)
    assert can(user, company, EDIT) and not can(user, deal, EDIT) and not can(user, company, DELETE)
    assert {"name", "tax_id", "phone", "email", "owner", "opened"} <= read_only_fields(user, "company")
    assert {"type", "industry", "comment"}.isdisjoint(read_only_fields(user, "company"))
    assert {"last_name", "phone", "email", "owner"} <= read_only_fields(user, "contact")


def test_superuser_and_nobody(admin_user, other_user):
    obj = make_record("lead", other_user)
    assert all(can(admin_user, obj, action) for action in (READ, EDIT, DELETE))
    assert scope_q(AnonymousUser(), Company) is None
    assert not can(AnonymousUser(), obj, READ)
    assert set(Company.objects.visible_to(AnonymousUser())) == set()


def test_inactive_user_gets_nothing(user):
    obj = make_record("contact", user)
    user.is_active = False
    assert not can(user, obj, READ)
    assert scope_q(user, Contact, ADD) is None


def test_any_active_user_may_add(user):
    assert scope_q(user, Contact, ADD) is not None


def test_unknown_action_is_an_error(user):
    with pytest.raises(ValueError):
        scope_q(user, Contact, "fly")
