"""Match keys: computing them for any registered entity and keeping the table current.

What an entity contributes is read from its model (no per-entity code): person name fields, a company
`name` or `company_name`, links to company-like records, `tax_id`, `birthday`, `address`, `website`,
and its phones/emails/links. An app may register its own extractor with `register_extractor()`.

Custom fields an admin marked "finds duplicates" (`criterion_fields()`) add one key per value, of kind
`custom` with the value `<code>:<normalised value>` (dedup.normalize.custom_key); the definitions change at
run time, so they are read on every computation (cached by crm_site.customfields), not kept in the Spec.
"""

from dataclasses import dataclass
from functools import cache, lru_cache

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from crm_site.models import Communication
from crm_site.registry import registry

from . import names, normalize
from .models import MatchKey

PERSON_FIELDS = ("last_name", "first_name", "middle_name")
MAX_VALUE = 255
_extractors = {}


def register_extractor(entity_key, fn):
    """`fn(row, comms, companies) -> set[(kind, value)]` replaces the introspected extractor for an entity."""
    _extractors[entity_key] = fn


@dataclass(frozen=True)
class Spec:
    entity_key: str
    person: tuple  # person name fields present on the model
    own_name: str  # a company-like record's own name field ("name") or ""
    company_name: str  # a free-text company field ("company_name") or ""
    company_links: tuple  # m2m/fk fields to records that have a `name`
    plain: tuple  # (kind, field) for tax_id, birthday, address, website
    has_channels: bool
    has_custom: bool = False  # the model has the `custom_fields` JSON column

    @property
    def enabled(self):
        return bool(self.person or self.own_name)

    @property
    def fields(self):
        fields = self.person + tuple(f for f in (self.own_name, self.company_name) if f) + tuple(
            f for _k, f in self.plain)
        if self.has_custom and criterion_fields(self.entity_key):  # read the JSON column only when needed
            fields += (CUSTOM_COLUMN,)
        return fields


@cache
def spec_for(entity_key):
    entity = registry[entity_key]
    model = entity.model
    names = {f.name for f in model._meta.get_fields()}
    person = tuple(f for f in PERSON_FIELDS if f in names)
    own_name = "name" if not person and "name" in names else ""
    links = []
    if person:
        for field in model._meta.get_fields():
            if (field.many_to_many or field.many_to_one) and not field.auto_created and field.related_model:
                related = field.related_model
                if any(f.name == "name" for f in related._meta.get_fields()) and _registered(related):
                    links.append(field.name)
    plain = []
    for kind, field in (("tax_id", "tax_id"), ("kpp", "kpp"), ("birthday", "birthday"), ("address", "address"),
                        ("domain", "website"), ("position", "position")):
        if field in names:
            plain.append((kind, field))
    return Spec(entity_key, person, own_name, "company_name" if "company_name" in names else "", tuple(links),
                tuple(plain), entity.has_channels, CUSTOM_COLUMN in names)


# ---------------------------------------------------------------------------
# Custom fields that find duplicates

CUSTOM = "custom"  # MatchKey.Kind.CUSTOM
CUSTOM_COLUMN = "custom_fields"


def criterion_fields(entity_key):
    """The entity's custom fields marked "finds duplicates", in card order (definitions are cached per process
    and dropped on every change of one, so this costs nothing per call)."""
    from crm_site.customfields.registry import definitions

    return [field for field in definitions(entity_key) if field.duplicate_criterion and field.kind.match_kind]


def custom_match_values(field, value):
    """The normalised values of one custom field's value (several when it holds a list). Typed input is first
    read as the field stores it (`0123` as the integer 123, a phone in E.164); what it can't read yet (a number
    half typed) is normalised as it is."""
    from . import normalize

    out = []
    for item in value if isinstance(value, list) else [value]:
        if item in (None, "", [], {}):
            continue
        try:
            item = field.kind.clean_one(field, item)
        except (ValidationError, TypeError, ValueError):
            pass
        key = normalize.custom_key(field.kind.match_kind, item)
        if key and key not in out:
            out.append(key)
    return out


def custom_keys(field, value):
    """(kind, value) keys of one custom field's value."""
    return {(CUSTOM, f"{field.code}:{key}"[:MAX_VALUE]) for key in custom_match_values(field, value)}


def split_custom(value):
    """(code, normalised value) of a `custom` key's value."""
    code, _sep, rest = (value or "").partition(":")
    return code, rest


def _custom_keys_of_row(entity_key, row):
    data = row.get(CUSTOM_COLUMN)
    if not data or not isinstance(data, dict):  # most records: no custom value at all
        return set()
    keys = set()
    for field in criterion_fields(entity_key):
        keys |= custom_keys(field, data.get(field.code))
    return keys


def _registered(model):
    try:
        registry.for_model(model)
        return True
    except KeyError:
        return False


def keys_from_values(spec, row, comms=(), companies=()):
    """Keys of one record from its field values, (channel, normalized, value) rows and linked company names."""
    if spec.entity_key in _extractors:
        return _extractors[spec.entity_key](row, comms, companies) | _custom_keys_of_row(spec.entity_key, row)
    keys = _custom_keys_of_row(spec.entity_key, row) if spec.has_custom else set()
    if spec.person:
        name = normalize.name_key(*(row.get(f) for f in spec.person if f != "middle_name"))
        if name:
            keys.add(("name", name))
            keys.update(("name_block", block) for block in normalize.name_blocks(name))
        person = person_value(*(row.get(f) or "" for f in PERSON_FIELDS))
        if person:
            keys.add(("person", person))
            stem = names.surname_stem(row.get("last_name") or "")
            if stem:
                keys.add(("surname", stem))
    if spec.own_name:
        company = normalize.company_key(row.get(spec.own_name))
        if company:
            keys.add(("company", company))
    for company_name in [row.get(spec.company_name)] if spec.company_name else []:
        company = normalize.company_key(company_name)
        if company:
            keys.add(("company", company))
    for company_name in companies:
        company = normalize.company_key(company_name)
        if company:
            keys.add(("company", company))
    for kind, field in spec.plain:
        value = row.get(field)
        if kind == "tax_id":
            value = normalize.tax_id_key(value)
            value = value if len(value) >= 8 else ""
        elif kind == "birthday":
            value = value.isoformat() if value else ""
        elif kind == "address":
            value = normalize.address_key(value)
            value = value if len(value) >= 6 else ""
        elif kind == "domain":
            value = normalize.domain_key(value)
        elif kind == "kpp":
            value = normalize.tax_id_key(value)
        elif kind == "position":
            value = " ".join(normalize.name_tokens(value or ""))
        if value:
            keys.add((kind, value))
    for channel, normalized, raw in comms:
        if channel == Communication.Channel.PHONE:
            # The stored E.164 form, unless the default region could not have read it (no +, or +7 0…).
            plausible = normalized.startswith("+") and not normalized.startswith("+70")
            value = normalized if plausible else normalize.phone_key(raw)
        elif channel == Communication.Channel.EMAIL:
            value = normalize.email_key(normalized)
            if value:
                keys.add(("email_domain", value.rsplit("@", 1)[1]))
        elif channel == Communication.Channel.WEB:
            value = normalize.domain_key(raw)
            channel = "domain"
        else:
            continue
        if value:
            keys.add((str(channel), value))
    return {(kind, value[:MAX_VALUE]) for kind, value in keys}


@lru_cache(maxsize=200_000)  # the same names recur in a file and a base
def person_value(last="", first="", middle=""):
    """The `person` key: the name parts as typed (spaces tidied, each at most 80 characters) and the gender
    read from them, `Иванова|Мария|Петровна|f`. Scoring compares the parts one by one and shows them in its
    reasons; the gender is worked out once here (pymorphy3), not at every comparison."""
    parts = [" ".join(str(p or "").replace("|", " ").split())[:80] for p in (last, first, middle)]
    if not any(parts):
        return ""
    return "|".join([*parts, names.gender(*parts)])


def split_person(value):
    """(last, first, middle, gender) of a `person` key."""
    parts = (value or "").split("|")
    return tuple(parts + [""] * (4 - len(parts)))[:4]


def record_keys(obj):
    """Keys of one saved record (reads its current channels and company links)."""
    spec = spec_for(type(obj).entity().key)
    if not spec.enabled:
        return set()
    row = {f: getattr(obj, f) for f in spec.fields}
    comms = []
    if spec.has_channels:
        comms = list(Communication.objects.filter(content_type=ContentType.objects.get_for_model(obj),
                                                  object_id=obj.pk).values_list("channel", "normalized", "value"))
    companies = []
    for link in spec.company_links:
        companies += [n for n in type(obj).objects.filter(pk=obj.pk).values_list(f"{link}__name", flat=True) if n]
    return keys_from_values(spec, row, comms, companies)


@transaction.atomic
def keys_refresh(obj):
    """Rewrite one record's keys; a record in the bin has none (so it never matches)."""
    content_type = ContentType.objects.get_for_model(obj)
    MatchKey.objects.filter(content_type=content_type, object_id=obj.pk).delete()
    if getattr(obj, "deleted_at", None) is not None:
        return set()
    keys = record_keys(obj)
    MatchKey.objects.bulk_create(
        [MatchKey(content_type=content_type, object_id=obj.pk, kind=k, value=v) for k, v in sorted(keys)]
    )
    return keys


def keys_refresh_many(model, objs, *, created=False):
    """Rewrite the keys of many records of one model in a few queries (a batch of the write services): binned
    ones lose theirs; a company-like record renamed rewrites the keys of the records linked to it as well.
    `created`: the records are new, so they have no keys to delete."""
    entity_key = model.entity().key
    spec = spec_for(entity_key)
    binned = [obj.pk for obj in objs if getattr(obj, "deleted_at", None) is not None]
    live = [obj for obj in objs if getattr(obj, "deleted_at", None) is None]
    if binned:
        keys_remove_many(model, binned)
    if not live or not spec.enabled:
        return
    content_type = ContentType.objects.get_for_model(model)
    before = {}
    if spec.own_name and not created:
        before = dict(MatchKey.objects.filter(content_type=content_type, object_id__in=[obj.pk for obj in live],
                                              kind=MatchKey.Kind.COMPANY).values_list("object_id", "value"))
    keys_rebuild(entity_key, queryset=model.objects.filter(pk__any=[obj.pk for obj in live]), analyze=False,
                 fresh=created)
    renamed = [obj for obj in live if spec.own_name and before.get(obj.pk, "") != (own_company_key(obj) or "")]
    if renamed:
        for entity in registry:
            for link in spec_for(entity.key).company_links:
                if entity.model._meta.get_field(link).related_model is model:
                    keys_rebuild(entity.key, queryset=entity.model.objects.filter(**{f"{link}__in": renamed}).distinct(),
                                 analyze=False)


def keys_refresh_linked(company):
    """A company-like record renamed: its name is in the keys of the records linked to it (a contact's
    companies), so rewrite theirs too, set-based whatever their number."""
    for entity in registry:
        spec = spec_for(entity.key)
        for link in spec.company_links:
            if entity.model._meta.get_field(link).related_model is type(company):
                keys_rebuild(entity.key, queryset=entity.model.objects.filter(**{link: company}), analyze=False)


def own_company_key(obj):
    """The "company" key a company-like record has for its own name (None for others)."""
    spec = spec_for(type(obj).entity().key)
    return normalize.company_key(getattr(obj, spec.own_name)) if spec.own_name else None


def stored_company_key(obj):
    """A company-like record's "company" key as stored now ("" for none, None for records that have no own name)."""
    if own_company_key(obj) is None:
        return None
    stored = MatchKey.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk,
                                     kind=MatchKey.Kind.COMPANY).values_list("value", flat=True)
    return min(stored, default="")


def keys_remove(obj):
    keys_remove_many(type(obj), [obj.pk])


def keys_remove_many(model, ids):
    MatchKey.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id__in=ids).delete()


# ---------------------------------------------------------------------------
# Bulk rebuild: set-based reads per chunk, COPY on PostgreSQL.


def keys_rebuild(entity_key, *, queryset=None, chunk=20_000, progress=None, analyze=True, fresh=False):
    """Recompute the keys of every live record of an entity (or of `queryset`); returns the number of keys.
    `fresh`: the records have no keys yet (just created), so none are deleted first."""
    spec = spec_for(entity_key)
    model = registry[entity_key].model
    content_type = ContentType.objects.get_for_model(model)
    queryset = model.objects.all() if queryset is None else queryset
    with transaction.atomic():
        if fresh:
            pass
        elif queryset.query.where:
            ids = queryset.values("pk")
            MatchKey.objects.filter(content_type=content_type, object_id__in=ids).delete()
        else:
            MatchKey.objects.filter(content_type=content_type).delete()
        if not spec.enabled:
            return 0
        total = done = 0
        count = queryset.count() if progress else None
        last = 0
        while True:
            # Keyset chunks by pk ranges: no huge IN lists, each side table read once per chunk.
            rows = list(queryset.filter(pk__gt=last).order_by("pk").values("pk", *spec.fields)[:chunk])
            if not rows:
                break
            low, last = rows[0]["pk"], rows[-1]["pk"]
            in_chunk = queryset.filter(pk__gte=low, pk__lte=last)
            comms, companies = {}, {}
            if spec.has_channels:
                # A sparse chunk (an import's merge targets, spread over the base) reads its own records' channels,
                # not every channel in its id range.
                dense = last - low < 4 * len(rows)
                where = ({"object_id__gte": low, "object_id__lte": last} if dense
                         else {"object_id__any": [row["pk"] for row in rows]})
                for object_id, *comm in Communication.objects.filter(
                    content_type=content_type, **where
                ).values_list("object_id", "channel", "normalized", "value"):
                    comms.setdefault(object_id, []).append(comm)
            for link in spec.company_links:
                for pk, name in in_chunk.filter(**{f"{link}__isnull": False}).values_list("pk", f"{link}__name"):
                    if name:
                        companies.setdefault(pk, []).append(name)
            out = []
            content_type_id = content_type.pk
            for row in rows:
                pk = row["pk"]
                for kind, value in keys_from_values(spec, row, comms.get(pk, ()), companies.get(pk, ())):
                    out.append((content_type_id, pk, kind, value))
            _write_keys(out)
            total += len(out)
            done += len(rows)
            if progress:
                progress(done, count)
        if analyze and connection.vendor == "postgresql":  # fresh statistics, or the scan's plans go wrong
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {MatchKey._meta.db_table}")
        return total


def _write_keys(rows):
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = MatchKey._meta.db_table
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} (content_type_id, object_id, kind, value) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    MatchKey.objects.bulk_create(
        [MatchKey(content_type_id=ct, object_id=pk, kind=kind, value=value) for ct, pk, kind, value in rows],
        batch_size=2000,
    )


def keys_rebuild_custom(entity_key, codes, *, chunk=20_000):
    """The keys of custom fields `codes` rewritten after their definition changed (marked or unmarked, a new
    code, a widened type, values converted or removed, the field deleted): every such key goes, then the live
    records holding a value of a field that finds duplicates now get theirs. Returns the number written."""
    if entity_key not in registry:
        return 0
    model = registry[entity_key].model
    content_type = ContentType.objects.get_for_model(model)
    fields = {field.code: field for field in criterion_fields(entity_key)} if spec_for(entity_key).enabled else {}
    total = 0
    with transaction.atomic():
        for code in codes:
            MatchKey.objects.filter(content_type=content_type, kind=CUSTOM, value__startswith=f"{code}:").delete()
        for code in codes:
            field = fields.get(code)
            if field is None:
                continue
            holding = model.objects.filter(**{f"{CUSTOM_COLUMN}__has_key": code})
            last = 0
            while True:
                rows = list(holding.filter(pk__gt=last).order_by("pk").values_list("pk", CUSTOM_COLUMN)[:chunk])
                if not rows:
                    break
                last = rows[-1][0]
                out = [(content_type.pk, pk, kind, value) for pk, data in rows
                       for kind, value in sorted(custom_keys(field, (data or {}).get(code)))]
                _write_keys(out)
                total += len(out)
    return total


def enabled_entities():
    return [entity.key for entity in registry if spec_for(entity.key).enabled]


_current = set()  # entities whose stored keys are known to be of this version (checked once per process)


def ensure_current(entity_key):
    """Keys written before the scoring engine (issue 18) have no `person` key, so names could not be compared
    and "same phone, different person" would go unseen: rebuild them once, the first time they are needed."""
    if entity_key in _current:
        return
    spec = spec_for(entity_key)
    if spec.person:
        content_type = ContentType.objects.get_for_model(registry[entity_key].model)
        stored = MatchKey.objects.filter(content_type=content_type)
        if stored.filter(kind=MatchKey.Kind.NAME).exists() and not stored.filter(kind=MatchKey.Kind.PERSON).exists():
            keys_rebuild(entity_key)
    _current.add(entity_key)
