from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Attempt, Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "owner", "is_active", "failing_since", "paused_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    raw_id_fields = ("owner",)
    readonly_fields = ("failing_since", "paused_at", "created_at")

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        if obj.is_active:
            obj.paused_at = None  # made active again after a pause: failures count afresh
            obj.failing_since = None if change and "is_active" in form.changed_data else obj.failing_since
        super().save_model(request, obj, form, change)


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = ("at", "status_code", "duration_ms", "error")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: filter by endpoint; the Redeliver action sends the chosen deliveries again."""

    list_display = ("event", "object_id", "endpoint", "state", "attempts", "last_status", "created_at",
                    "delivered_at")
    list_filter = ("state", "endpoint")
    search_fields = ("event", "delivery_id")
    readonly_fields = ("delivery_id", "endpoint", "event", "object_id", "payload", "created_at", "state",
                       "attempts", "next_attempt_at", "delivered_at", "last_status", "last_error")
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Redeliver"))
    def redeliver(self, request, queryset):
        count = services.redeliver(list(queryset))
        self.message_user(request, ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.",
                                            count) % {"count": count}, messages.SUCCESS)
