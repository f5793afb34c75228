"""crm_site.lists.related_names: each record's copy of its linked companies' names (what the quick search finds
a contact by), kept by PostgreSQL whatever writes the links or the names."""

import pytest
from django.db import connection
from django.urls import reverse

from companies.models import Company
from contacts.models import Contact, ContactCompany
from crm_site.lists import related_names
from crm_site.registry import registry
from tests import postgres
from tests.factories import make_company, make_contact

pytestmark = [pytest.mark.django_db, postgres.only]


def names(contact):
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_companies FROM contacts_contact WHERE id = %s", [contact.pk])
        return sorted(filter(None, cursor.fetchone()[0].split(related_names.SEPARATOR)))


def test_the_copy_follows_links_written_moved_and_deleted(user):
    first, second = make_company(user, name="Белогорье"), make_company(user, name="Вектор")
    contact = make_contact(user, companies=[first])
    other = make_contact(user)
    assert names(contact) == ["Белогорье"] and names(other) == []
    ContactCompany.objects.bulk_create([ContactCompany(contact=contact, company=second),
                                        ContactCompany(contact=other, company=second)])
    assert names(contact) == ["Белогорье", "Вектор"] and names(other) == ["Вектор"]
    ContactCompany.objects.filter(contact=contact, company=first).update(contact=other)  # a merge moves links
    assert names(contact) == ["Вектор"] and names(other) == ["Белогорье", "Вектор"]
    ContactCompany.objects.filter(contact=other).delete()
    assert names(other) == [] and names(contact) == ["Вектор"]


def test_the_copy_follows_a_renamed_or_deleted_company(user):
    company = make_company(user, name="Белогорье")
    contacts = [make_contact(user, companies=[company]) for _ in range(3)]
    Company.objects.filter(pk=company.pk).update(name="Северный ветер")  # a raw UPDATE: the database keeps up
    assert [names(c) for c in contacts] == [["Северный ветер"]] * 3
    Company.objects.filter(pk=company.pk).update(industry=company.industry)  # no rename: nothing rewritten
    company.delete()  # for good: its links go first
    assert [names(c) for c in contacts] == [[]] * 3


def test_the_search_finds_the_new_name_only(user_client, user, plain_static):
    company = make_company(user, name="Белогорье")
    contact = make_contact(user, last_name="Сидоров", companies=[company])

    def found(query):
        response = user_client.get(reverse("contact_list"), {"q": query})
        return [row["object"].pk for row in response.context["rows"]]

    assert found("логор") == [contact.pk]
    Company.objects.filter(pk=company.pk).update(name="Вектор")
    assert found("логор") == [] and found("ектор") == [contact.pk]
    assert list(Contact.objects.filter(pk=contact.pk).values_list("last_name", flat=True)) == ["Сидоров"]


def test_every_name_relation_of_every_entity_has_its_copy_and_triggers():
    expected = {(entity.model._meta.db_table, relation.name) for entity in registry
                for relation in related_names.name_relations(entity)}
    assert ("contacts_contact", "companies") in expected
    assert ("products_product", "companies") in expected  # the tests' fifth entity: no migration of its own
    with connection.cursor() as cursor:
        for table, relation in expected:
            columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            assert f"search_{relation}" in columns
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s",
                           [f"crm_names_{table}_{relation}%"[:50] + "%"])
            assert cursor.fetchone()[0] == 4


def test_a_rerun_after_migrate_changes_nothing_and_a_backfill_restores_the_copies(user):
    contact = make_contact(user, companies=[make_company(user, name="Белогорье")])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_contact SET search_companies = '' WHERE id = %s", [contact.pk])
    related_names.ensure_copies()  # the column exists: no backfill, nothing else changes
    assert names(contact) == []
    entity = registry["contact"]
    with connection.cursor() as cursor:
        cursor.execute(related_names.backfill_statement(connection, entity, related_names.name_relations(entity)[0]))
    assert names(contact) == ["Белогорье"]


def test_records_created_with_their_links_get_the_copy_in_the_insert_not_a_rewrite(user):
    """The write services COPY new records with their copies (related_names.initial_copies): the links'
    trigger then finds them current and updates no row."""
    from crm_site import services

    first, second = make_company(user, name="Вектор"), make_company(user, name="Белогорье")

    def updated_rows():
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(sum(n_tup_upd), 0) FROM pg_stat_xact_user_tables "
                           "WHERE relname = 'contacts_contact'")
            return cursor.fetchone()[0]

    before = updated_rows()
    result = services.records_create_bulk(user=user, entity="contact", rows=[
        services.RecordInput(data={"last_name": "Сидоров"}, links=[
            {"relation": "companies", "target": second.pk}, {"relation": "companies", "target": first.pk}]),
        services.RecordInput(data={"last_name": "Орлов"}),
    ])
    created = [obj for obj in result.objs if obj is not None]
    assert len(created) == 2 and not result.errors
    assert names(created[0]) == ["Белогорье", "Вектор"] and names(created[1]) == []
    assert updated_rows() == before  # no contact row rewritten by the trigger


@pytest.mark.parametrize("rebuild_indexes", [False, True])
def test_the_demo_generators_bulk_load_leaves_every_copy_current(rebuild_indexes):
    """The COPY writer turns the triggers off (as superuser): it refreshes the copies of the links it added."""
    from crm_site import demo

    users = demo.ensure_demo_users()
    demo.seed_demo_data(users=users, scale=40, seed=3, rebuild_indexes=rebuild_indexes)
    linked = Contact.all_objects.filter(companies__isnull=False).distinct()
    assert linked.exists()
    for contact in linked:
        expected = sorted(ContactCompany.objects.filter(contact=contact).values_list("company__name", flat=True))
        assert names(contact) == expected
    # Written by COPY, byte for byte what the trigger would write: recomputing them changes no row.
    entity = registry["contact"]
    with connection.cursor() as cursor:
        cursor.execute(related_names.backfill_statement(connection, entity, related_names.name_relations(entity)[0]))
        assert cursor.rowcount == 0


def test_a_company_renamed_once_the_link_table_is_gone_is_no_error(user):
    """Migrating the contacts app back drops the link table; the companies' rename trigger then does nothing."""
    company = make_company(user, name="Белогорье")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE contacts_contactcompany RENAME TO contacts_contactcompany_gone")
    Company.objects.filter(pk=company.pk).update(name="Вектор")
    assert Company.objects.get(pk=company.pk).name == "Вектор"
