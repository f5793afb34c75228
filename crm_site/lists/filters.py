"""The filter panel: filter definitions from pluggable sources, built into one django-filter FilterSet.

The protocol (what a source gives, e.g. the custom field types of `crm_site.customfields`):

    def my_source(entity, user):          # registered with register_filter_source(my_source)
        yield FilterDef(name="cf_car_model", label="Car model", field="cf_car_model",
                        filter=JSONContainsFilter(key="car_model"))

- `name`: the URL parameter (a filter with several inputs adds suffixes: `amount_min`, `created_at_days`);
  unique per entity; a custom field's is `cf_<code>`.
- `label`: shown in the panel.
- `filter`: a `django_filters.Filter` instance (the classes below cover text, number and date ranges with
  presets, any-of lists, yes/no and JSON containment; any django-filter Filter works).
- `field`: the field-rule name (access.fields); a field the user's roles hide gets no filter.
- `group`: "main" (shown first) or "more".

Filters live in the URL (GET parameters), so a link reproduces the list; `entity_filterset()` in
`crm_site.selectors` builds the FilterSet from every source.
"""

import datetime
from dataclasses import dataclass

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_filters.widgets import SuffixedMultiWidget

from ..display import field_label


@dataclass
class FilterDef:
    name: str
    label: object
    filter: object
    field: str = ""
    group: str = "main"


_SOURCES = []


def register_filter_source(source):
    """Add a callable(entity, user) -> iterable of FilterDef (called for each list request)."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def filter_definitions(entity, user, hidden=()):
    """Every source's filters for `entity`, without those on fields the user's roles hide."""
    found = {}
    for source in [standard_filters, *_SOURCES]:
        for definition in source(entity, user) or ():
            if definition.field and definition.field in hidden:
                continue
            definition.filter.label = capfirst(definition.label)
            found.setdefault(definition.name, definition)
    return list(found.values())


# ---------------------------------------------------------------------------
# Filter kinds


ANY = _("any")


class TextOpWidget(SuffixedMultiWidget):
    template_name = "lists/widgets/filter_multi.html"
    suffixes = ["op", ""]

    def __init__(self, attrs=None):
        super().__init__((forms.Select(choices=()), forms.TextInput(attrs={"placeholder": _("text")})), attrs)

    def decompress(self, value):
        return list(value) if value else [None, None]


class TextOpField(forms.MultiValueField):
    OPS = (("contains", _("contains")), ("equals", _("equals")), ("empty", _("is empty")),
           ("filled", _("is filled")))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", TextOpWidget)
        fields = (forms.ChoiceField(choices=self.OPS, required=False), forms.CharField(required=False, max_length=200))
        kwargs["required"] = False
        super().__init__(fields, *args, require_all_fields=False, **kwargs)
        self.widget.widgets[0].choices = self.OPS

    def compress(self, data_list):
        if not data_list:
            return None
        op, text = (data_list + [None, None])[:2]
        op, text = op or "contains", (text or "").strip()
        if op in ("contains", "equals") and not text:
            return None
        return (op, text)


class TextFilter(django_filters.Filter):
    """Text contains / equals / is empty / is filled. `through_subquery`: the path crosses a to-many relation
    (a contact's companies), so it is matched as `pk IN (…)` and no row repeats."""

    field_class = TextOpField

    def __init__(self, *args, through_subquery=False, **kwargs):
        self.through_subquery = through_subquery
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        op, text = value
        name = self.field_name
        if op == "equals":
            condition = Q(**{f"{name}__iexact": text})
        elif op in ("empty", "filled"):
            condition = Q(**{name: ""}) | Q(**{f"{name}__isnull": True})
        else:
            condition = Q(**{f"{name}__icontains": text})
        if self.through_subquery:
            base = qs.model._base_manager
            if op in ("empty", "filled"):
                filled = base.filter(**{f"{name}__gt": ""}).order_by().values("pk")
                return qs.exclude(pk__in=filled) if op == "empty" else qs.filter(pk__in=filled)
            return qs.filter(pk__in=base.filter(condition).order_by().values("pk"))
        if op == "filled":
            return qs.exclude(condition)
        return qs.filter(condition)


class NumberRangeFilter(django_filters.RangeFilter):
    """From / to (`amount_min`, `amount_max`); either may be left out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra["widget"] = NumberRangeWidget()


class NumberRangeWidget(django_filters.widgets.RangeWidget):
    template_name = "lists/widgets/filter_multi.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.widgets[0].attrs.update({"placeholder": pgettext_lazy("range", "from"), "inputmode": "decimal"})
        self.widgets[1].attrs.update({"placeholder": pgettext_lazy("range", "to"), "inputmode": "decimal"})


DATE_PRESETS = (
    ("", ANY),
    ("today", _("today")),
    ("yesterday", _("yesterday")),
    ("week", _("this week")),
    ("month", _("this month")),
    ("last_month", _("last month")),
    ("year", _("this year")),
    ("days", _("last N days")),
    ("range", _("between dates")),
    ("empty", _("not set")),
)


class DatePresetWidget(SuffixedMultiWidget):
    template_name = "lists/widgets/filter_multi.html"
    suffixes = ["", "days", "after", "before"]

    def __init__(self, attrs=None):
        super().__init__((
            forms.Select(choices=DATE_PRESETS, attrs={"data-date-preset": ""}),
            forms.NumberInput(attrs={"placeholder": _("days"), "min": 1, "max": 3660, "class": "days-input"}),
            forms.DateInput(attrs={"type": "date", "aria-label": pgettext_lazy("range", "from")}, format="%Y-%m-%d"),
            forms.DateInput(attrs={"type": "date", "aria-label": pgettext_lazy("range", "to")}, format="%Y-%m-%d"),
        ), attrs)

    def decompress(self, value):
        return list(value) if value else [None, None, None, None]


class DatePresetField(forms.MultiValueField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", DatePresetWidget)
        fields = (forms.ChoiceField(choices=DATE_PRESETS, required=False),
                  forms.IntegerField(min_value=1, max_value=3660, required=False),
                  forms.DateField(required=False), forms.DateField(required=False))
        kwargs["required"] = False
        super().__init__(fields, *args, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list:
            return None
        preset, days, after, before = (list(data_list) + [None] * 4)[:4]
        if not preset and (after or before):
            preset = "range"
        if not preset or (preset == "days" and not days) or (preset == "range" and not (after or before)):
            return None
        return (preset, days, after, before)


def preset_dates(preset, days=None, after=None, before=None, today=None):
    """(first day, last day) of a preset, either end None for open; today in the current time zone."""
    today = today or timezone.localdate()
    if preset == "today":
        return today, today
    if preset == "yesterday":
        day = today - datetime.timedelta(days=1)
        return day, day
    if preset == "week":
        return today - datetime.timedelta(days=today.weekday()), today + datetime.timedelta(days=6 - today.weekday())
    if preset == "month":
        first = today.replace(day=1)
        next_first = (first + datetime.timedelta(days=32)).replace(day=1)
        return first, next_first - datetime.timedelta(days=1)
    if preset == "last_month":
        last = today.replace(day=1) - datetime.timedelta(days=1)
        return last.replace(day=1), last
    if preset == "year":
        return today.replace(month=1, day=1), today.replace(month=12, day=31)
    if preset == "days":
        return today - datetime.timedelta(days=int(days) - 1), today
    return after, before


class DatePresetFilter(django_filters.Filter):
    """A date or date-time field by preset (today, this week, last month, last N days…), between two dates, or
    not set. Date-times compare with the local midnight bounds, so the column's index serves the filter."""

    field_class = DatePresetField

    def filter(self, qs, value):
        if not value:
            return qs
        preset, days, after, before = value
        name = self.field_name
        if preset == "empty":
            return qs.filter(**{f"{name}__isnull": True})
        start, end = preset_dates(preset, days, after, before)
        model_field = qs.model._meta.get_field(name)
        is_datetime = isinstance(model_field, models.DateTimeField)
        if start:
            bound = _midnight(start) if is_datetime else start
            qs = qs.filter(**{f"{name}__gte": bound})
        if end:
            if is_datetime:
                qs = qs.filter(**{f"{name}__lt": _midnight(end + datetime.timedelta(days=1))})
            else:
                qs = qs.filter(**{f"{name}__lte": end})
        return qs


def _midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class PersonChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return person_name(obj)


def person_name(user):
    """A user as people call them: the full name, the login only when no name was given."""
    return (user.get_full_name() or "").strip() or user.get_username()


class AnyOfFilter(django_filters.ModelMultipleChoiceFilter):
    """Any of the ticked values (checkboxes, no Ctrl-click). A to-many field (tags) is matched as `pk IN (…)`,
    so a record with two ticked tags shows once and the list needs no DISTINCT."""

    def __init__(self, *args, to_many=False, **kwargs):
        self.to_many = to_many
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple(attrs={"class": "choice-list"}))
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        none = self.null_value in value  # "(none)" ticked: records without a value too (`?source=null`)
        ids = [getattr(item, "pk", item) for item in value if item != self.null_value]
        if none:
            return qs.filter(Q(**{f"{self.field_name}__in": ids}) | Q(**{f"{self.field_name}__isnull": True}))
        if self.to_many:
            matching = qs.model._base_manager.filter(**{f"{self.field_name}__in": ids}).order_by().values("pk")
            return qs.filter(pk__in=matching)
        return qs.filter(**{f"{self.field_name}__in": ids})


class PeopleFilter(AnyOfFilter):
    field_class = PersonChoiceField


class ChoicesAnyOfFilter(django_filters.MultipleChoiceFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple(attrs={"class": "choice-list"}))
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class YesNoFilter(django_filters.ChoiceFilter):
    """Yes / no, "any" when not chosen (never "Unknown" or "---------")."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", (("1", _("yes")), ("0", _("no"))))
        kwargs.setdefault("empty_label", ANY)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in ("1", "0"):
            return qs.filter(**{self.field_name: value == "1"})
        return qs


class JSONContainsFilter(django_filters.CharFilter):
    """A custom field's exact value (a list option, yes/no, a code): `custom_fields @> {"key": value}`, which the
    GIN index on `custom_fields` serves (crm_site.lists.indexes). `coerce` turns the typed text into the stored
    JSON value (int, bool…). Several values (`multiple=True`, checkboxes) match any of them."""

    def __init__(self, *args, key, coerce=None, multiple=False, choices=None, **kwargs):
        self.key, self.coerce, self.multiple = key, coerce, multiple
        kwargs.setdefault("field_name", "custom_fields")
        if choices is not None:
            self.field_class = forms.MultipleChoiceField if multiple else forms.ChoiceField
            kwargs["choices"] = choices if multiple else (("", ANY), *choices)
            if multiple:
                kwargs.setdefault("widget", forms.CheckboxSelectMultiple(attrs={"class": "choice-list"}))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        values = [v for v in (value if isinstance(value, (list, tuple)) else [value]) if v not in (None, "")]
        if not values:
            return qs
        condition = Q()
        for item in values:
            item = self.coerce(item) if self.coerce else item
            condition |= Q(**{f"{self.field_name}__contains": {self.key: item}})
        return qs.filter(condition)


class JSONRangeFilter(NumberRangeFilter):
    """A custom field's number from / to (`custom_fields -> key`, compared as JSON numbers)."""

    def __init__(self, *args, key, **kwargs):
        self.key = key
        kwargs.setdefault("field_name", "custom_fields")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        path = f"{self.field_name}__{self.key}"
        if value.start is not None:
            qs = qs.filter(**{f"{path}__gte": value.start})
        if value.stop is not None:
            qs = qs.filter(**{f"{path}__lte": value.stop})
        return qs


# ---------------------------------------------------------------------------
# The standard source: the entity's `filter_fields`, plus owner, department, created and updated


BASE_FILTERS = ("owner", "department", "created_at", "updated_at")


def standard_filters(entity, user):
    model = entity.model
    names = [*entity.filter_fields, *(name for name in BASE_FILTERS if name not in entity.filter_fields)]
    for name in names:
        definition = _field_filter(entity, model, name)
        if definition is not None:
            yield definition


def _field_filter(entity, model, name):
    path = entity.meta.get("filter_paths", {}).get(name, name)
    try:
        field = model._meta.get_field(path.split("__")[0])
    except Exception:
        return None
    label = field_label(model, name) if "__" not in path else entity.meta.get("filter_labels", {}).get(name, name)
    group = "more" if name in ("department", "created_at", "updated_at", "opened") else "main"
    rule_field = path.split("__")[0]
    if "__" in path:  # a related record's name: the company of a deal or of a contact
        return FilterDef(name, label, TextFilter(field_name=path, label=label,
                                                 through_subquery=field.many_to_many or field.one_to_many),
                         field=rule_field)
    if field.many_to_many:
        return FilterDef(name, label, AnyOfFilter(field_name=name, label=label, to_many=True,
                                                  queryset=field.related_model._default_manager.all()),
                         field=rule_field)
    if field.is_relation:
        related = field.related_model
        if related is get_user_model():
            people = related._default_manager.filter(is_active=True).order_by("last_name", "first_name", "username")
            return FilterDef(name, label, PeopleFilter(field_name=name, label=label, queryset=people),
                             field=rule_field)
        if _is_entity(related):
            return FilterDef(f"{name}_name", label, TextFilter(field_name=f"{name}__{_name_field(related)}",
                                                               label=label), field=rule_field)
        queryset = related._default_manager.all()
        if "pipeline" in {f.name for f in related._meta.get_fields()}:
            queryset = queryset.select_related("pipeline")
        none = {"null_label": _("(none)")} if field.null else {}
        return FilterDef(name, label, AnyOfFilter(field_name=name, label=label, queryset=queryset, **none),
                         field=rule_field, group=group)
    if field.choices:
        return FilterDef(name, label, ChoicesAnyOfFilter(field_name=name, label=label, choices=field.choices),
                         field=rule_field)
    if isinstance(field, models.BooleanField):
        return FilterDef(name, label, YesNoFilter(field_name=name, label=label), field=rule_field, group=group)
    if isinstance(field, (models.DateField, models.DateTimeField)):
        return FilterDef(name, label, DatePresetFilter(field_name=name, label=label), field=rule_field, group=group)
    if isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField)):
        return FilterDef(name, label, NumberRangeFilter(field_name=name, label=label), field=rule_field)
    if isinstance(field, (models.CharField, models.TextField)):
        return FilterDef(name, label, TextFilter(field_name=name, label=label), field=rule_field)
    return None


def _is_entity(model):
    from ..registry import registry

    try:
        registry.for_model(model)
    except KeyError:
        return False
    return True


def _name_field(model):
    names = {f.name for f in model._meta.get_fields()}
    return "name" if "name" in names else ("title" if "title" in names else "last_name")
