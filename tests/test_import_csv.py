"""CSV files as real exports write them: encodings, separators, quotes, odd rows; read streaming."""

import codecs
import csv
import io
import tracemalloc

import pytest
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import SimpleUploadedFile

from dedup.importing import open_import_file
from dedup.importing.detection import detect_delimiter
from dedup.importing.errors import EncodingProblem, ImportFileError

RUSSIAN = [
    ["Фамилия", "Имя", "Отчество", "Телефон", "E-mail", "Компания", "Должность"],
    ["Иванов", "Иван", "Петрович", "8 (495) 123-45-67", "ivan@example.ru", "ООО \"Ромашка\"", "Директор"],
    ["Щербакова", "Ёлка", "Сергеевна", "+7 916 123 45 67", "elka@example.ru", "ТОВ \"Соняшник\"", "Бухгалтер"],
]


def csv_bytes(rows, *, delimiter=",", encoding="utf-8", line_end="\r\n"):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    return buffer.getvalue().encode(encoding)


def read(data, **options):
    with open_import_file(data, **options) as parsed:
        return parsed, [row.values for row in parsed.rows()]


def test_windows_1251_with_semicolons_and_russian_headers():
    """What Russian Excel's "CSV (разделители - точка с запятой)" writes."""
    parsed, rows = read(csv_bytes(RUSSIAN, delimiter=";", encoding="cp1251"), name="клиенты.csv")
    assert (parsed.format, parsed.encoding, parsed.delimiter) == ("csv", "cp1251", ";")
    assert parsed.headers == RUSSIAN[0]
    assert rows == RUSSIAN[1:]


def test_koi8_r():
    parsed, rows = read(csv_bytes(RUSSIAN, delimiter=";", encoding="koi8_r"))
    assert parsed.encoding == "koi8_r"
    assert rows == RUSSIAN[1:]


def test_utf8_with_bom_keeps_the_first_header_clean():
    """django-import-export #965: the BOM glued to the first header."""
    parsed, rows = read(codecs.BOM_UTF8 + csv_bytes(RUSSIAN, delimiter=";"))
    assert parsed.encoding == "utf-8-sig"
    assert parsed.headers[0] == "Фамилия"
    assert rows == RUSSIAN[1:]


def test_utf8_without_bom():
    parsed, rows = read(csv_bytes(RUSSIAN))
    assert (parsed.encoding, parsed.delimiter) == ("utf-8", ",")
    assert rows == RUSSIAN[1:]


@pytest.mark.parametrize("codec, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_utf16_unicode_text_with_tabs(codec, bom):
    """Excel's "Unicode text": UTF-16 with a byte order mark, tab-separated."""
    data = bom + csv_bytes(RUSSIAN, delimiter="\t", encoding=codec)
    parsed, rows = read(data, name="contacts.txt")
    assert (parsed.encoding, parsed.delimiter) == ("utf-16", "\t")
    assert parsed.headers == RUSSIAN[0]
    assert rows == RUSSIAN[1:]


def test_utf16_without_a_bom_is_recognised_too():
    parsed, rows = read(csv_bytes(RUSSIAN, delimiter="\t", encoding="utf-16-le"))
    assert parsed.encoding == "utf-16-le"
    assert rows == RUSSIAN[1:]


def test_cyrillic_after_a_long_latin_start_is_still_found():
    """The encoding is guessed from the file's start and end: 300 KB of Latin rows first don't make it UTF-8."""
    rows = [["Name", "Phone"]] + [["Smith", "+1 650 253 0000"]] * 12_000 + [["Щербаков", "+7 916 123 45 67"]]
    parsed, values = read(csv_bytes(rows, delimiter=";", encoding="cp1251"))
    assert parsed.encoding == "cp1251"
    assert values[-1] == ["Щербаков", "+7 916 123 45 67"]


def test_the_encoding_can_be_chosen():
    data = csv_bytes(RUSSIAN, delimiter=";", encoding="cp866")
    parsed, rows = read(data, encoding="cp866")
    assert rows == RUSSIAN[1:]
    with pytest.raises(ImportFileError) as caught:
        read(data, encoding="klingon-8")
    assert caught.value.code == "unknown_encoding"
    assert "klingon-8" in caught.value.message


def test_a_wrong_encoding_choice_is_a_clear_error():
    data = csv_bytes(RUSSIAN, delimiter=";", encoding="cp1251")
    with pytest.raises(EncodingProblem) as caught:
        read(data, encoding="utf-8")
    assert "utf-8" in caught.value.message and "row" in caught.value.message


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters(delimiter):
    parsed, rows = read(csv_bytes(RUSSIAN, delimiter=delimiter))
    assert parsed.delimiter == delimiter
    assert rows == RUSSIAN[1:]


def test_the_delimiter_can_be_chosen():
    parsed, rows = read(b"a|b\n1|2\n", delimiter="|")
    assert rows == [["1", "2"]]
    parsed, rows = read(b"a\tb\n1\t2\n", delimiter="tab")
    assert rows == [["1", "2"]]
    with pytest.raises(ImportFileError) as caught:
        read(b"a;b\n1;2\n", delimiter=";;")
    assert caught.value.message == "The column separator must be one character."


# Files csv.Sniffer misreads: it counts characters and, when ";" and "," occur equally often in every line,
# prefers the comma. The first is the header Bitrix24's contact import calls "Имя, Фамилия".
SNIFFER_MISREADS = [
    "Имя, Фамилия;Сумма\nИванов Иван;1,5\nПетров Петр;2,5\n",
    "Компания;Город, улица\nРомашка;Москва, Ленина\nСонях;Киев, Хрещатик\n",
]
TRICKY = SNIFFER_MISREADS + [
    "Фамилия;Сумма;Адрес\nИванов;1234,56;ул. Ленина, 5\nПетров;99,90;пр. Мира, 10, кв. 3\n",
    'Name,Address,Phone\nIvan,"Lenina st, 5, Moscow",+7 495 123-45-67\nPetr,"Mira ave, 10",+7 916 000-00-00\n',
    "Имя;Комментарий\nИван;звонил, не дозвонился, перезвонить\nПетр;ок, позже, в понедельник\n",
    'Name;Note\nIvan;"line1\nline2, with comma\nline3"\nPetr;x\n',
]


@pytest.mark.parametrize("text", TRICKY)
def test_delimiter_detection_reads_the_file_as_csv(text):
    expected = "," if text.startswith("Name,") else ";"
    assert detect_delimiter(text) == expected


@pytest.mark.parametrize("text", SNIFFER_MISREADS)
def test_csv_sniffer_is_not_enough(text):
    assert csv.Sniffer().sniff(text).delimiter == ","  # wrong: why detection.detect_delimiter exists


def test_quoted_cells_spanning_lines_and_doubled_quotes():
    data = 'Имя;Комментарий;Компания\r\nИван;"первая строка\r\nвторая; с разделителем";"ООО ""Ромашка"""\r\n' \
           'Петр;;"ИП Петров"\r\n'.encode()
    parsed, rows = read(data)
    assert rows == [["Иван", "первая строка\r\nвторая; с разделителем", 'ООО "Ромашка"'], ["Петр", "", "ИП Петров"]]


def test_row_numbers_are_the_spreadsheets():
    data = "Имя;Телефон\n\nИван;1\n;\n\"Петр\nПетрович\";2\nСидор;3\n".encode()
    with open_import_file(data) as parsed:
        assert [(row.number, row.values[0]) for row in parsed.rows()] == [
            (3, "Иван"), (5, "Петр\nПетрович"), (6, "Сидор")]


def test_short_rows_are_padded_and_long_rows_warned_about():
    with open_import_file(b"a,b,c\n1\n1,2,3,4\n1,2,3,,\n") as parsed:
        rows = list(parsed.rows())
    assert [row.values for row in rows] == [["1", "", ""], ["1", "2", "3"], ["1", "2", "3"]]
    assert [issue.code for issue in rows[1].issues] == ["extra_cells"]
    assert rows[1].issues[0].level == "warning"
    assert rows[2].issues == ()


def test_a_quote_that_never_closes_is_reported_with_its_row():
    with pytest.raises(ImportFileError) as caught:
        read(b'a,b\n1,2\n3,"oops\n5,6\n7,8\n')
    assert caught.value.code == "unclosed_quote"
    assert caught.value.params["row"] == 3
    assert "Row 3" in caught.value.message


def test_a_quote_swallowing_a_large_file_is_reported():
    data = b'a,b\n1,"open\n' + b"2,x\n" * 300_000
    with pytest.raises(ImportFileError) as caught:
        read(data)
    assert caught.value.code == "unclosed_quote"


def test_a_single_column_file_is_fine():
    parsed, rows = read(b"E-mail\na@example.com\nb@example.com\n")
    assert parsed.headers == ["E-mail"]
    assert rows == [["a@example.com"], ["b@example.com"]]


def test_headers_are_cleaned():
    parsed, _rows = read(" Фамилия \u00a0;  Имя\n;x\n".encode())
    assert parsed.headers == ["Фамилия", "Имя"]


def test_uploaded_and_stored_files_are_read_and_left_open():
    upload = SimpleUploadedFile("clients.csv", csv_bytes(RUSSIAN, delimiter=";", encoding="cp1251"))
    with open_import_file(upload) as parsed:
        assert parsed.name == "clients.csv"
        assert len(list(parsed.rows())) == 2
        assert len(list(parsed.rows())) == 2  # read twice: sample, then the whole file
    assert not upload.closed
    stored = ContentFile(csv_bytes(RUSSIAN), name="stored.csv")
    with open_import_file(File(stored)) as parsed:
        assert [row.values[0] for row in parsed.rows()] == ["Иванов", "Щербакова"]


def test_rows_stream_in_flat_memory(tmp_path):
    """The file is never read into a list: reading 60k rows holds about as much memory as reading a few."""
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="cp1251", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(RUSSIAN[0])
        for number in range(60_000):
            writer.writerow([f"Иванов{number}", "Иван", "Петрович", f"8 916 {number:07d}", f"u{number}@example.ru",
                             "ООО «Ромашка»", "Менеджер"])
    size = path.stat().st_size
    with open_import_file(path) as parsed:
        tracemalloc.start()
        count = 0
        for _row in parsed.rows():
            count += 1
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert count == 60_000
    assert peak < size / 20, (peak, size)
