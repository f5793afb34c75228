"""CSV cells made by PostgreSQL (crm_site/export_sql.py): byte for byte the file the Python writer makes of the
typed rows, for every entity, every kind of column, restricted and unrestricted users, both languages; and the
fallback to the Python cells where a column has no SQL form. SQLite (the demo) always takes the Python path."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone, translation

from crm_site import export as export_service
from crm_site import export_sql
from crm_site.export import records_export
from crm_site.export_formats import csv_chunks
from crm_site.registry import registry
from crm_site.services import record_delete
from tests.factories import (
    add_channels,
    make_company,
    make_contact,
    make_deal,
    make_lead,
    make_record,
    make_user,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the database makes the cells on PostgreSQL"),
]
ENTITY_KEYS = registry.keys()
# Texts a cell must survive: formula starts (also behind control characters), CSV's own characters, new lines,
# spaces around, non-Latin letters, an apostrophe that is not an escape.
AWKWARD = ["=1+2", "\x01\x02-3", "+7 495 000", "@handle", "a;b", 'say "hi"', "line 1\nline 2", "\ttabbed",
           "\rcarriage", " spaced ", "Ёжик; «ёлка»", "'quoted", "\x7fdel", "-"]


def python_csv(export, language):
    return b"".join(csv_chunks(header=export.header, rows=export.rows(), language=language))


def database_csv(export, language):
    return b"".join(export.csv_chunks(language=language))


def assert_same_both_ways(user, key, language="en", queryset=None):
    """The export's CSV made by the database equals the Python writer's, and the database made it."""
    entity = registry[key]
    with translation.override(language):
        export = records_export(user=user, entity=entity, file_format="csv", queryset=queryset)
        export_sql.build_plan(user=user, entity=entity, columns=export.columns, db="default", language=language,
                              zone=timezone.get_current_timezone(), decimal_comma=language in ("ru", "uk"))  # raises Unsupported if it would fall back
        expected, made = python_csv(export, language), database_csv(export, language)
    assert made == expected, (made.decode()[:2000], expected.decode()[:2000])
    return made.decode("utf-8-sig")


def define_custom_fields(entity):
    from crm_site.customfields.models import CustomField

    fields = {}
    for code, type_ in (("motto", "text"), ("essay", "long_text"), ("visits", "integer"), ("ratio", "decimal"),
                        ("budget", "money"), ("since", "date"), ("seen", "datetime"), ("vip", "boolean"),
                        ("size", "choice"), ("site", "url"), ("mail", "email"), ("tel", "phone")):
        fields[code] = CustomField.objects.create(entity=entity, code=code, label=code.title(), type=type_)
    fields["size"].options.create(value="s", label="Small")
    fields["size"].options.create(value="l", label="=Large")
    from crm_site.customfields.registry import invalidate

    invalidate()
    return fields


def awkward_values(index):
    text = AWKWARD[index % len(AWKWARD)]
    return {
        "motto": text, "essay": AWKWARD[(index + 3) % len(AWKWARD)], "visits": -index, "ratio": "-1.25",
        "budget": {"amount": "10.50", "currency": "rub"}, "since": "2026-02-03", "seen": "2026-03-04T05:06:07+00:00",
        "vip": bool(index % 2), "size": "l" if index % 2 else "s", "site": "https://example.com/" + text,
        "mail": "a@example.com", "tel": "+7 495 111-22-33",
    }


@pytest.mark.parametrize("key", ENTITY_KEYS)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_database_makes_the_same_file_for_every_entity(key, language, user, other_user, head, admin_user):
    """Awkward texts in the record's own fields and custom fields of every type, foreign keys to readable,
    unreadable and binned records, channels, links, tags; as the owner, the head of the department and admin."""
    from crm_site.models import Tag

    define_custom_fields(key)
    nameless = make_user("nameless", first_name="", last_name="")  # a user without a name reads as the login
    spaced = make_user("spaced", first_name="\u00a0Ann\u2003", last_name="")  # str.strip()'s whitespace
    binned = make_company(user, name="ООО Удалённая")
    theirs = make_company(other_user, name="Чужая")  # the user may not read it: never its name in their file
    tags = [Tag.objects.create(name="VIP"), Tag.objects.create(name="=Опасный")]
    for index, (owner, company) in enumerate([(user, theirs), (other_user, make_company(other_user, name="=Их")),
                                              (nameless, binned), (spaced, make_company(user, name="=Своя"))]):
        text = AWKWARD[index]
        fields = {"custom_fields": awkward_values(index), "comment": text}
        if registry[key].has_channels:
            fields.update(phones=["+7 495 111-22-33", text], emails=[f"e{index}@example.com"])
        if key == "deal":
            fields.update(company=company, amount=Decimal("-1234.50"), title=text)
        elif key == "contact":
            fields.update(last_name=text, honorific="dr", companies=list(dict.fromkeys([company, binned, theirs])))
        elif key == "company":
            fields.update(name=text or "x", annual_revenue=Decimal("0.10"))
        elif key == "lead":
            fields.update(title=text, expected_amount=Decimal("7"))
        record = make_record(key, owner, **fields)
        if registry[key].has_channels:
            add_channels(record, messengers=["@" + str(index)], web=[text])
        if hasattr(record, "tags"):
            record.tags.set(tags[: index % 3])
    if key == "lead":
        from leads.models import Lead

        Lead.objects.filter(title=AWKWARD[0]).update(converted_contact=make_contact(other_user, last_name="Чужой"),
                                                     converted_company=binned)
    if key == "deal":
        make_deal(user, title="со связными", contacts=[make_contact(user, last_name="Свой"),
                                                       make_contact(other_user, last_name="Чужой")])
    record_delete(user=admin_user, obj=binned)
    for who in (user, head, admin_user):
        text = assert_same_both_ways(who, key, language)
        assert text.count("\r\n") > 1
    assert "Чужая" not in assert_same_both_ways(user, key, language)  # the forbidden path: never a hidden name


def test_a_custom_text_field_holding_other_json_is_finished_in_python(user):
    """Values stored under an older definition (a number, a list, true) in a text field: the Python cell."""
    define_custom_fields("contact")
    for value in (12, 1.5, ["a", "=b"], True, None, "", {"x": 1}):
        make_contact(user, custom_fields={"motto": value})
    text = assert_same_both_ways(user, "contact")
    assert "a; =b" in text  # a list joined, as the Python cell joins it


def test_chunks_keep_the_list_order_and_report_progress(user, monkeypatch):
    monkeypatch.setattr(export_service, "FIRST_CHUNK_SIZE", 1)
    monkeypatch.setattr(export_service, "SQL_CHUNK_SIZE", 2)
    for index in range(5):
        make_contact(user, last_name=f"Name {index}")
    contacts = registry["contact"].model.objects.order_by("last_name")
    assert_same_both_ways(user, "contact", queryset=contacts)
    export = records_export(user=user, entity=registry["contact"], file_format="csv", queryset=contacts)
    done = []
    text = b"".join(export.csv_chunks(on_rows=done.append)).decode("utf-8-sig")
    assert done == [1, 3, 5]
    names = [line.split(",")[1] for line in text.split("\r\n")[1:] if line]
    assert names == [f"Name {index}" for index in range(5)]


def test_a_column_without_an_sql_form_falls_back_to_python(user, other_user):
    """A link custom field (readable names per chunk): the whole file is written the portable way."""
    from crm_site.customfields.models import CustomField
    from crm_site.customfields.registry import invalidate

    CustomField.objects.create(entity="contact", code="referrer", label="Referrer", type="link",
                               target_entity="company")
    invalidate()
    mine, theirs = make_company(user, name="Своя"), make_company(other_user, name="Чужая")
    make_contact(user, custom_fields={"referrer": [mine.pk, theirs.pk]})
    export = records_export(user=user, entity=registry["contact"], file_format="csv")
    with pytest.raises(export_sql.Unsupported):
        export_sql.build_plan(user=user, entity=export.entity, columns=export.columns, db="default",
                              language="en", zone=timezone.get_current_timezone(), decimal_comma=False)
    made = database_csv(export, "en")
    assert made == python_csv(export, "en")
    assert "Своя; hidden record" in made.decode("utf-8-sig")


def test_the_names_the_database_gives_are_str(user, other_user):
    """name_sql() of each model it covers against str() (users: the full name, else the login)."""
    from access.models import Department
    from companies.models import Company
    from contacts.models import Contact
    from crm_site.models import ClientType, Currency, Source, Tag
    from deals.models import Deal, LostReason, Pipeline, Stage
    from leads.models import Lead, LeadStatus
    from tests.products.models import Product

    make_user("blank", first_name="", last_name="")
    make_user("tabbed", first_name="\tTab", last_name="Name\u3000")
    make_contact(user, last_name="", first_name="Имя", middle_name="")
    make_lead(user)
    make_deal(user)
    Tag.objects.create(name="Тег")
    Product.objects.create(name="=Товар", owner=user)
    qn = connection.ops.quote_name
    for language in ("en", "ru", "uk", "de"):
        with translation.override(language):
            for model in (get_user_model(), Department, Company, Contact, ClientType, Currency, Source, Tag, Deal,
                          LostReason, Pipeline, Stage, Lead, LeadStatus, Product):
                user_names = model is get_user_model()
                sql, params = export_sql.name_sql(model, "x", qn, language, user_names=user_names)
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT x.{qn(model._meta.pk.column)}, {sql} FROM {qn(model._meta.db_table)} x",
                                   params)
                    names = dict(cursor.fetchall())
                objects = model._base_manager.all() if hasattr(model, "_base_manager") else model.objects.all()
                expected = {obj.pk: (obj.get_full_name() or obj.get_username()) if user_names else str(obj)
                            for obj in objects}
                assert names == expected and names, model


def test_a_single_column_is_a_row_of_one_cell(user):
    """Field rules may leave only the ID: rows of one cell, not bare values."""
    contact = make_contact(user)
    export = records_export(user=user, entity=registry["contact"], file_format="csv")
    blocks = export_sql.csv_blocks(user=user, entity=export.entity, queryset=export.queryset,
                                   columns=export.columns[:1], language="en", decimal_comma=False,
                                   chunk_sizes=(500, 5000))
    assert [row for rows in blocks for row in rows] == [(contact.pk,)]
