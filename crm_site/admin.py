from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from simple_history.admin import SimpleHistoryAdmin

from access.scopes import DELETE, EDIT, READ, can

from .models import ClientType, Communication, Currency, Industry, Source, Tag


class EditableListAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_ru", "name_uk", "order", "is_active")
    list_editable = ("order", "is_active")
    search_fields = ("code", "name_en", "name_ru", "name_uk")


for model in (Source, ClientType, Industry):
    admin.site.register(model, EditableListAdmin)


@admin.register(Currency)
class CurrencyAdmin(EditableListAdmin):
    list_display = (*EditableListAdmin.list_display, "symbol", "is_default")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class CommunicationInline(GenericTabularInline):
    model = Communication
    fields = ("channel", "kind", "value", "is_primary")
    extra = 0


class CRMObjectAdmin(SimpleHistoryAdmin):
    """Admin for every entity: the changelist and object pages go through the same access path."""

    list_display = ("__str__", "owner", "department", "opened", "created_at")
    list_filter = ("opened", "department")
    readonly_fields = ("department", "created_at", "created_by", "updated_at", "updated_by")
    raw_id_fields = ("owner",)
    inlines = [CommunicationInline]

    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user, READ)

    def has_change_permission(self, request, obj=None):
        base = super().has_change_permission(request, obj)
        return base and (obj is None or can(request.user, obj, EDIT))

    def has_delete_permission(self, request, obj=None):
        base = super().has_delete_permission(request, obj)
        return base and (obj is None or can(request.user, obj, DELETE))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        from .services import record_delete

        record_delete(user=request.user, obj=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


