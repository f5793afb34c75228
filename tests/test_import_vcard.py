"""vCard 2.1, 3.0 and 4.0: the sample files written by other tools (../shared/data/vcards, used as they are),
2.1's quoted-printable and charsets, folded lines, photos, and broken cards among thousands of good ones."""

import datetime as dt
from pathlib import Path

import pytest

from dedup.importing import RowMapper, ValueLocale, auto_map, open_import_file
from dedup.importing.errors import NotATable

SAMPLES = Path("/work/shared/data/vcards")
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared vCard samples are not on this machine")


def mapped(source, region="", **options):
    with open_import_file(source, **options) as parsed:
        mapping = auto_map(parsed.headers, "contact", file_format=parsed.format)
        mapper = RowMapper("contact", mapping, locale=ValueLocale(region=region))
        return parsed, list(mapper.rows(parsed))


def phones(row):
    return [(channel.kind, channel.normalized) for channel in row.channels if channel.channel == "phone"]


@needs_samples
def test_several_values_of_each_property():
    parsed, rows = mapped(SAMPLES / "multiple-values-v3.vcf")
    assert parsed.format == "vcard"
    [row] = rows
    assert row.data["last_name"] == "Schröder" and row.data["first_name"] == "Mark"
    assert row.data["middle_name"] == "Stephe"
    assert row.data["honorific"] == "dr"
    assert row.data["position"] == "Manager, research scientist"  # one field for both TITLEs
    assert row.data["birthday"] == dt.date(1992, 12, 21)
    assert row.data["comment"] == "multi-line\nnote\nsingle line note"
    assert row.data["tags"] == ["cat1", "cat2", "cät3", "one more"]
    assert [link["name"] for link in row.links["companies"]] == ["Company1", "Company2"]
    kinds = [(channel.channel, channel.kind, channel.value) for channel in row.channels]
    # German numbers without a country code: not phones with the default region (RU), each one a warning
    assert [(issue.code, issue.column, issue.level) for issue in row.issues] == [
        ("not_phone", "TEL:cell", "warning")] + [("not_phone", "TEL:work", "warning")] * 3
    assert [value for channel, kind, value in kinds if channel == "email"] == ["mark@example.com", "mark@example.org"]
    assert [value for channel, kind, value in kinds if channel == "web"] == ["http://example.com",
                                                                              "https://example.org"]
    assert ("messenger", "skype", "skype1") in kinds
    assert row.data["address"].startswith("1st Floor, Main street 1, Another City, 12345")  # the home one first


@needs_samples
def test_the_phone_region_reads_numbers_without_a_country_code():
    _parsed, [row] = mapped(SAMPLES / "multiple-values-v3.vcf", region="DE")
    assert phones(row) == [("mobile", "+4916199999999"), ("work", "+499011122200"), ("work", "+499033344400"),
                           ("work", "+499055566600")]
    assert not row.issues


@needs_samples
def test_tel_as_uri():
    _parsed, [row] = mapped(SAMPLES / "tel-value-uri-v3.vcf")
    assert (row.data["first_name"], row.data["last_name"]) == ("bug", "195")  # FN split, no N
    assert [(issue.code, issue.params) for issue in row.issues] == [("not_phone", {"value": "67545678"})]
    _parsed, [row] = mapped(SAMPLES / "tel-value-uri-v3.vcf", region="DE")
    assert phones(row) == [("mobile", "+4967545678")]


@needs_samples
def test_vcard_4_alternative_names_and_a_folded_note():
    _parsed, [row] = mapped(SAMPLES / "altid-folded-v4.vcf")
    assert (row.data["last_name"], row.data["first_name"]) == ("representation", "one")
    assert row.data["comment"] == ("RFC6350 requires N to have cardinality <=1 but allows alternative representations "
                                   "to be included if they are linked by the ALTID parameter.")


@needs_samples
def test_apple_grouped_properties():
    _parsed, [row] = mapped(SAMPLES / "grouped-label-v4.vcf")
    assert row.links["companies"] == [{"name": "Test Inc"}]
    assert row.data["first_name"] == "labeled"


@needs_samples
def test_a_card_that_never_ends_is_reported_not_a_crash():
    _parsed, [row] = mapped(SAMPLES / "unterminated-v4.vcf")
    assert [(issue.code, issue.line, issue.level) for issue in row.issues] == [("unclosed_card", 1, "error")]
    assert row.has_errors


VCARD_21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=windows-1251;ENCODING=QUOTED-PRINTABLE:=C8=E2=E0=ED=EE=E2;=C8=E2=E0=ED;=CF=E5=F2=F0=EE=E2=E8=F7\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD =D0=98=D0=B2=D0=B0=D0=BD=D0=BE=D0=B2\r\n"
    "TEL;CELL;VOICE:+7 916 123-45-67\r\n"
    "TEL;WORK:8 (495) 123-45-67\r\n"
    "EMAIL;INTERNET;PREF:ivan@example.ru\r\n"
    "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9E=D0=9E=D0=9E =D0=A0=D0=BE=D0=BC=D0=B0=D1=88=D0=BA=D0=B0\r\n"
    "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=BF=D0=B5=D1=80=D0=B2=D0=B0=D1=8F =D1=81=D1=82=D1=80=D0=BE=\r\n"
    "=D0=BA=D0=B0=0D=0A=D0=B2=D1=82=D0=BE=D1=80=D0=B0=D1=8F\r\n"
    "PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////\r\n"
    "/////////////////////////////////////////////////////////////////////////\r\n"
    "//////////////////////////////////////////2wBDAf//////////////////////////\r\n"
    "\r\n"
    "BDAY:1985-03-15\r\n"
    "END:VCARD\r\n"
)


def test_vcard_21_quoted_printable_charsets_and_photos():
    _parsed, [row] = mapped(VCARD_21.encode("ascii"), name="phone.vcf")
    assert (row.data["last_name"], row.data["first_name"], row.data["middle_name"]) == ("Иванов", "Иван", "Петрович")
    assert row.links["companies"] == [{"name": "ООО Ромашка"}]
    assert row.data["comment"] == "первая строка\nвторая"
    assert row.data["birthday"] == dt.date(1985, 3, 15)
    assert phones(row) == [("mobile", "+79161234567"), ("work", "+74951234567")]
    assert not row.issues


def test_folded_lines_in_vcard_3():
    card = ("BEGIN:VCARD\nVERSION:3.0\nN:Петров;Пётр;;;\nFN:Пётр Петров\nNOTE:очень длинная заметка, которая не\n"
            "  влезла в одну строку\nTEL;TYPE=HOME,VOICE:+7 495 765-43-21\nEND:VCARD\n")
    _parsed, [row] = mapped(card.encode())
    assert row.data["comment"] == "очень длинная заметка, которая не влезла в одну строку"
    assert phones(row) == [("home", "+74957654321")]


def card(number):
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Фамилия{number};Имя{number};;;\r\nFN:Имя{number} Фамилия{number}\r\n"
            f"TEL;TYPE=CELL:+7 916 {number:03d}-{number % 100:02d}-00\r\nEMAIL;TYPE=WORK:user{number}@example.ru\r\n"
            f"ORG:Компания {number % 50}\r\nTITLE:Менеджер\r\nEND:VCARD\r\n")


def test_three_thousand_cards_with_a_broken_one_in_the_middle():
    cards = [card(number) for number in range(3000)]
    broken = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Сломан;Совсем;;;\r\nthis line has no colon at all\r\nEND:VCARD\r\n"
    cards.insert(1500, broken)
    text = "".join(cards)
    broken_line = text[: text.index(broken)].count("\n") + 1
    _parsed, rows = mapped(text.encode(), name="export.vcf")
    assert len(rows) == 3001
    bad = [row for row in rows if row.has_errors]
    assert len(bad) == 1
    [issue] = bad[0].issues
    assert (issue.code, issue.line, bad[0].number) == ("broken_card", broken_line, 1501)
    assert f"line {broken_line}" in issue.message
    good = [row for row in rows if not row.has_errors]
    assert len(good) == 3000
    assert good[-1].data["last_name"] == "Фамилия2999"
    assert good[1500].data["last_name"] == "Фамилия1500"
    assert phones(good[0]) == [("mobile", "+79160000000")]


def test_a_file_without_cards_is_refused():
    with pytest.raises(NotATable) as caught:
        mapped(b"BEGIN:VCALENDAR\nEND:VCALENDAR\n", name="x.vcf", file_format="vcard")
    assert caught.value.code == "no_cards"


def test_a_utf16_vcard_file():
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Коваленко;Олена;Іванівна;;\r\nTEL;TYPE=WORK:044 123 45 67\r\nEND:VCARD\r\n"
    parsed, [row] = mapped(text.encode("utf-16"), region="UA", name="contacts.vcf")
    assert (parsed.format, parsed.encoding) == ("vcard", "utf-16")
    assert row.data["last_name"] == "Коваленко" and phones(row) == [("work", "+380441234567")]
