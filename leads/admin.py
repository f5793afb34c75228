from django.contrib import admin

from crm_site.admin import CRMObjectAdmin, EditableListAdmin

from .models import Lead, LeadStatus


@admin.register(LeadStatus)
class LeadStatusAdmin(EditableListAdmin):
    list_display = (*EditableListAdmin.list_display, "semantic")


@admin.register(Lead)
class LeadAdmin(CRMObjectAdmin):
    list_display = ("title", "status", "score", "owner", "department", "created_at")
    list_filter = ("status", "score", "source", *CRMObjectAdmin.list_filter)
    search_fields = ("title", "last_name", "first_name", "company_name")
