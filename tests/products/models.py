from django.db import models
from simple_history.models import HistoricalRecords

from access.grants import grant_models
from crm_site.models import CRMObject


class Product(CRMObject):
    name = models.CharField("name", max_length=200)
    sku = models.CharField("SKU", max_length=50, blank=True)
    price = models.DecimalField("price", max_digits=12, decimal_places=2, null=True, blank=True)
    companies = models.ManyToManyField("companies.Company", through="ProductCompany", related_name="products",
                                       verbose_name="companies")

    class Meta(CRMObject.Meta):
        verbose_name = "product"
        verbose_name_plural = "products"

    STR_COLUMN = "name"

    def __str__(self):
        return self.name


class ProductCompany(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="company_links")
    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="product_links")
    note = models.CharField("note", max_length=150, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "company"], name="products_productcompany_unique")]

    def __str__(self):
        return f"{self.product} — {self.company}"


ProductUserGrant, ProductGroupGrant = grant_models("products.Product", "Product")
