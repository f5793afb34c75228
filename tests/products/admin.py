from django.contrib import admin

from crm_site.admin import CRMObjectAdmin, RelationInline

from .models import Product, ProductCompany


class ProductCompanyInline(RelationInline):
    model = ProductCompany
    raw_id_fields = ("company",)


@admin.register(Product)
class ProductAdmin(CRMObjectAdmin):
    search_fields = ("name", "sku")
    inlines = [ProductCompanyInline]
