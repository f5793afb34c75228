"""The demo's SQLite: LIKE folds Cyrillic case (crm_site/sqlite.py); what needs PostgreSQL says so."""

import pytest
from django.db import connection

from crm_site.sqlite import like
from tests.factories import make_contact

pytestmark = pytest.mark.django_db


def test_like_folds_every_letter_and_keeps_its_escapes():
    assert like("%иван%", "Иванов Пётр")
    assert like("ИВАНОВ", "иванов") and not like("иванов", "иванова")
    assert like("п_тр", "Пётр") and not like("п_тр", "Петро")
    assert like("50\\%%", "50% скидка", "\\") and not like("50\\%%", "500 рублей", "\\")
    assert like("a\\_b", "A_B", "\\") and not like("a\\_b", "axb", "\\")
    assert like("%", None) is None and like(None, "x") is None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the demo's database")
def test_search_on_sqlite_ignores_cyrillic_case(user):
    from contacts.models import Contact

    contact = make_contact(user, last_name="Ёлкина", first_name="Юлия")
    assert list(Contact.objects.filter(last_name__icontains="ёлк")) == [contact]
    assert list(Contact.objects.filter(last_name__iexact="ЁЛКИНА")) == [contact]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the demo's database")
def test_the_api_and_webhooks_say_they_need_postgres(user, client):
    from crm_site.webhooks.models import Endpoint
    from crm_site.webhooks.services import endpoint_save

    client.force_login(user)
    response = client.get("/api/v1/contacts/", headers={"accept-language": "en"})
    assert response.status_code == 503 and "needs PostgreSQL" in response.json()["detail"]
    saved, form = endpoint_save(user=user, endpoint=Endpoint(owner=user), data={"name": "x", "url": "https://x.test"})
    assert saved is None and "PostgreSQL" in str(form.non_field_errors())
