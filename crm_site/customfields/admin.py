"""Admin screens: custom fields (with their options, fill rates, safe type changes, confirmed deletion) and card
layouts."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import indexes
from .models import CardLayout, CardSection, CustomField, CustomFieldChoice
from .types import TYPES, widening_choices


def _entity_choices():
    from crm_site.registry import registry

    return [(entity.key, str(entity.verbose_name_plural).capitalize()) for entity in registry]


def _condition_choices(entity_key):
    """("", "—") plus "stage:<id>" / "status:<id>": the ordered lists an entity's record moves through."""
    from crm_site.registry import registry

    choices = [("", "—")]
    if entity_key not in registry:
        return choices
    model = registry[entity_key].model
    for field in model._meta.concrete_fields:
        related = field.related_model
        if not field.many_to_one or related is None or hasattr(related, "entity"):
            continue
        if "order" not in {f.name for f in related._meta.concrete_fields}:
            continue
        for row in related._base_manager.all():
            choices.append((f"{field.name}:{row.pk}", f"{field.verbose_name}: {row}"
                            + (f" ({row.pipeline})" if hasattr(row, "pipeline") else "")))
    return choices


class CustomFieldForm(forms.ModelForm):
    required_from = forms.ChoiceField(label=_("Required from (a stage or a status) on"), required=False,
                                      help_text=_("Leave empty: required always (when “required” is ticked)."))

    class Meta:
        model = CustomField
        fields = ("entity", "code", "label", "type", "target_entity", "multiple", "help_text", "required", "unique",
                  "duplicate_criterion", "default", "regex", "min_value", "max_value", "error_message", "section", "order", "show_in_list",
                  "filterable", "show_when_field", "show_when_values")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.forms.fields import InvalidJSONInput

        self.fields["entity"].widget = forms.Select(choices=_entity_choices())
        for name in ("default", "show_when_values"):
            self.fields[name].widget.attrs.update(rows=2, cols=40)
        self.fields["default"].help_text = _("As the field stores it, in JSON: \"text\", 12, true, \"2026-12-31\", "
                                             "[\"option_code\"].")
        self.fields["show_when_field"].help_text = _("A field name, e.g. stage, type or cf_level.")
        if self.instance.default is None:
            self.initial["default"] = InvalidJSONInput("")
        self.fields["target_entity"].widget = forms.Select(choices=[("", "—"), *_entity_choices()])
        entity_key = self.instance.entity or (self.data.get("entity") if self.data else "") or ""
        if entity_key:
            self.fields["required_from"].choices = _condition_choices(entity_key)
        else:  # a new field: every record type's stages and statuses (checked against the type on save)
            from crm_site.registry import registry

            choices = [("", "—")]
            for entity in registry:
                choices += [item for item in _condition_choices(entity.key)[1:] if item not in choices]
            self.fields["required_from"].choices = choices
        if self.instance.required_from_field:
            self.initial["required_from"] = f"{self.instance.required_from_field}:{self.instance.required_from_id}"
        if self.instance.pk:
            self.fields["entity"].disabled = True
            self.fields["type"].choices = [(key, TYPES[key].label) for key in widening_choices(self.instance.type)]
            self.fields["type"].help_text = _("Only safe widenings: the stored values are converted.")

    def clean(self):
        cleaned = super().clean()
        choice = cleaned.get("required_from") or ""
        if choice:
            name, _sep, pk = choice.partition(":")
            if choice not in dict(_condition_choices(cleaned.get("entity") or self.instance.entity or "")):
                self.add_error("required_from", gettext("This record type has no such stage or status."))
                return cleaned
            self.instance.required_from_field, self.instance.required_from_id = name, int(pk)
        else:
            self.instance.required_from_field, self.instance.required_from_id = "", None
        return cleaned


class EntityFilter(admin.SimpleListFilter):
    title = _("record type")
    parameter_name = "entity"

    def lookups(self, request, model_admin):
        return _entity_choices()

    def queryset(self, request, queryset):
        return queryset.filter(entity=self.value()) if self.value() else queryset


class ChoiceInline(admin.TabularInline):
    model = CustomFieldChoice
    extra = 1
    fields = ("value", "label", "order", "is_active")


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    form = CustomFieldForm
    inlines = [ChoiceInline]
    list_display = ("label", "code", "entity_name", "type_name", "fill_rate", "required", "show_in_list",
                    "filter_index", "duplicate_criterion")
    list_filter = (EntityFilter, "type", "required", "filterable", "duplicate_criterion")
    search_fields = ("label", "code")
    ordering = ("entity", "order", "pk")
    fieldsets = (
        (None, {"fields": ("entity", "code", "label", "type", "target_entity", "multiple", "help_text")}),
        (_("Rules"), {"fields": ("required", "required_from", "unique", "default", "regex", "min_value",
                                 "max_value", "error_message")}),
        (_("Card and lists"), {"fields": ("section", "order", "show_in_list", "filterable", "show_when_field",
                                          "show_when_values")}),
        (_("Duplicates"), {"fields": ("duplicate_criterion",)}),
    )

    @admin.display(description=_("record type"), ordering="entity")
    def entity_name(self, obj):
        return dict(_entity_choices()).get(obj.entity, obj.entity)

    @admin.display(description=_("type"), ordering="type")
    def type_name(self, obj):
        label = str(TYPES[obj.type].label) if obj.type in TYPES else obj.type
        return f"{label}, {gettext('several values')}" if obj.multiple else label

    @admin.display(description=_("filled in"))
    def fill_rate(self, obj):
        rates = getattr(self, "_rates", {}).get(obj.entity)
        if rates is None:
            from .services import fill_rates

            by_entity = getattr(self, "_rates", {})
            codes = list(CustomField.objects.filter(entity=obj.entity).values_list("code", flat=True))
            by_entity[obj.entity] = rates = fill_rates(obj.entity, codes)
            self._rates = by_entity
        counts, total = rates
        filled = counts.get(obj.code, 0)
        percent = round(100 * filled / total) if total else 0
        return f"{filled} / {total} ({percent}%)"

    def get_list_display(self, request):
        from django.db import connection

        shown = super().get_list_display(request)
        return shown if connection.vendor == "postgresql" else [n for n in shown if n != "filter_index"]

    @admin.display(description=_("index"))
    def filter_index(self, obj):
        """Whether the expression index its filter reads is there (PostgreSQL builds it in the background)."""
        states = getattr(self, "_index_states", None)
        if states is None:
            self._index_states = states = indexes.field_states()
        return states.get(obj.pk, "—")

    def changelist_view(self, request, extra_context=None):
        self._rates = {}  # one aggregate query per record type on the page
        self._index_states = None
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        from .services import convert_values

        old = CustomField.objects.filter(pk=obj.pk).values("type", "code", "multiple").first() if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if old and (old["type"] != obj.type or old["code"] != obj.code or old["multiple"] != obj.multiple):
                count = convert_values(obj, old_type=old["type"], old_code=old["code"], old_multiple=old["multiple"],
                                       user=request.user)
                if old["code"] != obj.code:
                    from access.models import FieldRule

                    FieldRule.objects.filter(entity=obj.entity, field="cf_" + old["code"]).update(field=obj.name)
                messages.info(request, gettext("%(count)s records' values were converted.") % {"count": count})
            indexes.schedule_sync()

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if obj is not None:
            from .services import fill_rates

            counts, _total = fill_rates(obj.entity, [obj.code])
            extra_context["title"] = gettext("Delete the field “%(label)s” and its values in %(count)s records?") % {
                "label": obj.label, "count": counts.get(obj.code, 0)}
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        from access.models import FieldRule

        from .services import remove_values

        with transaction.atomic():
            remove_values(obj, user=request.user)
            FieldRule.objects.filter(entity=obj.entity, field=obj.name).delete()
            super().delete_model(request, obj)
            indexes.schedule_sync()

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class SectionInline(admin.TabularInline):
    model = CardSection
    extra = 1
    fields = ("title", "order", "fields")


class CardLayoutForm(forms.ModelForm):
    class Meta:
        model = CardLayout
        fields = ("entity", "pipeline")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].widget = forms.Select(choices=_entity_choices())


@admin.register(CardLayout)
class CardLayoutAdmin(admin.ModelAdmin):
    form = CardLayoutForm
    inlines = [SectionInline]
    list_display = ("__str__", "entity", "pipeline")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        from crm_site.registry import registry

        names = []
        for entity in registry:
            fields = [name for name, _label in entity.rule_fields() if "_" in name or name.isalpha()]
            names.append(f"{entity.key}: {', '.join(fields)}")
        context["subtitle"] = gettext("Field names to use: ") + " | ".join(names)
        return super().render_change_form(request, context, add, change, form_url, obj)
