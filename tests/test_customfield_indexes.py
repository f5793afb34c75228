"""Expression indexes for filterable custom fields (PostgreSQL): each filterable field gets the index its range
or "contains" filter reads, built in the background after the admin saves it and dropped when it is no longer
filterable, changes type or is deleted; the filters give the same rows with and without them, and a value
written past the write services (not a number, not a date) is left out of a range instead of failing."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from contacts.models import Contact
from crm_site import services
from crm_site.customfields import indexes
from crm_site.customfields.filters import filter_queryset
from crm_site.customfields.models import CustomField, CustomFieldChoice
from tests.postgres import only

pytestmark = [only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_indexes_left():
    """The indexes outlive a transactional test's flush (it truncates rows): drop them after each test."""
    yield
    CustomField.objects.all().delete()
    indexes.sync()


def _ours():
    with connection.cursor() as cursor:
        found = indexes.existing_indexes(cursor)
    return {name: table for name, (table, valid) in found.items() if valid}


def _field(code, type_, **options):
    return CustomField.objects.create(entity="contact", code=code, label=code, type=type_, **options)


def _plan(queryset):
    sql, params = queryset.order_by().values("pk").query.sql_with_params()  # no index for the order
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a small test table: make the planner show what it can use
        try:
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")


def test_each_filterable_field_gets_the_index_its_filter_reads(user):
    fields = {
        "visits": _field("visits", "integer"),
        "rating": _field("rating", "decimal"),
        "budget": _field("budget", "money"),
        "since": _field("since", "date"),
        "next_call": _field("next_call", "datetime"),
        "car": _field("car", "text"),
        "site": _field("site", "url"),
        "level": _field("level", "choice"),
        "vip": _field("vip", "boolean"),
        "hidden": _field("hidden", "integer", filterable=False),
    }
    CustomFieldChoice.objects.create(field=fields["level"], value="gold", label="Gold")
    result = indexes.sync()
    assert not result.failed and not result.dropped
    built = _ours()
    by_code = {code: [name for name in built if name.endswith(f"_contacts_contact_{code}")] for code in fields}
    # ranges and "contains" get one index each; equality (choice, yes/no) is the column's GIN index's job
    assert {code: len(names) for code, names in by_code.items()} == {
        "visits": 1, "rating": 1, "budget": 1, "since": 1, "next_call": 1, "car": 1, "site": 1,
        "level": 0, "vip": 0, "hidden": 0}
    assert indexes.sync().created == []  # nothing left to do

    def person(name, **values):
        return services.record_create(user=user, entity="contact",
                                      data={"last_name": name, **{f"cf_{k}": v for k, v in values.items()}})

    person("Орлов", visits=3, rating="2,5", budget="1 200,50 RUB", since="2026-03-15", car="Lada Vesta",
           next_call="2026-03-15T10:00:00+03:00", site="orlov.example.ru")
    person("Лебедев", visits=12, rating="10", budget="99 RUB", since="1985-03-15", car="Kia Rio")
    person("Волков")
    base = Contact.objects.all()

    def names(field, lookup, value):
        queryset = filter_queryset(base, fields[field], lookup, value)
        # (all rows: the live rows' partial index wins any plan on a table this small)
        assert by_code[field][0] in _plan(filter_queryset(Contact.all_objects.all(), fields[field], lookup, value))
        return sorted(queryset.values_list("last_name", flat=True))

    assert names("visits", "gte", "10") == ["Лебедев"]
    assert names("visits", "lte", "10") == ["Орлов"]
    assert names("rating", "gte", "2.5") == ["Лебедев", "Орлов"]  # 10 > 2.5 as numbers, not as texts
    assert names("budget", "gte", "1000") == ["Орлов"]
    assert names("since", "lte", "2000-01-01") == ["Лебедев"]
    assert names("next_call", "gte", "2026-03-15T06:00:00+00:00") == ["Орлов"]
    assert names("car", "contains", "vEsT") == ["Орлов"]
    assert names("site", "contains", "orlov") == ["Орлов"]
    # a sort by the field reads the same expression (numbers as numbers)
    ordered = base.order_by(fields["visits"].sort_expression().asc(nulls_last=True))
    assert list(ordered.values_list("last_name", flat=True)) == ["Орлов", "Лебедев", "Волков"]


def test_values_written_past_the_services_are_left_out_of_ranges(user):
    visits, since = _field("visits", "integer"), _field("since", "date")
    indexes.sync()
    good = services.record_create(user=user, entity="contact",
                                  data={"last_name": "Орлов", "cf_visits": 5, "cf_since": "2026-01-02"})
    odd = services.record_create(user=user, entity="contact", data={"last_name": "Лебедев"})
    # an old import or a raw SQL fix left text where a number and a date belong: writes and filters go on
    with connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_contact SET custom_fields = %s::jsonb WHERE id = %s",
                       ['{"visits": "many", "since": "15.03.1985"}', odd.pk])
    services.record_update(user=user, obj=Contact.objects.get(pk=odd.pk), data={"first_name": "Иван"})
    assert list(filter_queryset(Contact.objects.all(), visits, "gte", "0")) == [good]
    assert list(filter_queryset(Contact.objects.all(), since, "lte", "2030-01-01")) == [good]


def test_the_admin_builds_them_in_the_background_and_drops_them(admin_user, logged_in_client, eager):
    client = logged_in_client(admin_user)
    form = {"entity": "contact", "code": "visits", "label": "Visits", "type": "integer", "order": "0",
            "filterable": "on", "default": "", "show_when_values": "[]",
            "options-TOTAL_FORMS": "0", "options-INITIAL_FORMS": "0"}
    response = client.post(reverse("admin:customfields_customfield_add"), form)
    assert response.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', response.content.decode())
    field = CustomField.objects.get(code="visits")
    first = set(_ours())
    assert len(first) == 1
    changelist = client.get(reverse("admin:customfields_customfield_changelist")).content.decode()
    assert re.search(r'class="field-filter_index">built<', changelist)
    # widened to decimal: the same number expression, the same index
    change = reverse("admin:customfields_customfield_change", args=[field.pk])
    assert client.post(change, {**form, "type": "decimal"}).status_code == 302
    assert set(_ours()) == first
    # widened to text: a "contains" index instead
    assert client.post(change, {**form, "type": "text"}).status_code == 302
    second = set(_ours())
    assert len(second) == 1 and second != first
    # no longer filterable: dropped
    unfiltered = {key: value for key, value in form.items() if key != "filterable"}
    assert client.post(change, {**unfiltered, "type": "text"}).status_code == 302
    assert _ours() == {}
    assert client.post(change, {**form, "type": "text"}).status_code == 302
    assert set(_ours()) == second
    # deleted: dropped with its values
    client.post(reverse("admin:customfields_customfield_delete", args=[field.pk]), {"post": "yes"})
    assert not CustomField.objects.exists() and _ours() == {}


def test_the_command_reports_and_repairs(user):
    _field("visits", "integer")
    out = StringIO()
    call_command("custom_field_indexes", "--dry-run", stdout=out)
    assert "would build cfx_" in out.getvalue() and _ours() == {}
    call_command("custom_field_indexes", stdout=out)
    (name,) = _ours()
    out = StringIO()
    call_command("custom_field_indexes", stdout=out)
    assert "match the filterable fields" in out.getvalue()
    # a build that failed half-way leaves an invalid index: the next sync builds it again
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", [name])
    out = StringIO()
    call_command("custom_field_indexes", stdout=out)
    assert f"dropped {name}" in out.getvalue() and f"built {name}" in out.getvalue()
    assert set(_ours()) == {name}
    # an index no field needs (the field gone another way) is dropped
    CustomField.objects.all().delete()
    call_command("custom_field_indexes", stdout=out)
    assert _ours() == {}
