"""Plain helpers that make valid records and form data for tests (no factory_boy).

Every helper fills in realistic values (Russian names, phones with the country code, related lists)
so that list and card pages render every column. An entity these helpers do not know yet still works:
`make_record()` and `post_data()` fall back to filling the entity's form generically, so adding an entity
to the registry needs no edits in the shared view tests.
"""

import itertools
from datetime import date
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from access.models import Department, Membership
from crm_site.models import ClientType, Communication, Currency, Industry, Source
from crm_site.registry import registry
from crm_site.services import ensure_single_primary

PASSWORD = "Test-password-1234"
CHANNELS = [channel.value for channel in Communication.Channel]
_sequence = itertools.count(1)


def seq():
    return next(_sequence)


# ---------------------------------------------------------------------------
# People and departments


def make_department(name=None, *, parent=None, head=None):
    return Department.objects.create(name=name or f"Department {seq()}", parent=parent, head=head)


_NEW = object()
_HASHES = {}


def password_hash(password):
    """Hashing is slow on purpose; one hash per password is enough for a whole test run."""
    if password not in _HASHES:
        _HASHES[password] = make_password(password)
    return _HASHES[password]


def make_user(username=None, *, department=_NEW, superuser=False, password=PASSWORD, **extra):
    """An active user, member (primary) of `department`: a new department unless given; None for none."""
    username = username or f"user{seq()}"
    model = get_user_model()
    extra.setdefault("email", f"{username}@example.com")
    extra.setdefault("first_name", username.capitalize())
    if superuser:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
    user = model.objects.create(username=username, password=password_hash(password), **extra)
    if department is _NEW:
        department = make_department(f"{username}'s department")
    if department is not None:
        Membership.objects.create(user=user, department=department, is_primary=True)
    return user


def assign_role(name, *, user=None, department=None):
    """Give the seeded role `name` ("Head of sales", "Sales manager"...) to a user or a department."""
    from access.models import Role, RoleAssignment
    from access.scopes import forget

    role = Role.objects.get(name=name)
    assignment, _created = RoleAssignment.objects.get_or_create(role=role, user=user, department=department)
    if user is not None:
        forget(user)
    return assignment


def add_membership(user, department, *, is_primary=False):
    from access.scopes import forget

    membership = Membership.objects.create(user=user, department=department, is_primary=is_primary)
    forget(user)
    return membership


# ---------------------------------------------------------------------------
# Reference lists seeded by migrations


def client_type(code="client"):
    return ClientType.objects.get(code=code)


def industry(code="it"):
    return Industry.objects.get(code=code)


def source(code="website"):
    return Source.objects.get(code=code)


def currency(code="rub"):
    return Currency.objects.get(code=code)


def pipeline(code="sales"):
    from deals.models import Pipeline

    return Pipeline.objects.get(code=code)


def stage(code="new", pipeline_code="sales"):
    from deals.models import Stage

    return Stage.objects.get(pipeline__code=pipeline_code, code=code)


def lead_status(code="new"):
    from leads.models import LeadStatus

    return LeadStatus.objects.get(code=code)


# ---------------------------------------------------------------------------
# Records


def add_channels(obj, *, phones=(), emails=(), messengers=(), web=()):
    """Add phones/emails/... (saved normalised by Communication.save); the first of each is primary."""
    for channel, values in (
        (Communication.Channel.PHONE, phones),
        (Communication.Channel.EMAIL, emails),
        (Communication.Channel.MESSENGER, messengers),
        (Communication.Channel.WEB, web),
    ):
        kind = Communication.KINDS_BY_CHANNEL[channel][0]
        for position, value in enumerate(values):
            Communication(record=obj, channel=channel, kind=kind, value=value, position=position).save()
    ensure_single_primary(obj)
    refresh_match_keys(obj)
    return obj


def refresh_match_keys(obj):
    """The duplicate keys of a record made here (the write services keep them current through their events)."""
    from dedup.keys import keys_refresh

    if hasattr(type(obj), "entity"):
        keys_refresh(obj)


def _create(model, owner, fields, *, phones=(), emails=()):
    """A record written straight to the database (fast, no events); the department follows the owner as the
    write services make it."""
    from access.scopes import primary_department

    fields.setdefault("created_by", owner)
    fields.setdefault("updated_by", owner)
    if "department" not in fields and "department_id" not in fields:
        department = primary_department(owner)
        fields["department_id"] = department.pk if department else None
    m2m = {name: fields.pop(name) for name in list(fields) if _is_m2m(model, name)}
    obj = model.objects.create(owner=owner, **fields)
    for name, values in m2m.items():
        getattr(obj, name).set(values)
    if phones or emails:
        add_channels(obj, phones=phones, emails=emails)
    return obj


def _is_m2m(model, name):
    try:
        return model._meta.get_field(name).many_to_many
    except Exception:
        return False


def make_company(owner, *, phones=(), emails=(), **fields):
    from companies.models import Company

    n = seq()
    defaults = {
        "name": f"ООО Ромашка {n}",
        "type": client_type(),
        "industry": industry(),
        "employees": 42,
        "annual_revenue": Decimal("1000000.00"),
        "revenue_currency": currency(),
        "website": f"https://romashka{n}.example.com",
        "address": "Москва, ул. Тверская, 1",
        "legal_name": f"Общество с ограниченной ответственностью «Ромашка {n}»",
        "tax_id": f"77{n:08d}",
        "comment": "Постоянный клиент",
    }
    return _create(Company, owner, {**defaults, **fields}, phones=phones, emails=emails)


def make_contact(owner, *, phones=(), emails=(), companies=(), **fields):
    from contacts.models import Contact, ContactCompany

    n = seq()
    defaults = {
        "last_name": f"Иванов{n}",
        "first_name": "Пётр",
        "middle_name": "Сергеевич",
        "position": "Директор",
        "birthday": date(1985, 4, 12),
        "type": client_type(),
        "source": source(),
        "address": "Санкт-Петербург",
        "comment": "Звонить после обеда",
    }
    contact = _create(Contact, owner, {**defaults, **fields}, phones=phones, emails=emails)
    for index, company in enumerate(companies):
        ContactCompany.objects.create(
            contact=contact, company=company, position=contact.position, is_primary=index == 0
        )
    return contact


def make_lead(owner, *, phones=(), emails=(), **fields):
    from leads.models import Lead

    n = seq()
    defaults = {
        "title": f"Заявка с сайта {n}",
        "last_name": f"Петров{n}",
        "first_name": "Иван",
        "middle_name": "Ильич",
        "position": "Закупщик",
        "company_name": f"АО Вектор {n}",
        "status": lead_status(),
        "source": source(),
        "score": "hot",
        "expected_amount": Decimal("50000.00"),
        "currency": currency(),
        "comment": "Хочет демо",
    }
    return _create(Lead, owner, {**defaults, **fields}, phones=phones, emails=emails)


def make_deal(owner, *, contacts=(), **fields):
    from deals.models import Deal, DealContact

    n = seq()
    the_stage = fields.pop("stage", None)
    the_pipeline = fields.pop("pipeline", None) or (the_stage.pipeline if the_stage else pipeline())
    the_stage = the_stage or the_pipeline.stages.order_by("order", "pk").first()
    defaults = {
        "title": f"Поставка оборудования {n}",
        "amount": Decimal("150000.00"),
        "currency": currency(),
        "expected_close_date": date(2030, 1, 31),
        "comment": "Срочно",
    }
    if "company" not in fields:
        defaults["company"] = make_company(owner)
    deal = _create(Deal, owner, {**defaults, "pipeline": the_pipeline, "stage": the_stage, **fields})
    for contact in contacts:
        DealContact.objects.create(deal=deal, contact=contact)
    return deal


FACTORIES = {"company": make_company, "contact": make_contact, "lead": make_lead, "deal": make_deal}


def make_record(entity_key, owner, **fields):
    """A record of any registered entity owned by `owner`."""
    if entity_key in FACTORIES:
        return FACTORIES[entity_key](owner, **fields)
    # An entity these helpers do not know: fill its form generically and save it.
    from access.scopes import primary_department

    entity = registry[entity_key]
    channels = {name: fields.pop(name, ()) for name in ("phones", "emails")}
    data = post_data(entity_key, owner, channels=False)
    data.update({name: _encode(value) for name, value in fields.items()})
    form = entity.form(data=data, instance=entity.model(), user=None)  # a factory: past the owner's field rules
    assert form.is_valid(), form.errors
    obj = form.save(commit=False)
    obj.created_by = obj.updated_by = owner
    department = primary_department(owner)
    obj.department_id = department.pk if department else None
    obj.save()
    form.save_m2m()
    if any(channels.values()):
        add_channels(obj, **channels)
    return obj


def search_field(entity_key):
    """The first plain text field searched by ?q= (used to give a record a findable marker)."""
    from django.db.models import CharField

    entity = registry[entity_key]
    for name in entity.search_fields:
        if "__" in name:
            continue
        if isinstance(entity.model._meta.get_field(name), CharField):
            return name
    raise LookupError(f"{entity_key} has no plain text search field")


# ---------------------------------------------------------------------------
# Form POST data


def _known_fields(entity_key):
    n = seq()
    if entity_key == "company":
        return {
            "name": f"ЗАО Новая компания {n}",
            "type": client_type().pk,
            "industry": industry().pk,
            "employees": "12",
            "annual_revenue": "250000.50",
            "revenue_currency": currency().pk,
            "website": "https://new.example.com",
            "address": "Казань",
            "legal_name": "ЗАО «Новая компания»",
            "tax_id": "7707083893",
            "kpp": "773601001",
            "comment": "Из формы",
        }
    if entity_key == "contact":
        return {
            "last_name": f"Сидоров{n}",
            "first_name": "Алексей",
            "middle_name": "Павлович",
            "honorific": "mr",
            "position": "Главный инженер",
            "birthday": "1990-02-03",
            "type": client_type().pk,
            "source": source("call").pk,
            "address": "Тула",
            "comment": "Из формы",
        }
    if entity_key == "lead":
        return {
            "title": f"Запрос прайса {n}",
            "last_name": "Кузнецова",
            "first_name": "Мария",
            "position": "Менеджер",
            "company_name": "ИП Кузнецова",
            "status": lead_status().pk,
            "source": source().pk,
            "score": "warm",
            "expected_amount": "75000.00",
            "currency": currency().pk,
            "comment": "Из формы",
        }
    if entity_key == "deal":
        return {
            "title": f"Внедрение CRM {n}",
            "pipeline": pipeline().pk,
            "stage": stage().pk,
            "amount": "99000.00",
            "currency": currency().pk,
            "expected_close_date": "2031-05-20",
            "comment": "Из формы",
        }
    return None


def _encode(value):
    """A python form value as the string(s) a browser would send."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if hasattr(value, "pk"):
        return str(value.pk)
    if isinstance(value, (list, tuple, set)) or hasattr(value, "__iter__") and not isinstance(value, str):
        return [_encode(v) for v in value]
    return str(value)


def _generic_value(name, field):
    """A valid value for a required form field of an entity these helpers do not know."""
    if isinstance(field, forms.ModelMultipleChoiceField):
        return [str(field.queryset.first().pk)]
    if isinstance(field, forms.ModelChoiceField):
        return str(field.queryset.first().pk)
    if isinstance(field, forms.ChoiceField):
        return next(str(value) for value, _label in field.choices if value not in ("", None))
    if isinstance(field, forms.DateField):
        return "2030-01-01"
    if isinstance(field, (forms.DecimalField, forms.IntegerField, forms.FloatField)):
        return "1"
    if isinstance(field, forms.EmailField):
        return "someone@example.com"
    if isinstance(field, forms.URLField):
        return "https://example.com"
    return f"Test {name} {seq()}"


def channel_management(prefix, rows, *, initial=0):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            if value is None or value is False:
                continue
            data[f"{prefix}-{index}-{key}"] = "on" if value is True else str(value)
    return data


def _new_rows(channel, values):
    kind = Communication.KINDS_BY_CHANNEL[Communication.Channel(channel)][0].value
    rows = []
    for value in values:
        if isinstance(value, dict):
            rows.append({"kind": kind, **value})
        else:
            rows.append({"kind": kind, "value": value})
    return rows


def channel_data(*, phones=(), emails=(), messengers=(), web=(), existing=None):
    """Management forms and rows of the four channel formsets (`ch-phone`, `ch-email`, ...).

    `existing`: {channel: [row dicts with id/kind/value/is_primary/DELETE]} for the initial forms of an edit.
    New values may be plain strings or row dicts (e.g. {"value": "...", "is_primary": True}).
    """
    new = {"phone": phones, "email": emails, "messenger": messengers, "web": web}
    data = {}
    for channel in CHANNELS:
        initial_rows = list((existing or {}).get(channel, []))
        rows = initial_rows + _new_rows(channel, new[channel])
        data.update(channel_management(f"ch-{channel}", rows, initial=len(initial_rows)))
    return data


def post_data(
    entity_key, owner=None, *, phones=(), emails=(), messengers=(), web=(), channels=True, **overrides
):
    """Valid POST data for `<entity_key>_add`, with the channel management forms (empty unless given).

    `owner`: a user or a pk (omitted when None). Overrides replace fields; None removes a field.
    """
    entity = registry[entity_key]
    data = _known_fields(entity_key)
    if data is None:
        form = entity.form(instance=entity.model(), user=owner if hasattr(owner, "pk") else None)
        data = {}
        for name, field in form.fields.items():
            initial = form[name].value()
            if initial not in (None, "", [], False):
                data[name] = _encode(initial)
            elif field.required and name != "owner":
                data[name] = _generic_value(name, field)
    if owner is not None:
        data["owner"] = str(getattr(owner, "pk", owner))
    if channels and entity.has_channels:
        data.update(channel_data(phones=phones, emails=emails, messengers=messengers, web=web))
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = _encode(value)
    return {key: value for key, value in data.items() if value != ""}


def edit_data(obj, *, phones=(), emails=(), messengers=(), web=(), delete=(), **overrides):
    """POST data for `<key>_edit` of `obj`: its current values, its channels as initial rows, plus changes.

    `delete`: Communication objects to mark for deletion. New channel values are appended as extra rows.
    """
    entity = type(obj).entity()
    form = entity.form(instance=obj, user=obj.owner)
    data = {}
    for name in form.fields:
        value = _encode(form[name].value())
        if value not in ("", []):
            data[name] = value
    if entity.has_channels:
        delete_ids = {comm.pk for comm in delete}
        existing = {}
        for comm in obj.communications.order_by("channel", "-is_primary", "position", "pk"):
            existing.setdefault(comm.channel, []).append(
                {
                    "id": comm.pk,
                    "kind": comm.kind,
                    "value": comm.value,
                    "is_primary": comm.is_primary,
                    "DELETE": comm.pk in delete_ids,
                }
            )
        data.update(
            channel_data(phones=phones, emails=emails, messengers=messengers, web=web, existing=existing)
        )
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = _encode(value)
    return {key: value for key, value in data.items() if value != ""}
