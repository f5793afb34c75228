from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from crm_site.registry import registry

from .models import DuplicateGroup, DuplicateRule, MergeRecord, NotDuplicate, ScanRun, ScanSchedule


def _entity_choices():
    return [(e.key, e.verbose_name) for e in registry]


class DuplicateRuleForm(forms.ModelForm):
    entity = forms.ChoiceField(choices=_entity_choices)
    criteria = forms.MultipleChoiceField(choices=DuplicateRule.Criterion.choices, widget=forms.CheckboxSelectMultiple)
    match_against = forms.MultipleChoiceField(choices=_entity_choices, required=False,
                                              widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = DuplicateRule
        fields = ("entity", "criteria", "name_threshold", "match_against", "enabled", "possible_percent",
                  "duplicate_percent", "auto_merge_percent")


class ScanScheduleForm(forms.ModelForm):
    entity = forms.ChoiceField(choices=_entity_choices)

    class Meta:
        model = ScanSchedule
        fields = ("entity", "frequency")


@admin.register(DuplicateRule)
class DuplicateRuleAdmin(admin.ModelAdmin):
    """The rule and the scoring model's parameters: thresholds editable, the weights shown as estimated
    (`manage.py estimate_match_weights ENTITY` re-estimates them; empty = built-in defaults)."""

    form = DuplicateRuleForm
    list_display = ("entity", "criteria", "possible_percent", "duplicate_percent", "auto_merge_percent", "enabled",
                    "estimated_at")
    list_editable = ("possible_percent", "duplicate_percent", "auto_merge_percent", "enabled")
    readonly_fields = ("custom_criteria", "weights", "estimated_at", "estimated_from")

    def get_fields(self, request, obj=None):
        fields = list(DuplicateRuleForm.Meta.fields)
        fields.insert(fields.index("criteria") + 1, "custom_criteria")
        return [*fields, "weights", "estimated_at", "estimated_from"]

    @admin.display(description=_("custom fields that find duplicates"))
    def custom_criteria(self, obj):
        """Marked on the custom field itself (one switch): listed here with a link to change them."""
        from django.urls import reverse

        from .keys import criterion_fields

        url = reverse("admin:customfields_customfield_changelist")
        fields = criterion_fields(obj.entity) if obj and obj.entity in registry else []
        names = format_html_join(", ", "<a href=\"{}\">{}</a> <code>{}</code>",
                                 ((reverse("admin:customfields_customfield_change", args=[f.pk]), f.label, f.name)
                                  for f in fields))
        hint = _("A custom field finds duplicates when “finds duplicates” is ticked on it, in Custom fields.")
        return format_html("{}<br><span class=\"quiet\">{} <a href=\"{}\">{}</a></span>", names or "—", hint, url,
                           _("Custom fields"))

    @admin.display(description=_("weights (log2 m/u) per comparison level"))
    def weights(self, obj):
        from .scoring import LEVELS, comparisons_for, model_for

        if not obj or not obj.pk or obj.entity not in registry:
            return "—"
        model = model_for(obj.entity)
        rows = []
        for comparison in comparisons_for(obj.entity):
            cells = format_html_join(
                " ", "<span title=\"m {} · u {}\">{}: <b>{}</b></span>",
                ((f"{model.m.get(comparison, {}).get(level, 0):.3g}", f"{model.u.get(comparison, {}).get(level, 0):.3g}",
                  level, f"{model.weight(comparison, level):+.1f}") for level in LEVELS[comparison][1:]))
            rows.append((comparison, cells))
        table = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        source = _("estimated") if obj.parameters else _("built-in defaults")
        return format_html("<p>{} · {}: {}</p><table>{}</table>", source, _("prior, duplicates per record"),
                           f"{model.prior:.3g}", table)


@admin.register(ScanSchedule)
class ScanScheduleAdmin(admin.ModelAdmin):
    form = ScanScheduleForm
    list_display = ("entity", "frequency", "last_run_at")
    list_editable = ("frequency",)


@admin.register(ScanRun)
class ScanRunAdmin(admin.ModelAdmin):
    list_display = ("entity", "status", "progress", "records", "candidate_pairs", "groups", "created_at", "finished_at")
    list_filter = ("entity", "status")
    readonly_fields = [f.name for f in ScanRun._meta.fields]


@admin.register(NotDuplicate)
class NotDuplicateAdmin(admin.ModelAdmin):
    list_display = ("content_type", "first_id", "second_id", "marked_by", "created_at")


@admin.register(MergeRecord)
class MergeRecordAdmin(admin.ModelAdmin):
    list_display = ("entity", "survivor_id", "other_ids", "user", "created_at", "undone_at")
    list_filter = ("entity",)
    readonly_fields = [f.name for f in MergeRecord._meta.fields]


admin.site.register(DuplicateGroup)
