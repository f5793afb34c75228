from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import SalesTarget, StuckRule


@admin.register(StuckRule)
class StuckRuleAdmin(admin.ModelAdmin):
    list_display = ("pipeline", "days")
    list_editable = ("days",)


@admin.register(SalesTarget)
class SalesTargetAdmin(admin.ModelAdmin):
    list_display = ("__str__", "period_kind", "year", "number", "metric", "value", "currency")
    list_filter = ("period_kind", "year", "metric", "department", "pipeline")
    raw_id_fields = ("manager",)
    fieldsets = (
        (None, {"fields": (("period_kind", "year", "number"), ("metric", "value", "currency"))}),
        (_("For"), {"fields": ("manager", "department", "pipeline")}),
    )
