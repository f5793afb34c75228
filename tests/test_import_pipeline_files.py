"""Files of every kind through the whole pipeline (upload -> preview -> apply): the formats and encodings real
exports use, and bad files, each refused with a clear message and nothing written."""

import io
import zipfile

import pytest

from contacts.models import Contact
from dedup.importing.errors import ImportFileError
from dedup.importing.models import ImportBatch, ImportRow
from dedup.importing.pipeline import batch_apply, batch_configure, batch_prepare, batch_upload
from tests.test_import_xlsx import WORKBOOK, openpyxl_xlsx

pytestmark = pytest.mark.django_db
O = ImportRow.Outcome  # noqa: E741


@pytest.fixture(autouse=True)
def _uploads(uploads_in_tmp):
    pass


def run(user, data, name, *, apply=True, **options):
    batch = batch_upload(user=user, entity="contact", content=data, name=name, options=options)
    batch = batch_prepare(batch, user=user)
    if apply:
        batch = batch_apply(batch.pk, user=user)
    return batch


def test_windows_1251_semicolons_with_russian_headers(importer):
    text = ("Фамилия;Имя;Отчество;Мобильный телефон;Рабочий телефон;E-mail;Компания;Должность;Дата рождения\r\n"
            "Иванов;Иван;Иванович;8 916 123-45-67;8 (495) 111-22-33;ivan@example.ru;ООО «Ромашка»;Директор;15.03.1985\r\n"
            "Петрова;Анна;;+7 903 000 11 22;;anna@example.ru;ООО «Ромашка»;Бухгалтер;01.12.1990\r\n")
    batch = run(importer, text.encode("cp1251"), "клиенты.csv")
    assert batch.counts == {"create": 2}
    ivan = Contact.objects.get(last_name="Иванов")
    assert (ivan.middle_name, ivan.birthday.isoformat()) == ("Иванович", "1985-03-15")
    assert sorted(ivan.communications.values_list("kind", "normalized")) == [
        ("mobile", "+79161234567"), ("work", "+74951112233"), ("work", "ivan@example.ru")]
    assert ivan.companies.get().name == "ООО «Ромашка»" == Contact.objects.get(last_name="Петрова").companies.get().name


def test_utf16_tab_separated_as_excel_writes_unicode_text(importer):
    text = "Фамилия\tИмя\tТелефон\r\nСидоров\tПётр\t+7 495 222-33-44\r\n"
    batch = run(importer, text.encode("utf-16"), "unicode.txt")
    assert batch.counts == {"create": 1} and Contact.objects.get().first_name == "Пётр"


def test_google_contacts_export(importer):
    header = ("Name,Given Name,Additional Name,Family Name,Nickname,Birthday,Notes,Group Membership,"
              "E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,"
              "Organization 1 - Name,Organization 1 - Title")
    row = ("Anna Smirnova,Anna,,Smirnova,,1990-05-01,met at the fair,* myContacts ::: Clients,* Work,"
           "anna@firm.ru,Mobile,+7 916 555-66-77,Work,+7 495 555-66-77,Firm LLC,CEO")
    batch = run(importer, (header + "\n" + row + "\n").encode(), "contacts.csv")
    assert batch.counts == {"create": 1}
    anna = Contact.objects.get()
    assert (anna.last_name, anna.comment, anna.position) == ("Smirnova", "met at the fair", "CEO")
    assert sorted(anna.communications.filter(channel="phone").values_list("kind", flat=True)) == ["mobile", "work"]
    assert list(anna.tags.values_list("name", flat=True)) == ["Clients"]


def test_outlook_export(importer):
    header = ('"First Name","Middle Name","Last Name","Company","Job Title","Business Phone","Mobile Phone",'
              '"E-mail Address","Notes"')
    row = '"Oleg","","Novikov","Vector JSC","Engineer","+7 495 700-00-01","+7 926 700-00-02","oleg@vector.ru","vip"'
    batch = run(importer, (header + "\r\n" + row + "\r\n").encode("cp1252"), "outlook.csv")
    assert batch.counts == {"create": 1}
    oleg = Contact.objects.get()
    assert (oleg.first_name, oleg.position, oleg.companies.get().name) == ("Oleg", "Engineer", "Vector JSC")
    assert oleg.communications.count() == 3


def card(n):
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Фамилия{n};Имя{n};;;\r\n"
            f"TEL;TYPE=CELL:+7 916 {n // 10000:03d}-{n % 10000 // 100:02d}-{n % 100:02d}\r\n"
            f"EMAIL;TYPE=WORK:user{n}@example.ru\r\nTITLE:Менеджер\r\nEND:VCARD\r\n")


def test_three_thousand_vcards_with_a_broken_one_in_the_middle(importer):
    cards = [card(number) for number in range(3000)]
    cards.insert(1500, "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Сломан;Совсем;;;\r\nno colon here\r\nEND:VCARD\r\n")
    batch = run(importer, "".join(cards).encode(), "all.vcf", apply=False)
    assert batch.counts == {"create": 3000, "error": 1}
    [message] = batch.rows.get(outcome=O.ERROR).messages
    assert (message["code"], message["line"]) == ("broken_card", 1500 * 7 + 1)


def zip_bomb():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (40 * 1024 * 1024))
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "data", "words"), [
    ("junk.csv", bytes(range(256)) * 40, "binary"),
    ("picture.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, "binary"),
    ("empty.csv", b"", "empty"),
    ("blank.csv", b"\xef\xbb\xbf \r\n\r\n", "empty"),
    ("header.csv", "Фамилия;Имя\r\n".encode("cp1251"), "no rows"),
    ("bomb.xlsx", None, "packed suspiciously"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ".xls"),
])
def test_bad_files_are_refused_with_a_reason_and_nothing_is_written(importer, name, data, words):
    data = zip_bomb() if data is None else data
    with pytest.raises(ImportFileError) as error:
        run(importer, data, name)
    assert words in error.value.message
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED and words in batch.error
    assert not batch.rows.exists() and not Contact.objects.exists()


def test_an_oversized_file_is_refused(importer, settings):
    settings.CRM_IMPORT_MAX_FILE_SIZE = 100
    with pytest.raises(ImportFileError) as error:
        run(importer, ("Фамилия\r\n" + "Иванов\r\n" * 50).encode(), "big.csv")
    assert "largest file" in error.value.message and not Contact.objects.exists()


def test_too_many_rows_writes_nothing(importer, settings):
    settings.CRM_IMPORT_MAX_ROWS = 3
    with pytest.raises(ImportFileError):
        run(importer, ("Фамилия\r\n" + "Иванов\r\n" * 5).encode(), "many.csv")
    assert not ImportRow.objects.exists() and not Contact.objects.exists()


def test_xlsx_formulas_import_their_cached_values_and_formula_text_is_never_run(importer):
    data = openpyxl_xlsx({"Клиенты": [["Фамилия", "Имя", "Комментарий"], ["Иванов", "Иван", "=1+1"]]})
    batch = run(importer, data, "book.xlsx", apply=False)
    # openpyxl wrote a formula without a cached value: the row is refused, with the cell named
    [row] = batch.rows.all()
    assert row.outcome == O.ERROR and row.messages[0]["code"] == "uncalculated_formula"
    batch_configure(batch)
    assert not Contact.objects.exists()
