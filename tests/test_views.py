"""Shared view test cases run for every entity of the registry (NetBox ViewTestCases style).

Nothing here names an entity: a new entity registered in its AppConfig.ready() is covered automatically
(the factories fall back to filling its form). Entity-specific cases live at the end.
"""

from urllib.parse import urlparse

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from crm_site.models import Communication
from crm_site.registry import registry
from tests.factories import edit_data, make_record, post_data, search_field

ENTITY_KEYS = [entity.key for entity in registry]
CHANNEL_KEYS = [entity.key for entity in registry if entity.has_channels]
RELATIONS = [(entity.key, relation.name) for entity in registry for relation in entity.relations]

pytestmark = pytest.mark.django_db


def url(key, action, *args):
    return reverse(f"{key}_{action}", args=args)


def html(response):
    return response.content.decode()


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def new_records(model, before):
    return list(model.all_objects.exclude(pk__in=before))


def snapshot(obj):
    """Every concrete field value of a record, to prove a forbidden request changed nothing."""
    fresh = type(obj).all_objects.get(pk=obj.pk)
    return {f.attname: getattr(fresh, f.attname) for f in type(obj)._meta.concrete_fields}


def assert_login_redirect(response, path):
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.path == reverse("login")
    assert path in response["Location"] or path.replace("/", "%2F") in response["Location"]


def form_error_texts(response):
    """Every error message of the form and its channel formsets, as the page shows them."""
    texts = list(response.context["form"].non_field_errors())
    for errors in response.context["form"].errors.values():
        texts.extend(errors)
    for formset in response.context.get("formsets") or []:
        texts.extend(formset.non_form_errors())
        for errors in formset.errors:
            for messages in errors.values():
                texts.extend(messages)
    return [str(text) for text in texts]


# ---------------------------------------------------------------------------
# List


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_list_shows_own_records_only_visible_ones(key, user_client, user, other_user):
    mine = make_record(key, user)
    hidden = make_record(key, other_user)
    response = user_client.get(url(key, "list"))
    assert response.status_code == 200
    shown = [row["object"] for row in response.context["rows"]]
    assert mine in shown
    assert hidden not in shown
    assert mine.get_absolute_url() in html(response)
    assert hidden.get_absolute_url() not in html(response)


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_list_search(key, user_client, user):
    field = search_field(key)
    wanted = make_record(key, user, **{field: "Квокка Zanzibar"})
    other = make_record(key, user, **{field: "Нечто Другое"})
    response = user_client.get(url(key, "list"), {"q": "zanzibar"})
    assert response.status_code == 200
    shown = [row["object"] for row in response.context["rows"]]
    assert shown == [wanted]
    assert wanted.get_absolute_url() in html(response)
    assert other.get_absolute_url() not in html(response)
    assert response.context["query"] == "zanzibar"


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_list_htmx_answers_the_table_only(key, user_client, user):
    mine = make_record(key, user)
    response = user_client.get(url(key, "list"), headers={"HX-Request": "true", "HX-Target": "list-results"})
    assert response.status_code == 200
    assert mine.get_absolute_url() in html(response)
    assert "<html" not in html(response)


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_list_query_count_does_not_grow_with_records(key, user_client, user):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = user_client.get(url(key, "list"))
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.context["rows"])

    for _ in range(5):
        make_record(
            key,
            user,
            **(
                {"phones": ["+7 495 111-22-33"], "emails": ["a@example.com"]}
                if registry[key].has_channels
                else {}
            ),
        )
    few, rows_few = count_queries()
    for _ in range(25):
        make_record(
            key,
            user,
            **(
                {"phones": ["+7 495 111-22-33"], "emails": ["a@example.com"]}
                if registry[key].has_channels
                else {}
            ),
        )
    many, rows_many = count_queries()
    assert (rows_few, rows_many) == (5, 25)  # the second page size is the page limit
    assert many == few, f"{key} list: {few} queries for 5 rows, {many} for 25"


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_list_sorts_by_every_sortable_column(key, user_client, user):
    records = [make_record(key, user) for _ in range(3)]
    for name in registry[key].sort_fields:
        for sort in (name, f"-{name}"):
            response = user_client.get(url(key, "list"), {"sort": sort})
            assert response.status_code == 200, sort
            assert response.context["sort"] == sort
            assert {row["object"] for row in response.context["rows"]} == set(records)
    response = user_client.get(url(key, "list"), {"sort": "owner__password"})
    assert response.status_code == 200 and response.context["sort"] == ""


@pytest.mark.parametrize("key", [e.key for e in registry if "owner" in e.filter_fields])
def test_list_filters_by_owner(key, user_client, user, colleague):
    mine = make_record(key, user)
    theirs = make_record(key, colleague)
    response = user_client.get(url(key, "list"), {"owner": colleague.pk})
    assert [row["object"] for row in response.context["rows"]] == [theirs]
    assert mine.get_absolute_url() not in html(response)


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_list_pages(key, user_client, user):
    from django.conf import settings

    records = [make_record(key, user) for _ in range(settings.CRM_PAGE_SIZE + 1)]
    first = user_client.get(url(key, "list"))
    second = user_client.get(url(key, "list"), {"page": 2})
    assert len(first.context["rows"]) == settings.CRM_PAGE_SIZE
    assert [row["object"] for row in second.context["rows"]] == [records[0]]  # newest first
    assert user_client.get(url(key, "list"), {"page": "abc", "per_page": "x"}).status_code == 200


# ---------------------------------------------------------------------------
# Card


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_card_shows_fields(key, user_client, user):
    extra = (
        {"phones": ["8 (495) 123-45-67"], "emails": ["Card@Example.com"]}
        if registry[key].has_channels
        else {}
    )
    obj = make_record(key, user, **extra)
    response = user_client.get(obj.get_absolute_url())
    assert response.status_code == 200
    page = html(response)
    assert escape(str(obj)) in page
    shown = 0
    for section in response.context["sections"]:
        for item in section["items"]:
            if isinstance(item["value"], str) and item["value"] and "\n" not in item["value"]:
                assert escape(item["value"]) in page, f"{item['name']} = {item['value']!r} not on the card"
                shown += 1
    assert shown >= 3
    assert response.context["can_edit"] and response.context["can_delete"]
    assert url(key, "edit", obj.pk) in page
    if registry[key].has_channels:
        assert "+7 495 123-45-67" in page  # phones shown in the international format
        assert "tel:+74951234567" in page
        assert "mailto:Card@Example.com" in page


FK_TO_ENTITIES = [
    (entity.key, name)
    for entity in registry
    for _title, names in entity.card_sections
    for name in names
    if (field := next((f for f in entity.model._meta.concrete_fields if f.name == name), None)) is not None
    and field.is_relation
    and field.related_model is not None
    and any(e.model_path == field.related_model._meta.label for e in registry)
]


@pytest.mark.parametrize(("key", "name"), FK_TO_ENTITIES)
def test_card_does_not_link_to_records_the_user_cannot_open(key, name, user_client, user, other_user):
    from crm_site import services

    target_key = registry.for_model(registry[key].model._meta.get_field(name).related_model).key
    binned = make_record(target_key, user)
    hidden = make_record(target_key, other_user)
    with_binned = make_record(key, user, **{name: binned})
    with_hidden = make_record(key, user, **{name: hidden})
    services.record_delete(user=user, obj=binned)
    for obj, target in ((with_binned, binned), (with_hidden, hidden)):
        assert user_client.get(target.get_absolute_url()).status_code == 404
        card = html(user_client.get(obj.get_absolute_url()))
        assert target.get_absolute_url() not in card
        assert str(target) not in card  # not even its name
        if target is binned:  # its deleter may restore it: "in the recycle bin", linked to it there
            assert "in the recycle bin" in card
            assert reverse("trash_item", args=[target_key, binned.pk]) in card
        else:
            assert "hidden record" in card
    listing = html(user_client.get(url(key, "list")))
    assert binned.get_absolute_url() not in listing and hidden.get_absolute_url() not in listing
    assert str(binned) not in listing and str(hidden) not in listing


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_card_query_count_does_not_grow_with_links_and_related_records(key, user_client, user):
    entity = registry[key]
    obj = make_record(key, user)

    def grow(n):
        for relation in entity.relations:
            for _ in range(n):
                target = make_record(relation.target_model.entity().key, user)
                relation.through_model.objects.create(**{relation.from_field: obj, relation.to_field: target})
        for _title, accessor, related_key in entity.related_lists:
            field = registry[related_key].model._meta.get_field(accessor)
            for _ in range(n):
                make_record(related_key, user, **{accessor: [obj] if field.many_to_many else obj})

    def measure():
        user_client.get(obj.get_absolute_url())  # warm per-process caches (content types)
        with CaptureQueriesContext(connection) as ctx:
            assert user_client.get(obj.get_absolute_url()).status_code == 200
        return len(ctx.captured_queries)

    grow(1)
    few = measure()
    grow(5)
    many = measure()
    assert many == few, f"{key} card: {few} queries with 1 of each related record, {many} with 6"


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_card_of_unknown_record_is_404(key, user_client):
    assert user_client.get(url(key, "detail", 987654)).status_code == 404


# ---------------------------------------------------------------------------
# Create


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_create_form_renders(key, user_client, user):
    response = user_client.get(url(key, "add"))
    assert response.status_code == 200
    assert response.context["is_new"]
    assert response.context["form"]["owner"].value() == user.pk
    if registry[key].has_channels:
        assert 'name="ch-phone-TOTAL_FORMS"' in html(response)


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_create(key, user_client, user, department):
    entity = registry[key]
    model = entity.model
    before = list(model.all_objects.values_list("pk", flat=True))
    channels = (
        {"phones": ["8 (495) 123-45-67"], "emails": ["New.Person@Example.COM"]} if entity.has_channels else {}
    )
    data = post_data(key, user, **channels)
    response = user_client.post(url(key, "add"), data)
    assert response.status_code == 302, form_error_texts(response) if response.context else response
    [obj] = new_records(model, before)
    assert response["Location"] == obj.get_absolute_url()
    field = search_field(key)
    assert getattr(obj, field) == data[field]
    assert obj.owner == user
    assert obj.created_by == user
    assert obj.updated_by == user
    assert obj.department == department
    assert obj.deleted_at is None
    [created] = obj.history.all()
    assert created.history_type == "+"
    assert created.history_user == user
    if entity.has_channels:
        [phone] = obj.phones
        assert phone.normalized == "+74951234567"
        assert phone.value == "8 (495) 123-45-67"
        assert phone.is_primary
        [email] = obj.emails
        assert email.normalized == "new.person@example.com"
    follow = user_client.get(response["Location"])
    assert follow.status_code == 200
    assert any(str(obj) in text for text in (str(m) for m in follow.context["messages"]))


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_create_redirects_to_safe_next_only(key, user_client, user):
    response = user_client.post(url(key, "add"), {**post_data(key, user), "next": "/somewhere/?x=1"})
    assert response.status_code == 302
    assert response["Location"] == "/somewhere/?x=1"
    # The same record a second time: confirmed past the duplicate question (issue 18), so the redirect is tested.
    response = user_client.post(
        url(key, "add"), {**post_data(key, user), "next": "https://evil.example.com/", "confirmed": "1"}
    )
    assert response.status_code == 302
    assert "evil" not in response["Location"]


@pytest.mark.parametrize("key", CHANNEL_KEYS)
@pytest.mark.parametrize(
    "channels",
    [
        {"emails": ["not-an-email"]},
        {"phones": ["call me maybe"]},
        {"phones": ["12"]},
        {"phones": ["+7 495 123-45-67", "8 (495) 123-45-67"]},
    ],
    ids=["bad-email", "bad-phone", "short-phone", "duplicate-phone"],
)
def test_create_with_bad_channel_is_refused(key, channels, user_client, user):
    model = registry[key].model
    before = list(model.all_objects.values_list("pk", flat=True))
    comms = Communication.objects.count()
    response = user_client.post(url(key, "add"), post_data(key, user, **channels))
    assert response.status_code == 400
    errors = form_error_texts(response)
    assert errors
    page = html(response)
    assert any(escape(error) in page for error in errors), errors
    assert new_records(model, before) == []
    assert Communication.objects.count() == comms


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_create_without_required_fields_is_refused(key, head_client, head):
    """As a head: the owner is writable for them (read-only, pre-filled, for roles below department level)."""
    user_client = head_client
    entity = registry[key]
    model = entity.model
    form = entity.form(user=head)
    required = [name for name, field in form.fields.items() if field.required]
    assert "owner" in required
    data = post_data(key, None, **{name: None for name in required if name != "owner"})
    before = list(model.all_objects.values_list("pk", flat=True))
    response = user_client.post(url(key, "add"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    for name in required:
        assert name in errors, f"{name} should be required"
        assert escape(errors[name][0]) in html(response)
    assert new_records(model, before) == []


# ---------------------------------------------------------------------------
# Edit


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_edit(key, user_client, user):
    field = search_field(key)
    obj = make_record(key, user, **{field: "Old value Alpha"})
    response = user_client.get(url(key, "edit", obj.pk))
    assert response.status_code == 200
    assert "Old value Alpha" in html(response)
    response = user_client.post(url(key, "edit", obj.pk), edit_data(obj, **{field: "New value Omega"}))
    assert response.status_code == 302, form_error_texts(response) if response.context else response
    assert response["Location"] == obj.get_absolute_url()
    obj.refresh_from_db()
    assert getattr(obj, field) == "New value Omega"
    assert obj.updated_by == user
    latest, previous = obj.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_type == "~"
    assert latest.history_user == user
    changed = {change.field: (change.old, change.new) for change in latest.diff_against(previous).changes}
    assert changed[field] == ("Old value Alpha", "New value Omega")
    card = user_client.get(obj.get_absolute_url())
    [entry] = [e for e in card.context["history"] if e["record"].pk == latest.pk]
    assert [(c["old"], c["new"]) for c in entry["changes"] if c["old"] == "Old value Alpha"] == [
        ("Old value Alpha", "New value Omega")
    ]
    assert "Old value Alpha" in html(card) and "New value Omega" in html(card)


@pytest.mark.parametrize("key", CHANNEL_KEYS)
def test_edit_channels(key, user_client, user):
    obj = make_record(key, user, phones=["+7 495 111-11-11"], emails=["old@example.com"])
    [old_email] = obj.emails
    data = edit_data(
        obj,
        phones=[{"value": "8 (812) 222-22-22", "is_primary": True}],
        emails=["fresh@example.com"],
        delete=[old_email],
    )
    data.pop("ch-phone-0-is_primary")  # the user moves the "primary" tick to the new phone
    response = user_client.post(url(key, "edit", obj.pk), data)
    assert response.status_code == 302, form_error_texts(response) if response.context else response
    obj = type(obj).objects.get(pk=obj.pk)
    assert sorted(p.normalized for p in obj.phones) == ["+74951111111", "+78122222222"]
    assert [p.normalized for p in obj.phones if p.is_primary] == ["+78122222222"]
    assert [e.normalized for e in obj.emails] == ["fresh@example.com"]
    assert obj.emails[0].is_primary


@pytest.mark.parametrize("key", CHANNEL_KEYS)
def test_edit_clearing_a_value_deletes_it(key, user_client, user):
    obj = make_record(key, user, phones=["+7 495 111-11-11", "+7 495 222-22-22"])
    data = edit_data(obj)
    data["ch-phone-0-value"] = ""
    response = user_client.post(url(key, "edit", obj.pk), data)
    assert response.status_code == 302
    [left] = type(obj).objects.get(pk=obj.pk).phones
    assert left.normalized == "+74952222222"
    assert left.is_primary


@pytest.mark.parametrize("key", CHANNEL_KEYS)
def test_edit_cannot_touch_another_records_channels(key, user_client, user):
    """A forged row id pointing at another record's phone (or at an email) never reaches that value.

    (Django's model formsets drop an initial row whose id is not in the formset's queryset.)
    """
    mine = make_record(key, user, phones=["+7 495 111-11-11"])
    other = make_record(key, user, phones=["+7 495 999-99-99"], emails=["other@example.com"])
    [their_phone] = other.phones
    [their_email] = other.emails
    for forged in (their_phone.pk, their_email.pk):
        data = edit_data(mine)
        data["ch-phone-0-id"] = str(forged)
        data["ch-phone-0-value"] = "+7 495 000-00-00"
        response = user_client.post(url(key, "edit", mine.pk), data)
        assert response.status_code in (302, 400)
    assert [p.normalized for p in type(other).objects.get(pk=other.pk).phones] == ["+74959999999"]
    assert Communication.objects.get(pk=their_phone.pk).object_id == other.pk
    assert Communication.objects.get(pk=their_email.pk).value == "other@example.com"
    assert [p.normalized for p in type(mine).objects.get(pk=mine.pk).phones] == ["+74951111111"]


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_markup_in_names_is_escaped(key, user_client, user):
    field = search_field(key)
    evil = '<img src=x onerror="alert(1)">Evil'
    obj = make_record(key, user, **{field: evil})
    pages = [
        user_client.get(url(key, "list")),
        user_client.get(obj.get_absolute_url()),
        user_client.get(url(key, "edit", obj.pk)),
        user_client.get(url(key, "autocomplete"), {"q": "Evil"}, headers={"HX-Request": "true"}),
    ]
    for response in pages:
        assert response.status_code == 200
        assert "<img src=x" not in html(response)
    assert "&lt;img src=x" in html(pages[1])


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_edit_reassigning_out_of_reach_is_refused(key, user_client, user, other_user):
    """record_save re-check: giving the record to someone in another department would lose it."""
    field = search_field(key)
    obj = make_record(key, user, **{field: "Keep me"})
    before = snapshot(obj)
    data = edit_data(obj, owner=other_user.pk, **{field: "Changed"})
    response = user_client.post(url(key, "edit", obj.pk), data)
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert escape(response.context["form"].non_field_errors()[0]) in html(response)
    assert snapshot(obj) == before
    assert obj.history.count() == 1


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_create_for_someone_out_of_reach_is_refused_and_stays_a_new_form(key, user_client, user, other_user):
    """The re-check rolls the insert back; the page must not then treat the form as an edit of a ghost record."""
    model = registry[key].model
    before = list(model.all_objects.values_list("pk", flat=True))
    channels = {"phones": ["+7 495 123-45-67"]} if registry[key].has_channels else {}
    response = user_client.post(url(key, "add"), post_data(key, other_user, **channels))
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert new_records(model, before) == []
    assert response.context["is_new"]
    assert response.context["object"].pk is None
    # Sending the corrected form again creates the record.
    response = user_client.post(url(key, "add"), post_data(key, user, **channels))
    assert response.status_code == 302
    assert len(new_records(model, before)) == 1


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_head_may_edit_and_reassign_within_the_department(key, head_client, user, colleague):
    obj = make_record(key, user)
    response = head_client.post(url(key, "edit", obj.pk), edit_data(obj, owner=colleague.pk))
    assert response.status_code == 302, form_error_texts(response) if response.context else response
    obj.refresh_from_db()
    assert obj.owner == colleague


# ---------------------------------------------------------------------------
# Delete


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_delete_is_soft(key, user_client, user):
    obj = make_record(key, user)
    response = user_client.get(url(key, "delete", obj.pk))
    assert response.status_code == 200
    assert escape(str(obj)) in html(response)
    assert type(obj).objects.filter(pk=obj.pk).exists()  # GET changes nothing

    response = user_client.post(url(key, "delete", obj.pk))
    assert response.status_code == 302
    assert response["Location"] == url(key, "list")
    listing = user_client.get(url(key, "list"))
    assert obj not in [row["object"] for row in listing.context["rows"]]
    assert user_client.get(obj.get_absolute_url()).status_code == 404
    assert user_client.get(url(key, "edit", obj.pk)).status_code == 404
    assert not type(obj).objects.filter(pk=obj.pk).exists()
    binned = type(obj).all_objects.get(pk=obj.pk)
    assert binned.deleted_at is not None
    assert binned.deleted_by == user
    assert binned.history.order_by("-history_date", "-history_id").first().history_change_reason == "deleted"
    autocomplete = user_client.get(url(key, "autocomplete"), {"q": getattr(obj, search_field(key))})
    assert obj.pk not in [r["id"] for r in autocomplete.json()["results"]]


# ---------------------------------------------------------------------------
# Access


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_record_of_another_department_is_404_everywhere(key, user_client, other_user):
    obj = make_record(key, other_user)
    before = snapshot(obj)
    assert user_client.get(obj.get_absolute_url()).status_code == 404
    assert user_client.get(url(key, "edit", obj.pk)).status_code == 404
    assert (
        user_client.post(
            url(key, "edit", obj.pk), edit_data(obj, **{search_field(key): "Hacked"})
        ).status_code
        == 404
    )
    assert user_client.get(url(key, "delete", obj.pk)).status_code == 404
    assert user_client.post(url(key, "delete", obj.pk)).status_code == 404
    for relation in registry[key].relations:
        response = user_client.post(url(key, "link", obj.pk, relation.name), {"target": "1"})
        assert response.status_code == 404
    assert snapshot(obj) == before


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_opened_record_of_another_owner_is_read_only(key, user_client, other_user, user):
    obj = make_record(key, other_user, opened=True)
    before = snapshot(obj)
    response = user_client.get(obj.get_absolute_url())
    assert response.status_code == 200
    assert not response.context["can_edit"]
    assert not response.context["can_delete"]
    assert url(key, "edit", obj.pk) not in html(response)
    assert user_client.get(url(key, "edit", obj.pk)).status_code == 403
    data = edit_data(obj, owner=user.pk, **{search_field(key): "Hacked"})
    assert user_client.post(url(key, "edit", obj.pk), data).status_code == 403
    assert user_client.get(url(key, "delete", obj.pk)).status_code == 403
    assert user_client.post(url(key, "delete", obj.pk)).status_code == 403
    for relation in registry[key].relations:
        target = make_record(relation.target_model.entity().key, user)
        response = user_client.post(url(key, "link", obj.pk, relation.name), {"target": target.pk})
        assert response.status_code == 403
        assert not relation.through_model.objects.filter(**{relation.from_field: obj}).exists()
    assert snapshot(obj) == before


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_colleague_reads_but_does_not_edit(key, user_client, colleague):
    obj = make_record(key, colleague)
    assert user_client.get(obj.get_absolute_url()).status_code == 200
    assert user_client.get(url(key, "edit", obj.pk)).status_code == 403
    assert user_client.post(url(key, "delete", obj.pk)).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_superuser_sees_and_edits_everything(key, admin_client, other_user):
    obj = make_record(key, other_user)
    assert admin_client.get(obj.get_absolute_url()).status_code == 200
    assert admin_client.get(url(key, "edit", obj.pk)).status_code == 200
    listing = admin_client.get(url(key, "list"))
    assert obj in [row["object"] for row in listing.context["rows"]]


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_anonymous_is_sent_to_login(key, anon_client, user):
    obj = make_record(key, user)
    paths = [
        url(key, "list"),
        url(key, "add"),
        obj.get_absolute_url(),
        url(key, "edit", obj.pk),
        url(key, "delete", obj.pk),
        url(key, "autocomplete") + "?q=a",
    ]
    for path in paths:
        assert_login_redirect(anon_client.get(path), path.split("?")[0])
    before = snapshot(obj)
    assert_login_redirect(anon_client.post(url(key, "delete", obj.pk)), url(key, "delete", obj.pk))
    assert_login_redirect(anon_client.post(url(key, "add"), post_data(key, user)), url(key, "add"))
    assert snapshot(obj) == before


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_inactive_user_sees_nothing(key, user_client, user):
    obj = make_record(key, user)
    user.is_active = False
    user.save()
    assert_login_redirect(user_client.get(obj.get_absolute_url()), obj.get_absolute_url())


# ---------------------------------------------------------------------------
# Relations (links edited in place on the card)


def _extra_values(relation):
    return {name: ("on" if name.startswith("is_") else f"Test {name}") for name in relation.extra_fields}


def _reverse_relation(relation):
    """The same through model seen from the target entity (contact → companies ⇄ company → contacts)."""
    for other in relation.target_model.entity().relations:
        if other.through == relation.through and other.from_field == relation.to_field:
            return other
    return None


@pytest.mark.parametrize(("key", "name"), RELATIONS)
def test_link_and_unlink(key, name, user_client, user):
    entity = registry[key]
    relation = entity.relation(name)
    obj = make_record(key, user)
    target = make_record(relation.target_model.entity().key, user)
    response = user_client.post(
        url(key, "link", obj.pk, name), {"target": target.pk, **_extra_values(relation)}
    )
    assert response.status_code == 302
    assert response["Location"] == obj.get_absolute_url() + f"#relation-{name}"
    link = relation.through_model.objects.get(**{relation.from_field: obj, relation.to_field: target})
    for extra in relation.extra_fields:
        expected = True if extra.startswith("is_") else f"Test {extra}"
        assert getattr(link, extra) == expected
    assert link.history.filter(history_type="+").exists()

    card = user_client.get(obj.get_absolute_url())
    [section] = [r for r in card.context["relations"] if r["relation"].name == name]
    assert [item["target"] for item in section["links"]] == [target]
    assert target.get_absolute_url() in html(card)
    reverse_relation = _reverse_relation(relation)
    if reverse_relation is not None:
        other_card = user_client.get(target.get_absolute_url())
        assert obj.get_absolute_url() in html(other_card)

    response = user_client.post(url(key, "unlink", obj.pk, name, link.pk))
    assert response.status_code == 302
    assert not relation.through_model.objects.filter(pk=link.pk).exists()
    card = user_client.get(obj.get_absolute_url())
    [section] = [r for r in card.context["relations"] if r["relation"].name == name]
    assert section["links"] == []


@pytest.mark.parametrize(("key", "name"), RELATIONS)
def test_link_to_invisible_record_fails(key, name, user_client, user, other_user):
    relation = registry[key].relation(name)
    obj = make_record(key, user)
    target = make_record(relation.target_model.entity().key, other_user)
    response = user_client.post(
        url(key, "link", obj.pk, name), {"target": target.pk, **_extra_values(relation)}
    )
    assert response.status_code == 302
    assert not relation.through_model.objects.exists()
    assert messages_of(response)


@pytest.mark.parametrize(("key", "name"), RELATIONS)
def test_link_without_target_fails(key, name, user_client, user):
    relation = registry[key].relation(name)
    obj = make_record(key, user)
    for bad in ("", "abc", "999999"):
        response = user_client.post(url(key, "link", obj.pk, name), {"target": bad})
        assert response.status_code == 302
    assert not relation.through_model.objects.exists()


@pytest.mark.parametrize(("key", "name"), RELATIONS)
def test_card_hides_links_to_records_in_the_bin(key, name, user_client, user):
    from crm_site import services

    relation = registry[key].relation(name)
    obj = make_record(key, user)
    target = make_record(relation.target_model.entity().key, user)
    relation.through_model.objects.create(**{relation.from_field: obj, relation.to_field: target})
    services.record_delete(user=user, obj=target)
    card = user_client.get(obj.get_absolute_url())
    [section] = [r for r in card.context["relations"] if r["relation"].name == name]
    assert section["links"] == []
    assert target.get_absolute_url() not in html(card)


@pytest.mark.parametrize(("key", "name"), RELATIONS)
def test_card_hides_links_to_invisible_records(key, name, user_client, user, other_user):
    relation = registry[key].relation(name)
    obj = make_record(key, user)
    hidden = make_record(relation.target_model.entity().key, other_user)
    relation.through_model.objects.create(**{relation.from_field: obj, relation.to_field: hidden})
    card = user_client.get(obj.get_absolute_url())
    [section] = [r for r in card.context["relations"] if r["relation"].name == name]
    assert section["links"] == []
    assert hidden.get_absolute_url() not in html(card)


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_unknown_relation_is_404(key, user_client, user):
    obj = make_record(key, user)
    assert user_client.post(url(key, "link", obj.pk, "no-such-thing"), {"target": obj.pk}).status_code == 404
    assert user_client.post(url(key, "unlink", obj.pk, "no-such-thing", 1)).status_code == 404


@pytest.mark.parametrize(("key", "name"), RELATIONS)
def test_unlink_of_another_records_link_does_nothing(key, name, user_client, user):
    relation = registry[key].relation(name)
    mine = make_record(key, user)
    other = make_record(key, user)
    target = make_record(relation.target_model.entity().key, user)
    link = relation.through_model.objects.create(**{relation.from_field: other, relation.to_field: target})
    response = user_client.post(url(key, "unlink", mine.pk, name, link.pk))
    assert response.status_code == 302
    assert relation.through_model.objects.filter(pk=link.pk).exists()


def test_contact_company_link_with_position_and_primary(user_client, user):
    from contacts.models import ContactCompany
    from tests.factories import make_company, make_contact

    contact = make_contact(user)
    first, second = make_company(user), make_company(user)
    user_client.post(
        url("contact", "link", contact.pk, "companies"),
        {"target": first.pk, "position": "CTO", "is_primary": "on"},
    )
    user_client.post(
        url("contact", "link", contact.pk, "companies"),
        {"target": second.pk, "position": "Advisor", "is_primary": "on"},
    )
    links = {link.company: link for link in ContactCompany.objects.filter(contact=contact)}
    assert links[first].position == "CTO" and not links[first].is_primary
    assert links[second].position == "Advisor" and links[second].is_primary
    # Linking again updates the link instead of duplicating it.
    user_client.post(url("contact", "link", contact.pk, "companies"), {"target": first.pk, "position": "CEO"})
    assert ContactCompany.objects.filter(contact=contact).count() == 2
    assert ContactCompany.objects.get(contact=contact, company=first).position == "CEO"
    # From the company's side, the same link is shown with its position.
    card = user_client.get(first.get_absolute_url())
    assert contact.get_absolute_url() in html(card)
    assert "CEO" in html(card)


def test_deal_contact_link_with_role(user_client, user):
    from deals.models import DealContact
    from tests.factories import make_contact, make_deal

    deal, contact = make_deal(user), make_contact(user)
    response = user_client.post(
        url("deal", "link", deal.pk, "contacts"), {"target": contact.pk, "role": "Decision maker"}
    )
    assert response.status_code == 302
    assert DealContact.objects.get(deal=deal, contact=contact).role == "Decision maker"
    # The contact's card lists the deal.
    card = user_client.get(contact.get_absolute_url())
    assert deal.get_absolute_url() in html(card)


# ---------------------------------------------------------------------------
# Autocomplete


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_autocomplete_returns_only_visible_records(key, user_client, user, other_user, colleague):
    field = search_field(key)
    mine = make_record(key, user, **{field: "Pelican One"})
    colleagues = make_record(key, colleague, **{field: "Pelican Two"})
    opened = make_record(key, other_user, opened=True, **{field: "Pelican Three"})
    hidden = make_record(key, other_user, **{field: "Pelican Four"})
    unrelated = make_record(key, user, **{field: "Walrus"})
    response = user_client.get(url(key, "autocomplete"), {"q": "pelican"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert {r["id"] for r in results} == {mine.pk, colleagues.pk, opened.pk}
    assert hidden.pk not in {r["id"] for r in results} and unrelated.pk not in {r["id"] for r in results}
    first = next(r for r in results if r["id"] == mine.pk)
    assert first == {"id": mine.pk, "text": str(mine), "url": mine.get_absolute_url()}
    assert user_client.get(url(key, "autocomplete"), {"q": ""}).json() == {"results": []}


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_autocomplete_htmx_answers_options(key, user_client, user, other_user):
    field = search_field(key)
    mine = make_record(key, user, **{field: "Heron Alpha"})
    hidden = make_record(key, other_user, **{field: "Heron Beta"})
    response = user_client.get(url(key, "autocomplete"), {"q": "heron"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = html(response)
    assert f'data-id="{mine.pk}"' in page
    assert f'data-id="{hidden.pk}"' not in page
    assert "<html" not in page


# ---------------------------------------------------------------------------
# Entity-specific form rules


def test_contact_needs_a_name(user_client, user):
    from contacts.models import Contact

    data = post_data("contact", user, last_name=None, first_name=None, middle_name=None)
    response = user_client.post(url("contact", "add"), data)
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert escape(response.context["form"].non_field_errors()[0]) in html(response)
    assert not Contact.all_objects.exists()


def test_deal_stage_must_belong_to_the_pipeline(user_client, user):
    from deals.models import Deal
    from tests.factories import pipeline, stage

    data = post_data("deal", user, pipeline=pipeline("sales").pk, stage=stage("pilot", "partners").pk)
    response = user_client.post(url("deal", "add"), data)
    assert response.status_code == 400
    assert "stage" in response.context["form"].errors
    assert not Deal.all_objects.exists()


def test_deal_company_must_be_visible(user_client, user, other_user):
    from deals.models import Deal
    from tests.factories import make_company

    hidden = make_company(other_user)
    response = user_client.post(url("deal", "add"), post_data("deal", user, company=hidden.pk))
    assert response.status_code == 400
    assert "company" in response.context["form"].errors
    assert not Deal.all_objects.exists()


def test_lead_cannot_be_created_converted(user_client, user):
    from leads.models import Lead
    from tests.factories import lead_status

    response = user_client.post(
        url("lead", "add"), post_data("lead", user, status=lead_status("converted").pk)
    )
    assert response.status_code == 400
    assert "status" in response.context["form"].errors
    assert not Lead.all_objects.exists()


def test_negative_amounts_are_refused(user_client, user):
    response = user_client.post(url("deal", "add"), post_data("deal", user, amount="-5"))
    assert response.status_code == 400
    assert "amount" in response.context["form"].errors


def test_history_shows_related_names_not_ids(user_client, user):
    from contacts.models import Contact
    from tests.factories import client_type, make_contact

    contact = make_contact(user, type=client_type("client"))
    response = user_client.post(
        url("contact", "edit", contact.pk), edit_data(contact, type=client_type("partner").pk)
    )
    assert response.status_code == 302
    card = user_client.get(Contact.objects.get(pk=contact.pk).get_absolute_url())
    changes = [change for entry in card.context["history"] for change in entry["changes"]]
    assert [(str(c["old"]), str(c["new"])) for c in changes] == [("Client", "Partner")]


def test_dates_are_in_the_users_time_zone_one_style_on_cards_and_lists(user):
    from datetime import UTC, datetime

    from django.utils import translation

    from crm_site.display import field_value

    obj = make_record("contact", user)
    type(obj).all_objects.filter(pk=obj.pk).update(created_at=datetime(2026, 1, 10, 21, 30, tzinfo=UTC))
    obj.refresh_from_db()
    with translation.override("ru"):  # Europe/Moscow, UTC+3: already the next day
        # Issue 15: one date style per language (the short numeric one); a list shows a date-time's day.
        assert field_value(obj, "created_at", short=True) == "11.01.2026"
        assert field_value(obj, "created_at") == "11.01.2026 00:30"
