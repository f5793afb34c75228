"""Custom fields in the lists' filter panel and column picker (crm_site.lists, when installed): a filter source and
a column source built on this package's interface, registered in AppConfig.ready().

Each filter widget is the panel's own (text, number range, date presets, any-of, yes/no); the query is always
`CustomField.filter_queryset()`, so decimals and money (stored as strings) compare as numbers and equality uses
JSON containment (the GIN index)."""

import datetime


def register():
    try:
        from crm_site.lists import filters as panel
        from crm_site.lists import selectors as lists
    except ImportError:
        return
    if not all(hasattr(panel, name) for name in ("register_filter_source", "FilterDef", "TextFilter",
                                                  "NumberRangeFilter", "DatePresetFilter", "YesNoFilter")):
        return
    panel.register_filter_source(_filter_source(panel))
    if hasattr(lists, "register_column_source") and hasattr(lists, "ColumnDef"):
        lists.register_column_source(_column_source(lists))


def _filter_source(panel):
    import django_filters
    from django import forms

    class CustomText(django_filters.CharFilter):
        def __init__(self, *args, custom_field, **kwargs):
            self.custom_field = custom_field
            super().__init__(*args, **kwargs)

        def filter(self, qs, value):
            value = (value or "").strip()
            return self.custom_field.filter_queryset(qs, "contains", value) if value else qs

    class CustomRange(panel.NumberRangeFilter):
        def __init__(self, *args, custom_field, **kwargs):
            self.custom_field = custom_field
            super().__init__(*args, **kwargs)

        def filter(self, qs, value):
            if not value:
                return qs
            if value.start is not None:
                qs = self.custom_field.filter_queryset(qs, "gte", value.start)
            if value.stop is not None:
                qs = self.custom_field.filter_queryset(qs, "lte", value.stop)
            return qs

    class CustomDates(panel.DatePresetFilter):
        def __init__(self, *args, custom_field, **kwargs):
            self.custom_field = custom_field
            super().__init__(*args, **kwargs)

        def filter(self, qs, value):
            if not value:
                return qs
            preset, days, after, before = value
            field = self.custom_field
            if preset == "empty":
                return field.filter_queryset(qs, "empty", True)
            start, end = panel.preset_dates(preset, days, after, before)
            if field.type == "datetime":
                start = start and datetime.datetime.combine(start, datetime.time.min)
                end = end and datetime.datetime.combine(end, datetime.time.max)
            if start:
                qs = field.filter_queryset(qs, "gte", start)
            if end:
                qs = field.filter_queryset(qs, "lte", end)
            return qs

    class CustomYesNo(panel.YesNoFilter):
        def __init__(self, *args, custom_field, **kwargs):
            self.custom_field = custom_field
            super().__init__(*args, **kwargs)

        def filter(self, qs, value):
            if value in ("1", "0"):
                return self.custom_field.filter_queryset(qs, "exact", value == "1")
            return qs

    class CustomAnyOf(django_filters.MultipleChoiceFilter):
        def __init__(self, *args, custom_field, **kwargs):
            self.custom_field = custom_field
            kwargs.setdefault("widget", forms.CheckboxSelectMultiple(attrs={"class": "choice-list"}))
            super().__init__(*args, **kwargs)

        def filter(self, qs, value):
            values = [item for item in (value or []) if item not in (None, "")]
            return self.custom_field.filter_queryset(qs, "in", values) if values else qs

    def source(entity, user):
        from .registry import filterable_definitions

        for field in filterable_definitions(user, entity.key):
            label = field.label
            options = {"custom_field": field, "field_name": "custom_fields", "label": label}
            if field.type in ("integer", "decimal", "money"):
                made = CustomRange(**options)
            elif field.type in ("date", "datetime"):
                made = CustomDates(**options)
            elif field.type == "boolean":
                made = CustomYesNo(**options)
            elif field.type == "choice":
                made = CustomAnyOf(choices=field.choices, **options)
            elif field.type in ("text", "long_text", "url", "email", "phone"):
                made = CustomText(**options)
            else:
                continue  # files, links and users: not in the panel yet
            yield panel.FilterDef(name=field.name, label=label, filter=made, field=field.name, group="more")

    return source


def _column_source(lists):
    def source(entity, user):
        from .registry import visible_definitions

        for field in visible_definitions(user, entity.key):
            yield lists.ColumnDef(name=field.name, label=field.label, field=field.name,
                                  cell=lambda obj, field=field: field.list_cell(obj, user)["value"])

    return source
