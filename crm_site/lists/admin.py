from django.contrib import admin

from .models import BulkJob, ListSettings, Segment


@admin.register(ListSettings)
class ListSettingsAdmin(admin.ModelAdmin):
    list_display = ("entity_key", "user", "page_size", "sort")
    list_filter = ("entity_key",)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "entity_key", "owner", "shared", "updated_at")
    list_filter = ("entity_key", "shared")
    search_fields = ("name",)


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = ("action", "entity_key", "user", "status", "total", "done", "refused", "created_at")
    list_filter = ("status", "entity_key")
    readonly_fields = [f.name for f in BulkJob._meta.fields]
