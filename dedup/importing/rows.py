"""Raw rows -> `MappedRow`s: typed field values, normalised phones and emails, links to find, custom fields, and
the row's issues. Nothing is written: phase B stages these rows, matches them and applies them.

    mapper = RowMapper("contact", mapping, locale=guess_file_locale(parsed, mapping), defaults=ImportDefaults(
        owner=request.user.pk, tags=("import 2025",)))
    for row in mapper.rows(parsed):
        row.number, row.data, row.channels, row.links, row.custom, row.issues

The mapping is compiled once into one small function per mapped target, so each row costs a loop over those
functions; phones take `values.normalize_phone`'s fast path.
"""

from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.exceptions import FieldDoesNotExist
from django.utils import translation

from crm_site.models import Communication
from crm_site.registry import registry

from .errors import ERROR, WARNING, RowIssue
from .headers import kind_from_label
from .lookups import ListLookup, UserLookup
from .names import split_full_name
from .targets import PERSON_FIELDS, targets_by_key, value_type
from .values import (
    BadValue,
    as_text,
    clean_email,
    clean_url,
    guess_locale,
    normalize_phone,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_integer,
    split_values,
)

# Several columns into one field: long text fields join them (with this, per field), short ones take the
# first filled column.
JOINERS = {"address": ", ", "legal_address": ", "}
TEXT_JOINER = "\n"
# Google writes its own system labels among the user's ("* myContacts", "* starred"): not tags.
SYSTEM_TAG_PREFIX = "* "


class Channel(NamedTuple):
    channel: str  # "phone" | "email" | "messenger" | "web"
    kind: str
    value: str  # as the file wrote it
    normalized: str  # as Communication.normalized stores it (E.164 for phones)


_new_tuple = tuple.__new__  # Channel(...) through its generated __new__ costs twice as much, once per phone


@dataclass(slots=True)
class MappedRow:
    number: int
    data: dict = field(default_factory=dict)  # field name -> value (a primary key for lists and users,
    # a list of names for tags)
    channels: list = field(default_factory=list)  # Channel, duplicates within the row dropped
    links: dict = field(default_factory=dict)  # link name -> [{"name": ..., "tax_id": ..., "phone": ...}]
    custom: dict = field(default_factory=dict)  # custom field key -> value
    issues: list = field(default_factory=list)  # RowIssue
    defaulted: set = field(default_factory=set)  # data keys filled from ImportDefaults, not from the file
    raw: list = field(default_factory=list)  # the file's cells as read (staged with the row for its report)

    @property
    def has_errors(self):
        return any(issue.level == ERROR for issue in self.issues)

    def as_json(self):
        """A JSON-friendly dict (dates, decimals and sets as strings or lists), e.g. for a staging table."""
        return {
            "number": self.number, "data": {k: _json(v) for k, v in self.data.items()},
            "channels": [list(channel) for channel in self.channels], "links": self.links,
            "custom": {k: _json(v) for k, v in self.custom.items()},
            "issues": [issue.as_json() for issue in self.issues], "defaulted": sorted(self.defaulted),
        }


def row_match_keys(entity, row):
    """The dedup match keys of a mapped row, computed exactly as for a saved record (dedup.keys), so phase B can
    match file rows against the base and against each other: (kind, value) pairs."""
    from dedup.keys import keys_from_values, spec_for

    key = entity if isinstance(entity, str) else entity.key
    spec = spec_for(key)
    if not spec.enabled:
        return set()
    comms = [(channel.channel, channel.normalized, channel.value) for channel in row.channels]
    companies = [link["name"] for name in spec.company_links for link in row.links.get(name, ()) if link.get("name")]
    data = {**row.data, "custom_fields": row.custom} if row.custom else row.data  # custom fields finding duplicates
    return keys_from_values(spec, data, comms, companies)


def _json(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    return str(value)


@dataclass(frozen=True)
class ImportDefaults:
    """Values for fields the file doesn't give (unmapped, or empty in a row): the responsible user, source,
    tags, "open to everyone", and any other field by name in `fields`. Primary keys for lists and users."""

    owner: int | None = None
    source: int | None = None
    tags: tuple = ()
    opened: bool | None = None
    fields: dict = field(default_factory=dict)

    def values(self):
        values = dict(self.fields)
        for name in ("owner", "source", "opened"):
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        if self.tags:
            values["tags"] = list(self.tags)
        return values

    def as_json(self):
        return {"owner": self.owner, "source": self.source, "tags": list(self.tags), "opened": self.opened,
                "fields": self.fields}

    @classmethod
    def from_json(cls, data):
        data = data or {}
        return cls(owner=data.get("owner"), source=data.get("source"), tags=tuple(data.get("tags") or ()),
                   opened=data.get("opened"), fields=dict(data.get("fields") or {}))


# ---------------------------------------------------------------------------


class RowMapper:
    def __init__(self, entity, mapping, *, locale, defaults=None):
        self.entity = registry[entity] if isinstance(entity, str) else entity
        self.mapping = mapping
        self.locale = locale
        self.region = locale.phone_region
        self.defaults = defaults or ImportDefaults()
        targets = targets_by_key(self.entity)
        self.headers = {column.index: column.header for column in mapping.columns}
        grouped = {}
        for column in mapping.columns:
            if column.target in targets:
                grouped.setdefault(column.target, []).append(column)
        self._default_values = {name: value for name, value in self.defaults.values().items()
                                if self._has_field(name)}
        # Scope fields (a deal's pipeline) before the fields they narrow (its stage); the full name last, so it
        # fills only the name parts no column gave.
        order = sorted(grouped, key=lambda key: (key == "special:full_name", self._is_scoped(targets[key])))
        self._steps = [self._compile(targets[key], grouped[key]) for key in order]

    def _has_field(self, name):
        try:
            self.entity.model._meta.get_field(name)
            return True
        except FieldDoesNotExist:
            return False

    def _is_scoped(self, target):
        return target.kind == "field" and value_type(target) == "lookup" and ListLookup(
            target.field, self.entity.model).scope_field is not None

    def rows(self, parsed):
        """Every data row of `parsed` (a ParsedFile), mapped."""
        for raw in parsed.rows():
            yield self.map(raw)

    def map(self, raw):
        row = MappedRow(raw.number, {}, [], {}, {}, list(raw.issues), set())
        values = raw.values
        for step in self._steps:
            step(values, row)
        if self._default_values:
            data = row.data
            for name, value in self._default_values.items():
                if name not in data:
                    data[name] = value
                    row.defaulted.add(name)
        return row

    # --- compiling one target into a step(values, row)

    def _compile(self, target, columns):
        kind = value_type(target)
        if target.kind == "channel":
            return self._channel_step(target, columns)
        if target.kind == "link":
            return self._link_step(target, columns)
        if target.kind == "special":
            return self._full_name_step(columns)
        if target.kind == "custom":
            return self._custom_step(target, columns)
        return getattr(self, f"_{kind}_step")(target, columns)

    def _issue(self, row, code, column, level=ERROR, **params):
        row.issues.append(RowIssue(row=row.number, code=code, params=params, level=level,
                                   column=self.headers.get(column)))

    def _cells(self, values, columns):
        """(column index, text) of the filled cells; grouped columns: only the first group with a value."""
        cells = []
        group = None
        for column in columns:
            text = as_text(values[column.index]).strip()
            if not text:
                continue
            if group is None:
                group = column.group
            elif column.group != group:
                continue
            cells.append((column.index, text))
        return cells

    def _first(self, values, columns):
        for column in columns:
            value = values[column.index]
            if value is not None and (not isinstance(value, str) or value.strip()):
                return column.index, value
        return None, None

    def _text_step(self, target, columns):
        name = target.field.name
        limit = target.field.max_length
        long_text = target.field.get_internal_type() == "TextField"
        joiner = JOINERS.get(name, TEXT_JOINER)
        single = len(columns) == 1 and not long_text
        index0 = columns[0].index

        def step(values, row):
            if single:
                text = values[index0]
                if text.__class__ is not str:
                    text = as_text(text)
                if not text:
                    return
                text = " ".join(text.split())
                if not text:
                    return
                index = index0
            else:
                cells = self._cells(values, columns)
                if not cells:
                    return
                index = cells[0][0]
                if long_text:
                    text = joiner.join(value for _i, value in cells)
                else:
                    text = " ".join(cells[0][1].split())
            if limit and len(text) > limit:
                self._issue(row, "too_long", index, limit=limit)
                return
            row.data[name] = text

        return step

    def _parsed_step(self, target, columns, parse):
        name = target.field.name

        def step(values, row):
            index, value = self._first(values, columns)
            if index is None:
                return
            try:
                parsed = parse(value)
            except BadValue as error:
                level = WARNING if error.code == "date_without_year" else ERROR
                self._issue(row, error.code, index, level=level, **error.params)
                return
            if parsed is not None:
                row.data[name] = parsed

        return step

    def _date_step(self, target, columns):
        locale = self.locale
        return self._parsed_step(target, columns, lambda value: parse_date(value, locale))

    def _datetime_step(self, target, columns):
        import datetime as dt

        from django.utils import timezone

        locale = self.locale

        def parse(value):
            if isinstance(value, dt.datetime):
                return value if timezone.is_aware(value) else timezone.make_aware(value)
            day = parse_date(value, locale)
            return None if day is None else timezone.make_aware(dt.datetime.combine(day, dt.time()))

        return self._parsed_step(target, columns, parse)

    def _decimal_step(self, target, columns):
        field_ = target.field
        positive = _min_value(field_) == 0
        locale = self.locale
        return self._parsed_step(target, columns, lambda value: parse_decimal(
            value, locale, max_digits=field_.max_digits, decimal_places=field_.decimal_places, positive=positive))

    def _integer_step(self, target, columns):
        field_ = target.field
        positive = "Positive" in field_.get_internal_type() or _min_value(field_) == 0
        locale = self.locale
        return self._parsed_step(target, columns, lambda value: parse_integer(value, locale, positive=positive))

    def _bool_step(self, target, columns):
        return self._parsed_step(target, columns, parse_bool)

    def _choice_step(self, target, columns):
        field_ = target.field
        choices = {}
        for value, label in field_.flatchoices:
            for key in (value, *(_translated(label, language) for language in ("en", "ru", "uk"))):
                choices.setdefault(_choice_key(key), value)
        label = str(field_.verbose_name)

        def parse(value):
            found = choices.get(_choice_key(as_text(value)))
            if found is None:
                raise BadValue("unknown_choice", value=as_text(value)[:100], field=label)
            return found

        return self._parsed_step(target, columns, parse)

    def _lookup_step(self, target, columns):
        lookup = ListLookup(target.field, self.entity.model)
        name = target.field.name
        scope = lookup.scope_field
        required = not target.field.null and not target.field.has_default()

        def step(values, row):
            index, value = self._first(values, columns)
            if index is None:
                return
            try:
                found, found_scope = lookup.resolve(as_text(value).strip(), row.data.get(scope) if scope else None)
            except BadValue as error:
                self._issue(row, error.code, index, level=ERROR if required else WARNING, **error.params)
                return
            row.data[name] = found
            if scope and found_scope is not None and scope not in row.data:
                row.data[scope] = found_scope  # "Пилот" is a stage of the partners' pipeline: the deal's too

        return step

    def _user_step(self, target, columns):
        lookup = UserLookup()
        return self._parsed_step(target, columns, lambda value: lookup.resolve(as_text(value).strip()))

    def _tags_step(self, target, columns):
        name = target.field.name

        def step(values, row):
            tags, seen = [], set()
            for column in columns:
                for tag in split_values(values[column.index], "tag"):
                    key = tag.casefold()
                    if tag.startswith(SYSTEM_TAG_PREFIX) or key in seen:
                        continue
                    seen.add(key)
                    tags.append(tag[:60])
            if tags:
                row.data[name] = tags

        return step

    def _channel_step(self, target, columns):
        channel, default_kind = target.channel, target.channel_kind
        split_kind = {"phone": "phone", "email": "email", "web": "web"}.get(channel, "tag")
        kinds = {str(kind) for kind in Communication.KINDS_BY_CHANNEL[channel]}
        clean = self._cleaner(channel)
        entries = [(column.index, column.kind_column) for column in columns]

        def kind_of(values, kind_column):
            kind = kind_from_label(channel, values[kind_column], default_kind)
            return kind if kind in kinds else ("other" if "other" in kinds else default_kind)

        def step(values, row):
            channels = row.channels
            for index, kind_column in entries:
                cell = values[index]
                if not cell:
                    continue
                kind = default_kind if kind_column is None else kind_of(values, kind_column)
                for item in split_values(cell, split_kind):
                    cleaned = clean(item)
                    if cleaned.__class__ is str:  # an issue code: not a phone, not an email, too long
                        self._issue(row, cleaned, index, level=WARNING,
                                    **({"limit": 255} if cleaned == "too_long" else {"value": item[:100]}))
                        continue
                    value, normalized = cleaned
                    for known in channels:
                        if known[3] == normalized and known[0] == channel:
                            break  # the same number twice in the row
                    else:
                        channels.append(_new_tuple(Channel, (channel, kind, value, normalized)))

        return step

    def _cleaner(self, channel):
        """item -> (value, normalised), or an issue code."""
        region = self.region

        def phone(item):
            normalized = normalize_phone(item, region)
            if normalized is None:
                return "not_phone"
            return "too_long" if len(item) > 255 else (item, normalized)

        def email(item):
            cleaned = clean_email(item)
            if cleaned is None:
                return "not_email"
            return "too_long" if len(cleaned[0]) > 255 else cleaned

        def web(item):
            if len(item) > 255:
                return "too_long"
            return clean_url(item) or "not_url"

        def other(item):
            return "too_long" if len(item) > 255 else (item, item.casefold())

        return {"phone": phone, "email": email, "web": web}.get(channel, other)

    def _link_step(self, target, columns):
        """Each value describes one record to link: a name column adds them, an INN, id, phone or email column
        completes the first one that lacks it (so "Компания" + "ИНН" describe one company)."""
        name, attribute = target.name, target.attribute
        multi = target.multi and attribute == "name"
        region = self.region

        def step(values, row):
            for column in columns:
                cell = values[column.index]
                items = split_values(cell, "name") if multi else [as_text(cell).strip()]
                if not items or not items[0]:
                    continue
                links = row.links.setdefault(name, [])
                for item in items:
                    if attribute == "phone":
                        item = normalize_phone(item, region) or item
                    elif attribute == "email":
                        item = (clean_email(item) or (item, item.casefold()))[1]
                    item = item[:255]
                    for link in links:
                        if attribute not in link:
                            link[attribute] = item
                            break
                    else:
                        links.append({attribute: item})

        return step

    def _full_name_step(self, columns):
        present = [name for name in PERSON_FIELDS if self._has_field(name)]

        def step(values, row):
            index, value = self._first(values, columns)
            if index is None or all(name in row.data for name in present):
                return
            for name, part in zip(PERSON_FIELDS, split_full_name(as_text(value)), strict=True):
                if part and name in present and name not in row.data:
                    row.data[name] = part[:100]

        return step

    def _custom_step(self, target, columns):
        name, parse, locale = target.name, target.parse, self.locale

        def step(values, row):
            index, value = self._first(values, columns)
            if index is None:
                return
            try:
                parsed = parse(value, locale)
            except BadValue as error:
                self._issue(row, error.code, index, **error.params)
                return
            if parsed is not None:
                row.custom[name] = parsed

        return step


def _min_value(model_field):
    from django.core.validators import MinValueValidator

    for validator in model_field.validators:
        if isinstance(validator, MinValueValidator):
            return validator.limit_value
    return None


def _translated(label, language):
    with translation.override(language):
        return str(label)


def _choice_key(text):
    return " ".join(str(text).casefold().replace(".", " ").split())


def guess_file_locale(parsed, mapping, *, sample_size=200, region="", entity=None):
    """`values.guess_locale` on the file's first rows: the cells of the columns mapped to date and number
    fields."""
    targets = targets_by_key(entity or mapping.entity)
    date_columns, number_columns = [], []
    for column in mapping.columns:
        target = targets.get(column.target)
        if target is None or target.kind != "field":
            continue
        kind = value_type(target)
        if kind in ("date", "datetime"):
            date_columns.append(column.index)
        elif kind in ("decimal", "integer"):
            number_columns.append(column.index)
    dates, numbers = [], []
    for raw in parsed.sample(sample_size):
        dates.extend(raw.values[index] for index in date_columns)
        numbers.extend(raw.values[index] for index in number_columns)
    return guess_locale(headers=parsed.headers, date_samples=dates, number_samples=numbers,
                        delimiter=parsed.delimiter, region=region)
