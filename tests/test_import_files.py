"""Files that can't be imported: each one a typed error with a message a user understands, in their language,
raised before any row is produced (or, for the row limit, on the first row over it)."""

import io
import os
import zipfile

import pytest
from django.utils import translation

from dedup.importing import ImportFileError, open_import_file
from dedup.importing.errors import (
    EmptyFile,
    FileTooLarge,
    HeaderOnly,
    NotATable,
    RowIssue,
    TooManyRows,
    UnsafeFile,
)


def open_all(data, **options):
    with open_import_file(data, **options) as parsed:
        return list(parsed.rows())


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b";;;\n;;\n"])
def test_empty_files(data):
    with pytest.raises(EmptyFile) as caught:
        open_all(data, name="empty.csv")
    assert caught.value.message == "The file is empty."


@pytest.mark.parametrize("data", [b"Name;Phone\r\n", b"Name;Phone\r\n;\r\n\r\n", "Фамилия,Имя\n".encode("cp1251")])
def test_header_only_files(data):
    with pytest.raises(HeaderOnly):
        open_all(data)


def test_binary_junk():
    with pytest.raises(NotATable) as caught:
        open_all(os.urandom(20_000), name="contacts.csv")
    assert caught.value.code == "binary"
    with pytest.raises(NotATable):
        open_all(b"\x89PNG\r\n\x1a\n" + os.urandom(5000), name="photo.csv")


@pytest.mark.parametrize("data", [
    b"<!DOCTYPE html><html><head><title>Export</title></head><body><p>Not a table at all</p></body></html>\n",
    b"%PDF-1.4 " + b"x" * 200 + b"\n",
    (b"Dear colleagues, please find attached the list of our clients that we discussed during the meeting "
     b"yesterday evening in the office and afterwards at dinner\nBest regards\n"),
])
def test_not_a_csv(data):
    with pytest.raises(NotATable) as caught:
        open_all(data, name="contacts.csv")
    assert caught.value.code == "not_a_table"
    assert "separator" in caught.value.message


def test_oversized_file(settings):
    settings.CRM_IMPORT_MAX_FILE_SIZE = 1024
    with pytest.raises(FileTooLarge) as caught:
        open_all(b"a,b\n" + b"1,2\n" * 1000)
    assert caught.value.params == {"size": 4004, "limit": 1024}
    assert caught.value.message == "The file is 3.9\xa0KB; the largest file you can import is 1.0\xa0KB."


def test_the_default_limits_are_50_mb_and_a_million_rows(settings):
    del settings.CRM_IMPORT_MAX_FILE_SIZE
    del settings.CRM_IMPORT_MAX_ROWS
    from dedup.importing import limits

    assert limits.max_file_size() == 50 * 1024 * 1024
    assert limits.max_rows() == 1_000_000


def test_too_many_rows_stops_on_the_first_row_over_the_limit(settings):
    settings.CRM_IMPORT_MAX_ROWS = 3
    with open_import_file(b"a,b\n" + b"1,2\n" * 3) as parsed:
        assert len(list(parsed.rows())) == 3
    read = []
    with pytest.raises(TooManyRows) as caught:
        with open_import_file(b"a,b\n" + b"1,2\n" * 5) as parsed:
            for row in parsed.rows():
                read.append(row)
    assert len(read) == 3
    assert caught.value.message == "The file has more than 3 rows; split it into smaller files and import them one by one."


def test_xlsx_checks_happen_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (30 * 1024 * 1024))
    with pytest.raises(UnsafeFile):
        open_all(buffer.getvalue(), name="contacts.csv")  # the extension doesn't matter: the bytes do


def test_unknown_format_choice():
    with pytest.raises(ImportFileError) as caught:
        open_all(b"a,b\n1,2\n", file_format="docx")
    assert caught.value.code == "unknown_format"


def test_a_chosen_format_wins_over_the_guess():
    rows = open_all(b"BEGIN:VCARD;x\n1;2\n", file_format="csv")
    assert rows[0].values == ["1", "2"]


def test_messages_are_translated():
    with translation.override("ru"):
        assert EmptyFile().message == "Файл пустой."
        assert "строк" in TooManyRows(limit=1000).message
        assert "1\xa0000" in TooManyRows(limit=1000).message
    with translation.override("uk"):
        assert HeaderOnly().message == "У файлі є заголовки стовпців, але немає рядків для імпорту."
        assert RowIssue(row=2, code="not_phone", params={"value": "x"}).message == "«x» — не номер телефону; пропущено."


def test_errors_and_issues_survive_json():
    error = FileTooLarge(size=10, limit=5)
    assert error.as_json() == {"code": "too_large", "params": {"size": 10, "limit": 5}}
    issue = RowIssue(row=7, code="bad_date", params={"value": "31.02"}, column="Дата", level="error")
    assert RowIssue.from_json(issue.as_json()) == issue
    assert issue.message == "“31.02” is not a date."
