"""The write services without forms (crm_site.services record_create / record_update and the bulk variants):
per-field validation, the forbidden paths writing nothing, history, events and match keys, the lost update."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.models import FieldRule, Role
from companies.models import Company
from contacts.models import Contact, ContactCompany
from crm_site import events, history, services
from crm_site.models import Communication
from crm_site.services import RecordInput, VersionConflict
from deals.models import Stage, StageChange
from dedup.models import MatchKey
from leads.models import LeadStatus
from tests.factories import assign_role, make_company, make_contact, make_deal, make_user, stage
from timeline.models import Entry

pytestmark = pytest.mark.django_db


def contact_data(**extra):
    return {"last_name": "Смирнова", "first_name": "Ольга", "position": "Бухгалтер", **extra}


def row_count(model):
    return model.all_objects.count() if hasattr(model, "all_objects") else model.objects.count()


@pytest.fixture
def heard():
    got = []

    def listener(kind, *, obj, user, related, data):
        got.append((kind, obj.pk))

    def bulk(kind, *, model, objs, user, data, per_object):
        got.append((kind, tuple(obj.pk for obj in objs)))

    events.listen(listener, bulk=bulk)
    yield got
    events._listeners.remove(listener)
    events._bulk_handlers.pop(listener)


# ---------------------------------------------------------------------------
# record_create


def test_create_with_channels_and_links_writes_history_events_and_keys(user, department, heard):
    company = make_company(user)
    contact = services.record_create(
        user=user, entity="contact", data=contact_data(tags=[]),
        channels={"phone": ["8 (495) 123-45-67", {"value": "+7 903 751-00-00", "kind": "mobile"}],
                  "email": ["Olga@Example.com"]},
        links=[{"relation": "companies", "target": company.pk, "position": "Главбух"}],
    )
    assert (contact.owner, contact.department, contact.created_by, contact.updated_by) == (user, department, user,
                                                                                         user)
    assert [h.history_type for h in contact.history.all()] == ["+"]
    phones = list(contact.communications.filter(channel="phone").order_by("position"))
    assert [(p.normalized, p.kind, p.is_primary) for p in phones] == [("+74951234567", "work", True),
                                                                      ("+79037510000", "mobile", False)]
    assert Communication.history.filter(object_id=contact.pk, history_type="+").count() == 3
    link = ContactCompany.objects.get(contact=contact)
    assert (link.company, link.position, link.is_primary) == (company, "Главбух", True)
    assert ContactCompany.history.filter(id=link.pk, history_type="+").exists()
    assert ("created", (contact.pk,)) in heard
    keys = set(MatchKey.objects.filter(object_id=contact.pk, content_type__model="contact")
               .values_list("kind", "value"))
    assert ("phone", "+74951234567") in keys and ("email", "olga@example.com") in keys
    assert any(kind == "company" for kind, _value in keys)
    assert Entry.objects.filter(kind="created").count() == 1


def test_create_reports_every_bad_field_and_writes_nothing(user):
    before = (row_count(Contact), Communication.objects.count())
    with pytest.raises(ValidationError) as caught:
        services.record_create(
            user=user, entity="contact",
            data={"last_name": "x" * 300, "birthday": "not a date", "colour": "red", "type": 999_999},
            channels={"phone": ["12"], "email": ["not-an-email"]},
        )
    errors = caught.value.message_dict
    assert {"last_name", "birthday", "colour", "type", "phone", "email"} <= set(errors)
    assert "is not a phone number" in errors["phone"][0]
    assert (row_count(Contact), Communication.objects.count()) == before


def test_create_applies_the_models_own_rules(user):
    with pytest.raises(ValidationError, match="at least a last name"):
        services.record_create(user=user, entity="contact", data={"position": "Никто"})
    partners_stage = Stage.objects.filter(pipeline__code="partners").order_by("order").first()
    with pytest.raises(ValidationError) as caught:  # a stage of another pipeline than the one given
        services.record_create(user=user, entity="deal", data={"title": "Сделка", "stage": partners_stage,
                                                                "pipeline": stage("new", "sales").pipeline})
    assert "stage" in caught.value.message_dict


def test_a_new_record_gets_the_defaults_its_input_leaves_out(user):
    # As the forms offer them: a lead's first status; a deal's default pipeline and its first stage, or the
    # pipeline of the stage given.
    lead = services.record_create(user=user, entity="lead", data={"title": "Заявка"})
    assert lead.status == LeadStatus.objects.filter(is_active=True).order_by("order", "pk").first()
    deal = services.record_create(user=user, entity="deal", data={"title": "Сделка"})
    assert deal.pipeline.is_default and deal.stage == deal.pipeline.stages.order_by("order", "pk").first()
    partners_stage = Stage.objects.filter(pipeline__code="partners").order_by("order").last()
    deal = services.record_create(user=user, entity="deal", data={"title": "Партнёры", "stage": partners_stage})
    assert deal.pipeline.code == "partners" and deal.stage == partners_stage


def test_create_refuses_without_the_add_right(user):
    assign_role("Read-only auditor", user=user)
    with pytest.raises(PermissionDenied):
        services.record_create(user=user, entity="contact", data=contact_data())
    assert not Contact.all_objects.exists()


def test_create_refuses_a_protected_owner_and_a_hidden_or_read_only_field(user, other_user, colleague):
    with pytest.raises(PermissionDenied):
        services.record_create(user=user, entity="contact", data=contact_data(owner=colleague))
    role = Role.objects.get(name="Employee")
    FieldRule.objects.create(role=role, entity="contact", field="comment", mode=FieldRule.HIDDEN)
    FieldRule.objects.create(role=role, entity="contact", field="position", mode=FieldRule.READ_ONLY)
    fresh = type(user).objects.get(pk=user.pk)
    with pytest.raises(ValidationError) as caught:
        services.record_create(user=fresh, entity="contact", data=contact_data(comment="secret"))
    assert set(caught.value.message_dict) == {"comment", "position"}
    assert not Contact.all_objects.exists()


def test_a_link_to_a_record_the_user_cannot_read_is_refused(user, other_user):
    hidden = make_company(other_user)
    with pytest.raises(ValidationError) as caught:
        services.record_create(user=user, entity="contact", data=contact_data(),
                               links=[{"relation": "companies", "target": hidden}])
    assert "links" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.record_create(user=user, entity="deal", data={"title": "X", "company": hidden,
                                                               "pipeline": stage().pipeline, "stage": stage()})
    assert not Contact.all_objects.exists()


def test_create_out_of_reach_is_rolled_back(head, other_user):
    """A head may reassign, but not to someone whose records they cannot read: the re-check refuses."""
    with pytest.raises(PermissionDenied, match="out of your reach"):
        services.record_create(user=head, entity="company", data={"name": "ООО Тест", "owner": other_user})
    assert not Company.all_objects.exists()


# ---------------------------------------------------------------------------
# record_update


def test_update_changes_fields_channels_and_announces(user, heard):
    contact = make_contact(user, phones=["+7 495 111-11-11"])
    old = contact.phones[0]
    saved = services.record_update(user=user, obj=contact, data={"position": "Финдиректор"},
                                   channels={"phone": [{"id": old.pk, "value": "8 495 111 11 11"},
                                                       "+7 495 222-22-22"]})
    assert saved.position == "Финдиректор"
    assert [p.normalized for p in saved.phones] == ["+74951111111", "+74952222222"]
    assert Communication.objects.filter(pk=old.pk).exists()  # the same number in another format is the same row
    latest = saved.history.order_by("-history_id").first()
    assert latest.history_type == "~" and latest.position == "Финдиректор"
    assert ("changed", (contact.pk,)) in heard
    entry = Entry.objects.get(kind="changed")
    assert {"field": "position", "old": "Директор", "new": "Финдиректор"} in entry.data["changes"]


def test_an_update_that_changes_nothing_writes_nothing(user, heard):
    contact = make_contact(user)
    version = history.version(contact)
    services.record_update(user=user, obj=contact, data={"position": contact.position})
    assert history.version(contact) == version and not heard


def test_lost_update_is_refused_with_the_fields_someone_else_changed(user, colleague, head):
    contact = make_contact(user)
    seen = history.version(contact)
    services.record_update(user=head, obj=contact, data={"position": "Изменено другим", "comment": "тоже"})
    with pytest.raises(VersionConflict) as caught:
        services.record_update(user=user, obj=contact, data={"first_name": "Моё"}, version=seen)
    assert {str(name) for name in caught.value.fields} == {"position", "comment"}
    fresh = Contact.objects.get(pk=contact.pk)
    assert fresh.first_name == "Пётр" and fresh.position == "Изменено другим"
    services.record_update(user=user, obj=contact, data={"first_name": "Моё"}, version=history.version(contact))
    assert Contact.objects.get(pk=contact.pk).first_name == "Моё"


def test_update_refuses_a_user_who_may_not_edit(user, colleague):
    contact = make_contact(colleague)
    with pytest.raises(PermissionDenied):
        services.record_update(user=user, obj=contact, data={"position": "Взлом"})
    assert Contact.objects.get(pk=contact.pk).position == "Директор"


def test_update_out_of_reach_is_refused_and_nothing_written(head, user, other_user):
    contact = make_contact(user, phones=["+7 495 111-11-11"])
    before = history.version(contact)
    with pytest.raises(PermissionDenied, match="out of your reach"):
        services.record_update(user=head, obj=contact, data={"owner": other_user, "position": "Ушёл"},
                               channels={"phone": ["+7 495 999-99-99"]})
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.owner, fresh.position, history.version(fresh)) == (user, "Директор", before)
    assert [p.normalized for p in fresh.phones] == ["+74951111111"]


def test_read_only_channel_may_not_change(user):
    FieldRule.objects.create(role=Role.objects.get(name="Employee"), entity="contact", field="phone",
                             mode=FieldRule.READ_ONLY)
    contact = make_contact(user, phones=["+7 495 111-11-11"])
    with pytest.raises(ValidationError) as caught:
        services.record_update(user=user, obj=contact, data={}, channels={"phone": ["+7 495 222-22-22"]})
    assert "phone" in caught.value.message_dict
    services.record_update(user=user, obj=contact, data={"position": "ok"}, channels={"phone": ["84951111111"]})


def test_deal_stage_move_records_its_stage_change(user):
    deal = make_deal(user)
    services.record_update(user=user, obj=deal, data={"stage": stage("proposal")})
    change = StageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.changed_by) == (stage("new"), stage("proposal"), user)
    assert Entry.objects.filter(kind="stage_changed").exists()


# ---------------------------------------------------------------------------
# Bulk


def rows(n, **extra):
    return [RecordInput(data=contact_data(last_name=f"Фамилия{i}", **extra),
                        channels={"phone": [f"+7 495 {i:07d}"], "email": [f"p{i}@example.com"]}) for i in range(n)]


def test_bulk_create_writes_everything_a_single_create_does(user, heard):
    result = services.records_create_bulk(user=user, entity="contact", rows=rows(5))
    assert not result.errors and len(result.written) == 5
    ids = [obj.pk for obj in result.written]
    assert Contact.history.filter(id__in=ids, history_type="+").count() == 5
    assert Communication.history.filter(object_id__in=ids, history_type="+").count() == 10
    assert [kind for kind, _pks in heard] == ["created"]  # one event for the whole batch
    assert Entry.objects.filter(kind="created").count() == 5
    assert MatchKey.objects.filter(object_id__in=ids, kind="phone").count() == 5


constant_queries = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite's 999-parameter limit splits each batch's INSERTs; CI runs PostgreSQL")


@constant_queries
def test_bulk_create_queries_do_not_grow_with_the_rows(user):
    services.records_create_bulk(user=user, entity="contact", rows=rows(2))  # warm caches (content types...)
    with CaptureQueriesContext(connection) as few:
        services.records_create_bulk(user=user, entity="contact", rows=rows(5))
    with CaptureQueriesContext(connection) as many:
        services.records_create_bulk(user=user, entity="contact", rows=rows(60))
    assert len(many) == len(few)


def test_bulk_create_refuses_bad_rows_and_writes_the_others(user):
    batch = rows(3)
    batch[1] = RecordInput(data={"birthday": "32.13.2000"})
    result = services.records_create_bulk(user=user, entity="contact", rows=batch)
    assert list(result.errors) == [1] and result.objs[1] is None
    assert Contact.objects.count() == 2
    with pytest.raises(ValidationError):
        services.records_create_bulk(user=user, entity="contact", rows=batch, all_or_nothing=True)
    assert Contact.objects.count() == 2


def test_bulk_create_refuses_rows_out_of_reach_and_keeps_the_rest(head, other_user):
    batch = [RecordInput(data={"name": "Своя"}), RecordInput(data={"name": "Чужая", "owner": other_user}),
             RecordInput(data={"name": "Ещё своя"})]
    result = services.records_create_bulk(user=head, entity="company", rows=batch)
    assert list(result.errors) == [1] and isinstance(result.errors[1], PermissionDenied)
    assert sorted(Company.objects.values_list("name", flat=True)) == ["Ещё своя", "Своя"]
    assert Company.history.count() == 2


def test_bulk_update_in_sets_with_history_and_one_event(user, heard):
    contacts = [make_contact(user) for _ in range(4)]
    result = services.records_update_bulk(user=user, rows=[RecordInput(obj=c, data={"position": "Новая"})
                                                           for c in contacts])
    assert not result.errors
    assert set(Contact.objects.values_list("position", flat=True)) == {"Новая"}
    assert Contact.history.filter(history_type="~", position="Новая").count() == 4
    assert [kind for kind, _pks in heard] == ["changed"]


@constant_queries
def test_bulk_update_queries_do_not_grow_with_the_rows(user):
    contacts = [make_contact(user, phones=[f"+7 495 {i:07d}"]) for i in range(40)]

    def change(objs, value):
        return services.records_update_bulk(user=user, rows=[
            RecordInput(obj=c, data={"position": value}, channels={"phone": [f"+7 903 {c.pk:07d}"]}) for c in objs])

    change(contacts[:2], "warm")
    with CaptureQueriesContext(connection) as few:
        change(contacts[:4], "a")
    with CaptureQueriesContext(connection) as many:
        change(contacts, "b")
    assert len(many) == len(few)


def test_bulk_update_refuses_records_the_user_may_not_edit(user, colleague):
    mine, theirs = make_contact(user), make_contact(colleague)
    result = services.records_update_bulk(user=user, rows=[RecordInput(obj=mine, data={"position": "A"}),
                                                           RecordInput(obj=theirs, data={"position": "B"})])
    assert list(result.errors) == [1]
    assert Contact.objects.get(pk=mine.pk).position == "A"
    assert Contact.objects.get(pk=theirs.pk).position == "Директор"


def test_add_channel_checks_rights_like_any_change(user, colleague):
    contact = make_contact(colleague)
    with pytest.raises(PermissionDenied):
        services.record_add_channel(user=user, obj=contact, channel="phone", value="+7 495 123-45-67")
    assert not contact.communications.exists()


def test_record_for_user_or_404_and_safe_next(rf, user, other_user):
    from django.http import Http404

    from crm_site.http import safe_next
    from crm_site.selectors import record_for_user_or_404

    mine, theirs = make_contact(user), make_contact(other_user)
    assert record_for_user_or_404(user, "contact", mine.pk) == mine
    for pk in (theirs.pk, "abc", "9" * 40):
        with pytest.raises(Http404):
            record_for_user_or_404(user, "contact", pk)
    request = rf.post("/", {"next": "https://evil.example.com/"})
    assert safe_next(request, "/fallback/") == "/fallback/"
    assert safe_next(rf.post("/", {"next": "/contacts/"}), "/fallback/") == "/contacts/"


def test_users_of_bulk_writes_keep_the_department_of_each_owner(admin_user, user, other_user, department,
                                                                other_department):
    result = services.records_create_bulk(user=admin_user, entity="company", rows=[
        RecordInput(data={"name": "A", "owner": user}), RecordInput(data={"name": "B", "owner": other_user.pk})])
    assert [obj.department for obj in result.written] == [department, other_department]
    loner = make_user(department=None)
    moved = services.record_update(user=admin_user, obj=result.written[0], data={"owner": loner})
    assert moved.department is None


@constant_queries
def test_bulk_update_of_deals_reads_their_stages_once(user):
    deals = [make_deal(user, company=None) for _ in range(30)]

    def change(objs, value):
        return services.records_update_bulk(user=user, rows=[RecordInput(obj=d, data={"comment": value}) for d in objs])

    change(deals[:2], "warm")
    with CaptureQueriesContext(connection) as few:
        change(deals[:3], "a")
    with CaptureQueriesContext(connection) as many:
        change(deals, "b")
    assert len(many) == len(few)
