"""`manage.py seed_demo`: demo users and departments, a coherent deterministic base, full history, idempotency.

Runs on SQLite (simple-history's bulk helpers) and on PostgreSQL (the COPY fast path) alike.
"""

import io
import random

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F

from access.models import Department, Membership, RoleAssignment
from companies.models import Company
from contacts.models import Contact, ContactCompany
from crm_site import demo
from crm_site.models import Communication
from crm_site.normalize import normalize_email, normalize_phone
from deals.models import Deal, DealContact, Stage, StageChange
from leads.models import Lead, LeadStatus

pytestmark = pytest.mark.django_db

SMALL = 60
ENTITIES = (Contact, Company, Lead, Deal)
AUDITED = (Contact, Company, Lead, Deal, ContactCompany, DealContact, Communication)


def seed(**options):
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def snapshot():
    """Row counts of everything seed_demo writes, history included."""
    counts = {model.__name__: model._base_manager.count() for model in AUDITED + (StageChange, Department, Membership)}
    counts.update({f"history:{model.__name__}": model.history.count() for model in AUDITED})
    counts["users"] = get_user_model().objects.count()
    return counts


def user(username):
    return get_user_model().objects.get(username=username)


# ---------------------------------------------------------------------------
# Users, departments, ownership


def test_demo_users_departments_and_marketing_group(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Demo-pass-42")
    seed(contacts=SMALL)

    admin, head, manager1, manager2, marketer = (user(n) for n in ("admin", "head", "manager1", "manager2", "marketer"))
    assert admin.is_superuser and admin.is_staff
    assert not head.is_superuser and not manager1.is_staff
    for person in (admin, head, manager1, manager2, marketer):
        assert person.first_name and person.last_name
        assert person.check_password("Demo-pass-42")

    sales = Department.objects.get(name=demo.SALES, parent=None)
    moscow = Department.objects.get(name=demo.SALES_MOSCOW)
    kyiv = Department.objects.get(name=demo.SALES_KYIV)
    marketing = Department.objects.get(name=demo.MARKETING)
    assert moscow.parent == sales and kyiv.parent == sales
    assert sales.head == head and moscow.head == head and kyiv.head == head
    primary = {m.user.username: m.department for m in Membership.objects.filter(is_primary=True).select_related("user")}
    assert primary == {"head": sales, "manager1": moscow, "manager2": kyiv, "marketer": marketing}
    assert sales.subtree_ids() == {sales.pk, moscow.pk, kyiv.pk}

    roles = {a.user.username: a.role.name for a in RoleAssignment.objects.select_related("user", "role")}
    assert roles == demo.DEMO_ROLES
    for perm in ("contacts.export_contact", "companies.export_company", "leads.export_lead", "deals.export_deal"):
        assert marketer.has_perm(perm)
        assert not manager1.has_perm(perm)
    # The whole base is visible to marketing, only a part to a manager.
    assert Contact.objects.visible_to(marketer).count() == Contact.objects.count()
    assert Contact.objects.visible_to(manager1).count() < Contact.objects.count()


def test_each_manager_owns_thirty_closed_records_of_every_kind_even_on_a_small_base():
    seed(contacts=SMALL)
    manager1, manager2, head, marketer = (user(n) for n in ("manager1", "manager2", "head", "marketer"))
    departments = {manager1: demo.SALES_MOSCOW, manager2: demo.SALES_KYIV, head: demo.SALES,
                   marketer: demo.MARKETING}
    for model in ENTITIES:
        for manager in (manager1, manager2):
            assert model.objects.filter(owner=manager, opened=False).count() >= 30, (model, manager)
        for owner in (head, marketer):
            assert model.objects.filter(owner=owner).exists(), (model, owner)
        # Opened records owned by someone else than the managers.
        assert model.objects.filter(opened=True).exclude(owner__in=[manager1, manager2]).exists(), model
        # The department follows the owner's primary department.
        for owner, department in departments.items():
            assert not model.objects.filter(owner=owner).exclude(department__name=department).exists(), (model, owner)


# ---------------------------------------------------------------------------
# The data itself


def test_coherent_records_with_normalised_phones_and_emails():
    seed(contacts=SMALL)
    phones = list(Communication.objects.filter(channel=Communication.Channel.PHONE))
    assert phones
    for phone in phones:
        assert phone.normalized.startswith("+") and phone.normalized[1:].isdigit(), phone.value
        assert normalize_phone(phone.value) == phone.normalized, phone.value
    for email in Communication.objects.filter(channel=Communication.Channel.EMAIL):
        assert "@" in email.value and normalize_email(email.value) == email.normalized
    contacts = Contact.objects.count()
    with_phone = Contact.objects.filter(communications__channel="phone").distinct().count()
    assert with_phone >= 0.8 * contacts
    # UA numbers keep their country code; several local formats are used.
    assert any(p.normalized.startswith("+380") for p in phones)
    assert any(p.value.startswith("8 ") or p.value.startswith("8-") for p in phones)
    # Contacts are linked to companies (one primary link each), some to two.
    links = ContactCompany.objects.all()
    assert links.filter(is_primary=True).count() == links.values("contact").distinct().count()
    assert links.exclude(position="").exists()
    # Companies have legal forms and tax ids; Russian/Ukrainian people have patronymics.
    names = " ".join(Company.objects.values_list("name", flat=True))
    assert any(form in names for form in ("ООО", "ТОВ", "ИП", "ФОП", "LLC", "Inc."))
    assert not Company.objects.filter(tax_id="").exists()
    assert Contact.objects.exclude(middle_name="").exists()
    # Leads in every status, deals in every stage of both pipelines.
    assert set(Lead.objects.values_list("status__code", flat=True)) == set(
        LeadStatus.objects.values_list("code", flat=True))
    assert set(Deal.objects.values_list("stage", flat=True)) == set(Stage.objects.values_list("pk", flat=True))
    converted = Lead.objects.filter(status__code="converted")
    assert converted.exists() and not converted.filter(converted_at__isnull=True).exists()
    # Deals are with people of their company, after the company appeared.
    with_company = Deal.objects.filter(company__isnull=False)
    own_people = with_company.filter(contact_links__contact__company_links__company=F("company")).distinct()
    assert own_people.count() >= 0.8 * with_company.count()
    assert not with_company.filter(created_at__lt=F("company__created_at")).exists()
    # Every deal has a company or contacts, and its creation in the stage history.
    assert not Deal.objects.filter(company__isnull=True, contact_links__isnull=True).exists()
    assert StageChange.objects.filter(from_stage__isnull=True).count() == Deal.objects.count()
    for deal in Deal.objects.all()[:20]:
        last = deal.stage_changes.order_by("changed_at", "pk").last()
        assert last.to_stage_id == deal.stage_id


def test_complete_audit_history():
    seed(contacts=SMALL)
    assert Contact.history.count() >= Contact.objects.count()
    for model in AUDITED:
        ids = set(model._base_manager.values_list("pk", flat=True))
        created = set(model.history.filter(history_type="+").values_list("id", flat=True))
        assert ids and created == ids, model
    # Records created in another state carry it in their '+' row and the change in a '~' row.
    first_stage = {s.pipeline_id: s.pk for s in Stage.objects.order_by("-order", "-pk")}
    moved = Deal.objects.exclude(stage_id__in=first_stage.values())
    assert moved.exists()
    for deal in moved[:10]:
        rows = list(deal.history.order_by("history_date", "history_id"))
        assert [r.history_type for r in rows] == ["+", "~"]
        assert rows[0].stage_id == first_stage[deal.pipeline_id] and rows[-1].stage_id == deal.stage_id
        assert rows[0].history_date == deal.created_at and rows[0].history_user_id == deal.owner_id
    contact = Contact.objects.first()
    record = contact.history.get()
    assert record.history_date == contact.created_at and record.history_user_id == contact.owner_id


# ---------------------------------------------------------------------------
# Idempotency and determinism


def test_second_run_does_nothing_and_explicit_contacts_add_more():
    seed(contacts=SMALL)
    manager1 = user("manager1")
    manager1.set_password("changed-by-user-1")
    manager1.save()
    before = snapshot()

    assert "Demo data already present" in seed()
    assert snapshot() == before
    demo.ensure_demo_users("other")  # departments, memberships, group: nothing duplicated
    assert snapshot() == before

    seed(contacts=SMALL)  # explicit size: adds new records, never new users
    after = snapshot()
    assert after["users"] == before["users"]
    assert after["Department"] == before["Department"] and after["Membership"] == before["Membership"]
    assert after["Contact"] >= before["Contact"] + SMALL
    assert after["history:Contact"] == after["Contact"]
    assert user("manager1").check_password("changed-by-user-1")
    # New people, not the same ones again.
    first = list(Contact.objects.order_by("pk").values_list("last_name", "first_name")[:20])
    added = list(Contact.objects.order_by("pk").values_list("last_name", "first_name")[before["Contact"]:][:20])
    assert first != added


def _first_contacts(seed_value):
    with transaction.atomic():
        seed(contacts=SMALL, seed=seed_value)
        names = list(Contact.objects.order_by("pk").values_list("last_name", "first_name", "middle_name")[:25])
        phones = list(Communication.objects.order_by("pk").values_list("value", flat=True)[:25])
        transaction.set_rollback(True)
    assert not Contact.objects.exists()
    return names, phones


def test_same_seed_same_data():
    first = _first_contacts(42)
    assert first == _first_contacts(42)
    assert first != _first_contacts(43)


# ---------------------------------------------------------------------------
# Fast path


def test_fast_path_on_postgresql(monkeypatch):
    calls = []
    original = demo.bulk_create_with_history

    def spy(objs, model, *args, **kwargs):
        calls.append(model)
        return original(objs, model, *args, **kwargs)

    monkeypatch.setattr(demo, "bulk_create_with_history", spy)
    writer = demo.writer_for(connection)
    out = seed(contacts=SMALL)
    if connection.vendor == "postgresql":
        assert isinstance(writer, demo.PostgresCopyWriter) and writer.fast
        assert "via PostgreSQL COPY" in out
        assert calls == []  # rows went through COPY, history through INSERT ... SELECT
    else:
        assert isinstance(writer, demo.OrmWriter) and not writer.fast
        assert Contact in calls and Communication in calls
    assert Contact.history.count() == Contact.objects.count()


# ---------------------------------------------------------------------------
# Generators without the database


@pytest.mark.parametrize("locale", [demo.RU, demo.UK, demo.EN])
def test_generated_phones_are_their_e164(locale, settings):
    settings.CRM_DEFAULT_REGION = "RU"
    rng = random.Random(7)
    city = demo.CITIES[locale][0]
    for _ in range(300):
        for value, e164 in (demo.mobile_phone(rng, locale), demo.city_phone(rng, locale, city)):
            assert normalize_phone(value) == e164, value


def test_tax_ids_have_valid_check_digits():
    rng = random.Random(1)
    for _ in range(50):
        inn = demo.inn_legal(rng, "77")
        assert len(inn) == 10 and inn.startswith("77")
        assert int(inn[9]) == sum(int(d) * w for d, w in zip(inn[:9], (2, 4, 10, 3, 5, 9, 4, 6, 8), strict=True)) % 11 % 10
        inn = demo.inn_person(rng, "78")
        assert len(inn) == 12
        assert int(inn[11]) == sum(int(d) * w for d, w in zip(inn[:11], (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8), strict=True)) % 11 % 10
        assert len(demo.edrpou(rng)) == 8 and len(demo.rnokpp(rng)) == 10
        ogrn = demo.ogrn(rng, "77")
        assert len(ogrn) == 13 and int(ogrn[-1]) == int(ogrn[:-1]) % 11 % 10
        iban = demo.iban_ua(rng, "305299")
        assert len(iban) == 29 and int(iban[4:] + "3010" + iban[2:4]) % 97 == 1


def test_owner_quotas_keep_the_minimums_at_any_scale():
    owners = [demo.Owner(1, 1, 0.4, 0.05, 30), demo.Owner(2, 2, 0.4, 0.05, 30), demo.Owner(3, 3, 0.2, 0.5, 0, 3, 1)]
    for total in (0, 10, 100, 1000):
        quotas = demo.owner_quotas(owners, total)
        assert quotas[0][0] >= 30 and quotas[1][0] >= 30
        assert sum(quotas[2]) >= 3 and quotas[2][1] >= 1
        schedule = demo.OwnerSchedule(owners, quotas)
        rng = random.Random(total)
        drawn = [schedule.draw(rng) for _ in range(schedule.total)]
        assert sum(1 for o, opened in drawn if o is owners[0] and not opened) == quotas[0][0]


def test_demo_has_activity_on_the_timeline_and_duplicate_keys():
    from dedup.models import MatchKey
    from timeline.models import Entry, Kind, TaskState
    from timeline.selectors import activities_for_user, entries_for_record

    output = seed(contacts=SMALL)
    assert "timeline entries" in output
    manager = user("manager1")
    assert Entry.objects.filter(kind=Kind.CALL).exists() and Entry.objects.filter(kind=Kind.NOTE).exists()
    assert activities_for_user(manager).exists()  # planned tasks for "My activities"
    assert Entry.objects.filter(kind=Kind.TASK, state=TaskState.DONE).exists()
    contact = Contact.objects.filter(owner=manager).order_by("-created_at", "-pk").first()
    assert entries_for_record(manager, contact).exists()
    assert MatchKey.objects.filter(kind="phone").exists()
    entries = Entry.objects.count()
    seed(contacts=10)  # adding more contacts adds no second round of demo activity
    assert Entry.objects.count() == entries
