"""XLSX: sheets, typed cells, formulas (cached values only), and workbooks that must be refused before parsing."""

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from dedup.importing import open_import_file
from dedup.importing.errors import DamagedFile, HeaderOnly, NotATable, SheetNotFound, UnsafeFile

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Лист1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""


def handmade_xlsx(sheet_data, *, prolog=""):
    """A minimal workbook whose sheet XML we write ourselves: Excel saves a formula's value next to it (<f> and
    <v>), which openpyxl never writes."""
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f"<sheetData>{sheet_data}</sheetData></worksheet>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def inline(ref, text):
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def openpyxl_xlsx(sheets):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rows_of(data, **options):
    with open_import_file(data, **options) as parsed:
        return parsed, list(parsed.rows())


def test_first_sheet_typed_cells():
    data = openpyxl_xlsx({
        "Клиенты": [["Фамилия", "Телефон", "Дата рождения", "Сумма", "VIP"],
                    ["Иванов", 79161234567, dt.datetime(1985, 3, 15), 1234.5, True],
                    [None, None, None, None, None],
                    ["Петров", "8 (495) 123-45-67", None, None, False]],
        "Архив": [["Старое"], ["x"]],
    })
    parsed, rows = rows_of(data, name="clients.xlsx")
    assert (parsed.format, parsed.sheet, parsed.sheets) == ("xlsx", "Клиенты", ["Клиенты", "Архив"])
    assert parsed.headers == ["Фамилия", "Телефон", "Дата рождения", "Сумма", "VIP"]
    assert [row.number for row in rows] == [2, 4]  # Excel's row numbers; the blank row is skipped
    assert rows[0].values == ["Иванов", 79161234567, dt.datetime(1985, 3, 15), 1234.5, True]
    assert rows[1].values == ["Петров", "8 (495) 123-45-67", None, None, False]


def test_a_chosen_sheet():
    data = openpyxl_xlsx({"Клиенты": [["a"], ["1"]], "Архив": [["Старое"], ["x"]]})
    parsed, rows = rows_of(data, sheet="Архив")
    assert parsed.headers == ["Старое"] and rows[0].values == ["x"]
    with pytest.raises(SheetNotFound) as caught:
        rows_of(data, sheet="Нет такого")
    assert "Клиенты, Архив" in caught.value.message


def test_a_formula_imports_its_saved_value_never_the_formula():
    data = handmade_xlsx(
        f'<row r="1">{inline("A1", "Имя")}{inline("B1", "Сумма")}</row>'
        f'<row r="2">{inline("A2", "Иван")}<c r="B2"><f>SUM(1,2)</f><v>3</v></c></row>'
        f'<row r="3"><c r="A3" t="str"><f>CONCATENATE("Пе","тр")</f><v>Петр</v></c><c r="B3"><v>5</v></c></row>')
    _parsed, rows = rows_of(data)
    assert [row.values for row in rows] == [["Иван", 3], ["Петр", 5]]
    assert all(not row.issues for row in rows)


def test_a_formula_without_a_saved_value_is_an_error_for_its_row():
    """Files written by programs that don't calculate (openpyxl, some exporters) hold formulas without values:
    the cell would silently read as empty, so its row is reported instead."""
    data = openpyxl_xlsx({"Лист": [["Имя", "Сумма"], ["Иван", "=1+2"], ["Петр", 5]]})
    _parsed, rows = rows_of(data)
    assert rows[0].values == ["Иван", None]
    assert [(issue.code, issue.column, issue.params) for issue in rows[0].issues] == [
        ("uncalculated_formula", "Сумма", {"cell": "B2"})]
    assert rows[0].issues[0].is_error
    assert "B2" in rows[0].issues[0].message
    assert rows[1].values == ["Петр", 5] and not rows[1].issues


def test_headers_only_and_empty_workbooks():
    with pytest.raises(HeaderOnly):
        rows_of(openpyxl_xlsx({"Лист": [["Имя", "Телефон"]]}))
    from dedup.importing.errors import EmptyFile

    with pytest.raises(EmptyFile):
        rows_of(openpyxl_xlsx({"Лист": []}))


def test_a_zip_bomb_is_refused_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (40 * 1024 * 1024))  # 40 MB of spaces
    assert len(buffer.getvalue()) < 200 * 1024
    with pytest.raises(UnsafeFile) as caught:
        rows_of(buffer.getvalue(), name="bomb.xlsx")
    assert caught.value.code == "zip_ratio"


def test_unpacked_size_and_entry_count_limits(settings):
    data = openpyxl_xlsx({"Лист": [["Имя"], ["Иван"]]})
    settings.CRM_IMPORT_XLSX_MAX_UNCOMPRESSED = 1000
    with pytest.raises(UnsafeFile) as caught:
        rows_of(data)
    assert caught.value.code == "zip_size"
    assert "1000" in caught.value.message or "1.0" in caught.value.message
    settings.CRM_IMPORT_XLSX_MAX_UNCOMPRESSED = 10 ** 9
    settings.CRM_IMPORT_XLSX_MAX_ENTRIES = 3
    with pytest.raises(UnsafeFile) as caught:
        rows_of(data)
    assert caught.value.code == "zip_entries"


def test_openpyxl_parses_through_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',  # billion laughs
    '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',  # external entity
])
def test_xml_entities_are_refused(prolog):
    data = handmade_xlsx(f'<row r="1">{inline("A1", "Имя")}</row><row r="2">{inline("A2", "&lol2;")}</row>',
                         prolog=prolog)
    with pytest.raises(UnsafeFile) as caught:
        rows_of(data)
    assert caught.value.code == "unsafe_xml"


def test_damaged_workbooks():
    data = openpyxl_xlsx({"Лист": [["Имя"], ["Иван"]]})
    with pytest.raises(DamagedFile):
        rows_of(data[: len(data) // 2])
    broken = handmade_xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>Имя</t></is></c></row><row r="2"><c')
    with pytest.raises(DamagedFile):
        rows_of(broken)


def test_other_archives_and_old_excel_files_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(NotATable) as caught:
        rows_of(buffer.getvalue(), name="contacts.zip")
    assert caught.value.code == "zip_not_xlsx"
    with pytest.raises(NotATable) as caught:
        rows_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000, name="old.xls")
    assert caught.value.code == "xls"
    assert ".xlsx" in caught.value.message
