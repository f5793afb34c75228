from django.contrib import admin

from crm_site.admin import CRMObjectAdmin, EditableListAdmin, RelationInline

from .models import Deal, DealContact, LostReason, Pipeline, Stage


class StageInline(admin.TabularInline):
    model = Stage
    fields = ("order", "code", "name_en", "name_ru", "name_uk", "semantic", "probability")
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(EditableListAdmin):
    list_display = (*EditableListAdmin.list_display, "is_default")
    inlines = [StageInline]


@admin.register(LostReason)
class LostReasonAdmin(EditableListAdmin):
    pass


class DealContactInline(RelationInline):
    model = DealContact
    raw_id_fields = ("contact",)
    extra = 0


@admin.register(Deal)
class DealAdmin(CRMObjectAdmin):
    list_display = ("title", "pipeline", "stage", "amount", "currency", "owner", "created_at")
    list_filter = ("pipeline", "stage", *CRMObjectAdmin.list_filter)
    search_fields = ("title", "company__name")
    raw_id_fields = ("owner", "company", "source_lead")
    inlines = [DealContactInline]
