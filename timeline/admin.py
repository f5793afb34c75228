from django.contrib import admin

from .models import Entry, EntryLink, FollowUpRule, Notification


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "entity", "inactive_days", "stage_semantic", "deadline_days", "is_active")
    list_filter = ("is_active", "entity")


class EntryLinkInline(admin.TabularInline):
    model = EntryLink
    extra = 0


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "subject", "author", "created_at", "state", "deadline")
    list_filter = ("kind", "state")
    raw_id_fields = ("author", "responsible")
    inlines = [EntryLinkInline]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "text", "reason", "created", "read_at")
    list_filter = ("reason",)
    raw_id_fields = ("user", "entry")
