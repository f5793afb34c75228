from crm_site.forms import CRMObjectForm

from .models import Product


class ProductForm(CRMObjectForm):
    class Meta:
        model = Product
        fields = ["name", "sku", "price", "owner", "opened"]
