from django.contrib import admin

from crm_site.admin import CHANNEL_INLINES, CRMObjectAdmin, RelationInline

from .models import Contact, ContactCompany


class ContactCompanyInline(RelationInline):
    model = ContactCompany
    raw_id_fields = ("company",)
    extra = 0


@admin.register(Contact)
class ContactAdmin(CRMObjectAdmin):
    list_display = ("__str__", "position", "type", "owner", "department", "created_at")
    list_filter = ("type", "source", *CRMObjectAdmin.list_filter)
    search_fields = ("last_name", "first_name", "middle_name")
    inlines = [*CHANNEL_INLINES, ContactCompanyInline]
