from django.contrib import admin

from .audit import audit_log
from .forms import FieldRuleForm, FieldRuleFormSet, RoleForm
from .models import AuditLog, Department, FieldRule, Membership, Role, RoleAssignment


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class DepartmentRoleInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "department"
    fields = ("role",)
    extra = 0


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "head")
    list_filter = ("parent",)
    search_fields = ("name",)
    inlines = [MembershipInline, DepartmentRoleInline]

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is RoleAssignment and formset.has_changed():
            audit_log(AuditLog.ASSIGNMENT_CHANGED, request=request, obj=form.instance,
                      details={"department": str(form.instance),
                               "roles": [str(a.role) for a in form.instance.role_assignments.all()]})


class FieldRuleInline(admin.TabularInline):
    model = FieldRule
    form = FieldRuleForm
    formset = FieldRuleFormSet
    fields = ("target", "mode")
    extra = 0


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    """The matrix is one grid of level selects (templates/admin/access/role/change_form.html)."""

    form = RoleForm
    list_display = ("name", "is_default", "require_two_factor", "description")
    search_fields = ("name",)
    inlines = [FieldRuleInline]

    def save_model(self, request, obj, form, change):
        before = Role.objects.filter(pk=obj.pk).values_list("matrix", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        audit_log(AuditLog.ROLE_CHANGED, request=request, obj=obj,
                  details={"created": not change, "before": before, "after": obj.matrix})

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            audit_log(AuditLog.ROLE_CHANGED, request=request, obj=form.instance,
                      details={"field_rules": [str(r) for r in form.instance.field_rules.all()]})

    def delete_model(self, request, obj):
        audit_log(AuditLog.ROLE_CHANGED, request=request, model=Role, object_repr=str(obj),
                  details={"deleted": True})
        super().delete_model(request, obj)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("role", "user", "department")
    list_filter = ("role", "department")
    search_fields = ("user__username", "user__last_name", "department__name", "role__name")
    autocomplete_fields = ("user",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_log(AuditLog.ASSIGNMENT_CHANGED, request=request, obj=obj, details={"assignment": str(obj)})

    def delete_model(self, request, obj):
        audit_log(AuditLog.ASSIGNMENT_CHANGED, request=request, model=RoleAssignment, object_repr=str(obj),
                  details={"deleted": str(obj)})
        super().delete_model(request, obj)


@admin.register(FieldRule)
class FieldRuleAdmin(admin.ModelAdmin):
    form = FieldRuleForm
    list_display = ("role", "entity", "field", "mode")
    list_filter = ("role", "entity", "mode")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_log(AuditLog.ROLE_CHANGED, request=request, obj=obj.role, details={"field_rule": str(obj)})

    def delete_model(self, request, obj):
        audit_log(AuditLog.ROLE_CHANGED, request=request, obj=obj.role, details={"field_rule_deleted": str(obj)})
        super().delete_model(request, obj)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only: rows are written by access.audit.audit_log() and never edited."""

    list_display = ("at", "actor_name", "action", "content_type", "object_repr", "count", "ip")
    list_filter = ("action", "actor", "at")
    search_fields = ("actor_name", "object_repr")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
