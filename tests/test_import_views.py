"""The import wizard through the browser's requests: every step, the forbidden paths, a bad file."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from dedup.importing.models import ImportBatch

pytestmark = pytest.mark.django_db


def login(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def csv_file(rows, name="clients.csv"):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=";").writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("cp1251"), content_type="text/csv")


@pytest.fixture(autouse=True)
def _uploads(uploads_in_tmp):
    pass


def test_the_wizard_from_upload_to_undo(importer, eager, django_capture_on_commit_callbacks):
    client = login(importer)
    listing = client.get(reverse("contact_list"))
    assert reverse("import_upload", args=["contact"]) in listing.content.decode()
    response = client.post(reverse("import_upload", args=["contact"]), {"file": csv_file([
        ["Фамилия", "Имя", "Телефон", "E-mail", "Компания", "Должность"],
        ["Иванов", "Иван", "8 (495) 123-45-67", "ivan@example.ru", "ООО Ромашка", "Директор"],
        ["Иванов", "Иван", "+74951234567", "", "", ""],
        ["Петрова", "", "", "not-an-email", "", ""]])})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("import_map", args=[batch.pk])
    page = client.get(reverse("import_map", args=[batch.pk])).content.decode()
    assert "Фамилия" in page and 'value="field:last_name" selected' in page
    response = client.post(reverse("import_map", args=[batch.pk]), {
        "column-0": "field:last_name", "column-1": "field:first_name", "column-2": "channel:phone:work",
        "column-3": "channel:email:work", "column-4": "link:companies", "column-5": "field:position",
        "owner": importer.pk, "tags": "выставка, 2025", "save_as": "Наш CRM"})
    assert response.status_code == 302
    assert client.get(reverse("import_options", args=[batch.pk])).status_code == 200
    response = client.post(reverse("import_options", args=[batch.pk]), {"on_duplicate": "merge",
                                                                       "match": ["phone", "email"]})
    assert response.status_code == 302
    preview = client.get(reverse("import_batch", args=[batch.pk])).content.decode()
    assert "Preview" in preview and "duplicate in the file" in preview and "not-an-email" in preview
    assert not Contact.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly after the commit
        client.post(reverse("import_apply", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "applied" and Contact.objects.count() == 2
    progress = client.get(reverse("import_progress", args=[batch.pk])).content.decode()
    assert "3 of 3 rows done" in progress
    report = client.get(reverse("import_report", args=[batch.pk]))
    assert report["Content-Type"].startswith("text/csv")
    assert len(report.content.decode("utf-8-sig").strip().splitlines()) == 4
    assert set(Contact.objects.get(last_name="Иванов").tags.values_list("name", flat=True)) == {"выставка", "2025"}
    client.post(reverse("import_undo", args=[batch.pk]))
    assert not Contact.objects.exists()
    # the saved mapping is offered for the next file
    client.post(reverse("import_upload", args=["contact"]), {"file": csv_file([["Фамилия"], ["Сидоров"]])})
    assert "Наш CRM" in client.get(reverse("import_map", args=[ImportBatch.objects.first().pk])).content.decode()


def test_a_bad_file_is_refused_with_its_reason_and_nothing_kept(importer):
    client = login(importer)
    response = client.post(reverse("import_upload", args=["contact"]),
                           {"file": SimpleUploadedFile("x.csv", b"\x00\x01\xff" * 300)})
    assert response.status_code == 200 and "binary data" in response.content.decode()
    assert not ImportBatch.objects.exists()
    response = client.post(reverse("import_upload", args=["contact"]),
                           {"file": SimpleUploadedFile("x.csv", b"a;b\n")})
    assert "no rows to import" in response.content.decode()


def test_no_import_right_is_403_and_another_users_batch_404(importer, manager, head):
    client = login(manager)
    assert client.get(reverse("import_upload", args=["contact"])).status_code == 403
    assert reverse("import_upload", args=["contact"]) not in client.get(reverse("contact_list")).content.decode()
    mine = login(importer)
    mine.post(reverse("import_upload", args=["contact"]), {"file": csv_file([["Фамилия"], ["Иванов"]])})
    batch = ImportBatch.objects.get()
    other = login(head)
    for name in ("import_batch", "import_map", "import_options", "import_report", "import_progress"):
        assert other.get(reverse(name, args=[batch.pk])).status_code == 404
    for name in ("import_apply", "import_undo", "import_cancel"):
        assert other.post(reverse(name, args=[batch.pk])).status_code == 404


def test_a_big_files_preview_is_prepared_by_a_worker(importer, eager, django_capture_on_commit_callbacks,
                                                     monkeypatch):
    from dedup.importing import views

    monkeypatch.setattr(views, "PREPARE_IN_REQUEST", 10)
    client = login(importer)
    client.post(reverse("import_upload", args=["contact"]), {"file": csv_file([["Фамилия"], ["Иванов"]])})
    batch = ImportBatch.objects.get()
    client.post(reverse("import_map", args=[batch.pk]), {"column-0": "field:last_name", "owner": importer.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import_options", args=[batch.pk]), {"on_duplicate": "merge"})
    assert response["Location"] == reverse("import_batch", args=[batch.pk])
    batch.refresh_from_db()
    assert batch.status == "ready" and batch.counts == {"create": 1}
