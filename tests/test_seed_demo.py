"""`manage.py seed_demo`: demo users and departments, a coherent deterministic base, full history, idempotency.

Runs on SQLite (simple-history's bulk helpers) and on PostgreSQL (the COPY fast path) alike.
"""

import io
import random
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from access.models import Department, Membership, RoleAssignment
from companies.models import Company
from contacts.models import Contact, ContactCompany
from crm_site import demo
from crm_site.demo import numbers, pools, writers
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


FIXED_NOW = datetime(2026, 3, 4, 12, 30, 15, tzinfo=UTC)


def _all_rows(seed_value, users):
    """Every row seed_demo_data writes, history included, with ids counted from each table's first new id
    (PostgreSQL's sequences move on after a rollback) and without the values the database sets itself."""
    with transaction.atomic():
        demo.seed_demo_data(users=users, scale=SMALL, seed=seed_value)
        specs = demo.tables()
        offsets = {spec.model: spec.model._base_manager.aggregate(low=Min("pk"))["low"] - 1
                   for spec in specs if spec.explicit_ids}
        by_content_type = {ContentType.objects.get_for_model(model).pk: model for model in offsets}
        dump = {}
        for spec in specs:
            dump[spec.key] = _rows(spec.model, spec.model, offsets, by_content_type, keep_pk=spec.explicit_ids)
            if spec.audited:
                history = spec.model.history.model
                dated = any(f.name == "created_at" for f in spec.model._meta.concrete_fields)
                dump[f"history:{spec.key}"] = _rows(history, spec.model, offsets, by_content_type, keep_pk=False,
                                                    skip=() if dated else ("history_date",))
        transaction.set_rollback(True)
    return dump


def _rows(model, id_model, offsets, by_content_type, *, keep_pk, skip=()):
    rows = []
    for values in model._base_manager.order_by("pk").values():
        row = {}
        for f in model._meta.concrete_fields:
            value = values[f.attname]
            if f.name in skip or (f.primary_key and not keep_pk):
                continue
            if value is not None and f.attname == "id":
                value -= offsets[id_model]
            elif value is not None and f.is_relation and f.related_model in offsets:
                value -= offsets[f.related_model]
            elif f.attname == "object_id":
                value -= offsets[by_content_type[values["content_type_id"]]]
            row[f.attname] = value
        rows.append(row)
    return rows


def test_two_runs_with_the_same_seed_write_identical_rows(monkeypatch):
    from contacts.demo import TAGS
    from crm_site.models import Tag

    monkeypatch.setattr(timezone, "now", lambda: FIXED_NOW)
    users = demo.ensure_demo_users()
    for name in TAGS:  # made on the first seed; here before, so that both runs point at the same ones
        Tag.objects.get_or_create(name=name)
    first = _all_rows(42, users)
    assert all(first[key] for key in ("contact", "company", "lead", "deal", "communication", "history:deal"))
    assert first == _all_rows(42, users)
    other = _all_rows(43, users)
    assert other["contact"] != first["contact"] and other["communication"] != first["communication"]


# ---------------------------------------------------------------------------
# Discovery: each app's demo.py registers its generator, the core names none


def test_generators_are_found_in_the_apps_and_ordered_by_their_dependencies():
    from companies.demo import CompanyGenerator
    from contacts.demo import ContactGenerator
    from deals.demo import DealGenerator
    from leads.demo import LeadGenerator

    assert demo.discover() == [CompanyGenerator, ContactGenerator, LeadGenerator, DealGenerator]
    assert demo.scale_generator() is ContactGenerator
    assert [spec.key for spec in demo.tables()] == [
        "company", "contact", "contactcompany", "contacttag", "lead", "deal", "dealcontact", "stagechange",
        "communication"]


def _generator(key, depends=()):
    return type(f"G_{key}", (demo.Generator,), {"key": key, "depends": depends})


def test_dependency_order_and_its_errors():
    from django.core.exceptions import ImproperlyConfigured

    from crm_site.demo.registry import in_dependency_order

    a, b, c = _generator("a", ("c",)), _generator("b"), _generator("c", ("b",))
    assert in_dependency_order([a, b, c]) == [b, c, a]
    assert in_dependency_order([b, c, a]) == [b, c, a]
    with pytest.raises(ImproperlyConfigured, match="depends on 'x'"):
        in_dependency_order([_generator("a", ("x",))])
    with pytest.raises(ImproperlyConfigured, match="circle"):
        in_dependency_order([_generator("a", ("b",)), _generator("b", ("a",))])
    with pytest.raises(ImproperlyConfigured, match="two demo generators"):
        in_dependency_order([_generator("a"), _generator("a")])


class NoteGenerator(demo.Generator):
    """A fifth kind of record, as another app would add it: a note on one of its owner's recent companies."""

    key = "note"
    depends = ("company",)
    own_stream = True
    tables = (demo.TableSpec("note", "crm_site.Tag", ["id", "name"], audited=False, label="notes"),)

    @classmethod
    def requested(cls, scale):
        return scale // 10

    def make(self, rows, window):
        owner, _opened = self.schedule.draw(self.rng)
        companies = self.run.generator("company").recent[owner.user_id]
        about = self.rng.choice(companies).brand if companies else "—"
        rows["note"].append((self.run.next_id("note"), f"note {self.rng.randint(1, 99)} on {about}"))


def _slices(users, generators):
    run = demo.DemoRun(seed=5, scale=SMALL, owners=demo.demo_owners(users), now=FIXED_NOW, generators=generators)
    run.ids.update({spec.key: 1 for spec in run.tables if spec.explicit_ids})
    return list(run)


def test_making_the_slices_reads_nothing_from_the_database():
    """They are made in a thread of their own: a query there would open (and leave) a connection of its own."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    users = demo.ensure_demo_users()
    run = demo.DemoRun(seed=5, scale=SMALL, owners=demo.demo_owners(users), now=FIXED_NOW)
    run.ids.update({spec.key: 1 for spec in run.tables if spec.explicit_ids})

    def refuse(*args):
        raise AssertionError("a query while making slices")

    with connection.execute_wrapper(refuse):
        assert sum(len(slice_.rows["communication"]) for slice_ in run)


def test_a_fifth_generator_plugs_in_and_leaves_the_others_data_as_it_was():
    from crm_site.demo.registry import in_dependency_order

    users = demo.ensure_demo_users()
    before = _slices(users, demo.discover())
    after = _slices(users, in_dependency_order([*demo.discover(), NoteGenerator]))
    notes = [row for slice_ in after for row in slice_.rows["note"]]
    assert len(notes) >= SMALL // 10 and all(" on " in name for _id, name in notes)
    for old, new in zip(before, after, strict=True):
        assert {key: rows for key, rows in new.rows.items() if key != "note"} == old.rows
    assert "notes" not in demo.summary({"note": 3})  # not registered: seed_demo never sees it


# ---------------------------------------------------------------------------
# Fast path


def test_fast_path_on_postgresql(monkeypatch):
    calls = []
    original = writers.bulk_create_with_history

    def spy(objs, model, *args, **kwargs):
        calls.append(model)
        return original(objs, model, *args, **kwargs)

    monkeypatch.setattr(writers, "bulk_create_with_history", spy)
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


@pytest.mark.parametrize("locale", [pools.RU, pools.UK, pools.EN])
def test_generated_phones_are_their_e164(locale, settings):
    settings.CRM_DEFAULT_REGION = "RU"
    rng = random.Random(7)
    city = pools.CITIES[locale][0]
    for _ in range(300):
        for value, e164 in (numbers.mobile_phone(rng, locale), numbers.city_phone(rng, locale, city)):
            assert normalize_phone(value) == e164, value


def test_tax_ids_have_valid_check_digits():
    rng = random.Random(1)
    for _ in range(50):
        inn = numbers.inn_legal(rng, "77")
        assert len(inn) == 10 and inn.startswith("77")
        assert int(inn[9]) == sum(int(d) * w for d, w in zip(inn[:9], (2, 4, 10, 3, 5, 9, 4, 6, 8), strict=True)) % 11 % 10
        inn = numbers.inn_person(rng, "78")
        assert len(inn) == 12
        assert int(inn[11]) == sum(int(d) * w for d, w in zip(inn[:11], (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8), strict=True)) % 11 % 10
        assert len(numbers.edrpou(rng)) == 8 and len(numbers.rnokpp(rng)) == 10
        ogrn = numbers.ogrn(rng, "77")
        assert len(ogrn) == 13 and int(ogrn[-1]) == int(ogrn[:-1]) % 11 % 10
        iban = numbers.iban_ua(rng, "305299")
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
