from django.contrib import admin

from crm_site.admin import CRMObjectAdmin

from .models import Company


@admin.register(Company)
class CompanyAdmin(CRMObjectAdmin):
    list_display = ("name", "type", "industry", "owner", "department", "created_at")
    list_filter = ("type", "industry", *CRMObjectAdmin.list_filter)
    search_fields = ("name", "legal_name", "tax_id")
