from django import forms
from django.contrib import admin

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
        fields = ("entity", "criteria", "name_threshold", "match_against", "enabled")


class ScanScheduleForm(forms.ModelForm):
    entity = forms.ChoiceField(choices=_entity_choices)

    class Meta:
        model = ScanSchedule
        fields = ("entity", "frequency")


@admin.register(DuplicateRule)
class DuplicateRuleAdmin(admin.ModelAdmin):
    form = DuplicateRuleForm
    list_display = ("entity", "criteria", "name_threshold", "match_against", "enabled")
    list_editable = ("name_threshold", "enabled")


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
