"""A fifth entity, installed only in the test settings (tests/settings.py), to prove that the core needs no edits
for one: everything it gets — list, card, form, search, export, timeline, bin, duplicates, role matrix, sharing,
the permission sweep — comes from this folder alone. Test-only, so its texts are not translated."""

from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "tests.products"
    label = "products"
    verbose_name = "Products"

    def ready(self):
        from crm_site.registry import Entity, Relation, registry

        registry.register(
            Entity(
                key="product",
                model_path="products.Product",
                url_prefix="products",
                form_class="tests.products.forms.ProductForm",
                list_columns=("name", "price", "owner", "created_at"),
                sort_fields={"name": "name", "price": "price", "owner": "owner__username", "created_at": "created_at"},
                search_fields=("name", "sku"),
                filter_fields=("owner", "opened"),
                card_sections=(
                    ("Product", ("name", "sku", "price")),
                    ("More", ("owner", "department", "opened", "created_at", "created_by", "updated_at")),
                ),
                relations=(
                    Relation(name="companies", label="Companies", through="products.ProductCompany",
                             from_field="product", to_field="company", extra_fields=("note",),
                             reverse_name="products", reverse_label="Products"),
                ),
                # The name is all a product has to compare: an exact name alone weighs little against a large
                # base's prior, so the rule warns from a low confidence.
                duplicate_rule={"criteria": ["company_name"], "name_threshold": 90, "match_against": [],
                                "possible_percent": 5},
                has_channels=False,
                icon="📦",
            )
        )
