"""A fifth entity, declared only in tests/products (installed by tests/settings.py), gets every capability of the
core without a line outside its folder: list, card, form, quick search, export, timeline, bin with restore and
purge, duplicate rules, the role matrix and sharing (the permission sweep covers it as every entity)."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from access.forms import grid_rows
from crm_site.registry import registry
from dedup.keys import record_keys
from dedup.matching import find_candidates, rule_for
from tests.factories import make_company, make_record, make_user, post_data
from tests.products.models import Product, ProductCompany

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CORE = ("crm_site", "access", "contacts", "companies", "leads", "deals", "timeline", "dedup", "trash", "templates",
        "static", "bench")


def html(response):
    return response.content.decode()


def test_nothing_outside_its_folder_names_it():
    pattern = re.compile(r"\bproducts?\b|ProductCompany|tests\.products")
    named = []
    for folder in CORE:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".html", ".js", ".css") and "migrations" not in path.parts:
                text = path.read_text(encoding="utf-8")
                named += [f"{path.relative_to(ROOT)}" for line in text.splitlines()
                          if pattern.search(line) and "the product" not in line.lower()]
    assert not named, named


def test_list_card_and_the_relation_on_both_cards(user, user_client):
    company = make_company(user)
    product = make_record("product", user, name="Стеллаж металлический", price=Decimal("4990.00"))
    ProductCompany.objects.create(product=product, company=company, note="supplier")
    listing = user_client.get(reverse("product_list"))
    assert listing.status_code == 200 and "Стеллаж металлический" in html(listing)
    card = user_client.get(product.get_absolute_url())
    assert card.status_code == 200 and company.name in html(card)
    company_card = user_client.get(company.get_absolute_url())
    assert "Стеллаж металлический" in html(company_card)  # the reverse relation, declared once on the product
    assert [r.name for r in registry["company"].relations] == ["contacts", "products"]


def test_form_creates_and_edits_through_the_write_services(user, user_client):
    data = post_data("product", user, name="Полка", sku="P-1", price="100.50")
    response = user_client.post(reverse("product_add"), data)
    assert response.status_code == 302
    product = Product.objects.get(name="Полка")
    assert product.department is not None and product.created_by == user
    assert [h.history_type for h in product.history.all()] == ["+"]
    edit = user_client.get(reverse("product_edit", args=[product.pk]))
    version = edit.context["form"]["version"].value()
    response = user_client.post(reverse("product_edit", args=[product.pk]),
                                {**data, "name": "Полка большая", "version": version})
    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).name == "Полка большая"


def test_quick_search_and_export(user, user_client, admin_client):
    make_record("product", user, name="Уникальный товар", sku="ZX-42")
    make_record("product", user, name="Другой")
    found = user_client.get(reverse("product_list"), {"q": "ZX-42"})
    assert [row["object"].name for row in found.context["rows"]] == ["Уникальный товар"]
    exported = admin_client.get(reverse("product_export"), {"format": "csv", "q": "Уникальный"})
    body = b"".join(exported.streaming_content).decode("utf-8-sig")
    assert "Уникальный товар" in body and "Другой" not in body


def test_timeline_of_a_product(user, user_client):
    response = user_client.post(reverse("product_add"), post_data("product", user, name="Табурет"))
    product = Product.objects.get(name="Табурет")
    assert response.status_code == 302
    added = user_client.post(reverse("timeline_add", args=["product", product.pk, "note"]), {"body": "Заказать ещё"})
    assert added.status_code in (200, 302)
    card = html(user_client.get(product.get_absolute_url()))
    assert "Заказать ещё" in card and "Record created." in card


def test_bin_restore_and_purge(user, user_client, admin_client):
    product = make_record("product", user, name="Скамья")
    assert user_client.post(reverse("product_delete", args=[product.pk])).status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert "Скамья" in html(user_client.get(reverse("trash_list")))
    restored = user_client.post(reverse("trash_restore"), {"items": [f"product:{product.pk}"]})
    assert restored.status_code == 302 and Product.objects.filter(pk=product.pk).exists()
    user_client.post(reverse("product_delete", args=[product.pk]))
    purged = admin_client.post(reverse("trash_purge"), {"items": [f"product:{product.pk}"], "confirm": "yes"})
    assert purged.status_code == 302 and not Product.all_objects.filter(pk=product.pk).exists()


def test_duplicate_rule_from_its_registration(user):
    first = make_record("product", user, name="Стол обеденный")
    assert rule_for("product").criteria == ["company_name"]
    candidates = find_candidates("product", record_keys(first) | {("company", "стол обеденный")})
    assert candidates == [] or all(c.obj.pk != first.pk for c in candidates)
    from dedup.keys import keys_refresh

    keys_refresh(first)
    twin = Product(name="Стол  обеденный", owner=user)
    found = find_candidates("product", record_keys(twin))
    assert [c.obj.pk for c in found] == [first.pk]


def test_role_matrix_row_and_sharing(user, user_client, other_user):
    assert "product" in [key for key, _label in grid_rows()]
    product = make_record("product", user, name="Шкаф")
    other = make_user("olga")
    assert user_client.post(reverse("access_share", args=["product", product.pk]),
                            {"user": other.pk, "level": "read"}).status_code == 302
    from django.test import Client

    client = Client(headers={"accept-language": "en"})
    client.force_login(other)
    assert client.get(product.get_absolute_url()).status_code == 200
    client.force_login(other_user)
    assert client.get(product.get_absolute_url()).status_code == 404
