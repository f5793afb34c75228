"""The import pipeline: decided rows (the preview), each duplicate action, in-file duplicates, ambiguous and
uneditable matches, apply exactly once, undo, the command and the API's entry point."""

import csv
import io

import pytest
from django.core.management import call_command

from access.models import AuditLog
from companies.models import Company
from contacts.models import Contact
from crm_site.models import Communication
from dedup.importing.models import ImportBatch, ImportRow
from dedup.importing.pipeline import (
    batch_apply,
    batch_configure,
    batch_prepare,
    batch_undo,
    batch_upload,
    import_rows,
    message_text,
)
from tests.factories import make_contact, make_user

pytestmark = pytest.mark.django_db
O = ImportRow.Outcome
HEADER = ["Фамилия", "Имя", "Мобильный", "E-mail", "Компания", "Должность", "Комментарий"]


def csv_bytes(rows, header=HEADER, delimiter=";", encoding="utf-8-sig"):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def prepared(user, rows, *, on_duplicate="merge", match=(), header=HEADER, **options):
    batch = batch_upload(user=user, entity="contact", content=csv_bytes(rows, header), name="clients.csv")
    batch_configure(batch, on_duplicate=on_duplicate, match=list(match), **options)
    return batch_prepare(batch, user=user)


def outcomes(batch):
    return [row.outcome for row in batch.rows.order_by("number")]


@pytest.fixture
def importer(db, department):
    from tests.factories import assign_role

    person = make_user("imp", department=department, first_name="Ира", last_name="Импортова")
    assign_role("Head of sales", user=person)
    department.head = person
    department.save()
    return person


def test_create_then_reimport_is_a_no_op(importer):
    rows = [["Иванов", "Иван", "+7 916 123-45-67", "ivan@example.ru", "ООО Ромашка", "Директор", "первый"],
            ["Петрова", "Анна", "8 903 111 22 33", "anna@example.ru", "Ромашка", "Бухгалтер", ""],
            ["иванов", "иван", "89161234567", "", "", "", ""]]
    batch = prepared(importer, rows)
    assert outcomes(batch) == [O.CREATE, O.CREATE, O.IN_FILE]
    assert Contact.objects.count() == 0
    batch = batch_apply(batch.pk, user=importer)
    assert batch.status == ImportBatch.Status.APPLIED
    assert Contact.objects.count() == 2
    assert Company.objects.count() == 1  # found-or-created once: "ООО Ромашка" and "Ромашка" are one
    ivan = Contact.objects.get(last_name="Иванов")
    assert ivan.company_links.get().position == "Директор"
    assert set(ivan.communications.values_list("normalized", flat=True)) == {"+79161234567", "ivan@example.ru"}
    again = prepared(importer, rows)
    assert set(outcomes(again)) <= {O.UNCHANGED, O.IN_FILE}
    batch_apply(again.pk, user=importer)
    assert Contact.objects.count() == 2 and Company.objects.count() == 1
    assert AuditLog.objects.filter(action=AuditLog.IMPORT).count() == 2
