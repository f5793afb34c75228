"""The import pipeline: decided rows (the preview), each duplicate action, in-file duplicates, ambiguous and
uneditable matches, apply exactly once, undo, the command and the API's entry point."""

import csv
import io
import re

import pytest
from django.core.management import CommandError, call_command

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
from tests.factories import make_user

pytestmark = pytest.mark.django_db
O = ImportRow.Outcome  # noqa: E741
HEADER = ["Фамилия", "Имя", "Мобильный", "E-mail", "Компания", "Должность", "Комментарий"]


def csv_bytes(rows, header=HEADER, delimiter=";", encoding="utf-8-sig"):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def prepared(user, rows, *, on_duplicate="merge", match=(), header=HEADER, entity="contact", **options):
    batch = batch_upload(user=user, entity=entity, content=csv_bytes(rows, header), name=f"{entity}.csv")
    batch_configure(batch, on_duplicate=on_duplicate, match=list(match), **options)
    return batch_prepare(batch, user=user)


def outcomes(batch):
    return [row.outcome for row in batch.rows.order_by("number")]


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


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


def existing(owner, phones=(), emails=(), tags=(), **data):
    from crm_site.models import Tag
    from crm_site.services import record_create

    channels = {"phone": [{"value": p, "kind": "work"} for p in phones],
                "email": [{"value": e, "kind": "work"} for e in emails]}
    if tags:
        data["tags"] = [Tag.objects.get_or_create(name=t)[0].pk for t in tags]
    return record_create(user=owner, entity="contact", data={"owner": owner.pk, **data}, channels=channels)


def test_merge_fills_empty_fields_keeps_conflicts_and_adds_new_phones(importer):
    ivan = existing(importer, last_name="Иванов", first_name="Иван", position="Инженер",
                    phones=["+7 495 000-00-01"], emails=["ivan@example.ru"])
    versions_before = ivan.history.count()
    batch = prepared(importer, [["Иванов", "Иван", "+7 916 555-44-33", "ivan@example.ru", "", "Директор",
                                 "из файла"]])
    [row] = batch.rows.all()
    assert row.outcome == O.MERGE and row.target_id == ivan.pk
    actions = {d["field"]: d["action"] for d in row.diff}
    assert actions == {"comment": "fill", "position": "conflict", "phone": "add"}
    assert any("Инженер" in message_text(m) and "Директор" in message_text(m) for m in row.messages)
    assert ivan.history.count() == versions_before  # the preview writes nothing
    batch_apply(batch.pk, user=importer)
    ivan.refresh_from_db()
    assert (ivan.position, ivan.comment) == ("Инженер", "из файла")
    assert set(ivan.communications.filter(channel="phone").values_list("normalized", flat=True)) == {
        "+74950000001", "+79165554433"}
    assert ivan.history.count() == versions_before + 1
    from timeline.models import Entry

    assert Entry.objects.filter(kind="imported", links__object_id=ivan.pk, data__batch=batch.pk).exists()
    # undo: back to the state before the import, through its history
    report = batch_undo(batch, user=importer)
    assert report["restored"] == 1
    ivan.refresh_from_db()
    assert ivan.comment == ""
    assert list(ivan.communications.filter(channel="phone").values_list("normalized", flat=True)) == [
        "+74950000001"]


def test_replace_overwrites_mapped_values_and_the_mapped_phone_kinds(importer):
    ivan = existing(importer, last_name="Иванов", first_name="Иван", position="Инженер",
                    phones=["+7 495 000-00-01"], emails=["ivan@example.ru"])
    Communication.objects.filter(object_id=ivan.pk, channel="phone").update(kind="mobile")
    batch = prepared(importer, [["Иванов", "Иван", "+7 916 555-44-33", "ivan@example.ru", "", "Директор", ""]],
                     on_duplicate="replace")
    [row] = batch.rows.all()
    assert row.outcome == O.REPLACE
    batch_apply(batch.pk, user=importer)
    ivan.refresh_from_db()
    assert ivan.position == "Директор"
    assert list(ivan.communications.filter(channel="phone").values_list("normalized", flat=True)) == [
        "+79165554433"]


def test_skip_and_allow(importer):
    existing(importer, last_name="Иванов", first_name="Иван", emails=["ivan@example.ru"])
    line = ["Иванов", "Иван", "", "ivan@example.ru", "", "", "новый комментарий"]
    skip = prepared(importer, [line], on_duplicate="skip")
    assert outcomes(skip) == [O.SKIP]
    batch_apply(skip.pk, user=importer)
    assert Contact.objects.count() == 1 and not Contact.objects.get().comment
    allow = prepared(importer, [line], on_duplicate="allow")
    assert outcomes(allow) == [O.CREATE]
    batch_apply(allow.pk, user=importer)
    assert Contact.objects.count() == 2


def test_ambiguous_match_is_reported_and_skipped(importer):
    existing(importer, last_name="Иванов", first_name="Иван", emails=["ivan@example.ru"])
    existing(importer, last_name="Иванов", first_name="Иван", emails=["ivan@example.ru"])
    batch = prepared(importer, [["Иванов", "Иван", "", "ivan@example.ru", "", "", "x"]])
    assert outcomes(batch) == [O.AMBIGUOUS]
    batch_apply(batch.pk, user=importer)
    assert not Contact.objects.filter(comment="x").exists()


def test_a_match_the_importer_cannot_edit_is_left_alone_and_not_shown(importer, other_user):
    hidden = existing(other_user, last_name="Секретов", first_name="Сергей", position="Тайный агент",
                      emails=["secret@example.ru"])
    batch = prepared(importer, [["Секретов", "Сергей", "", "secret@example.ru", "", "", "x"]])
    [row] = batch.rows.all()
    assert row.outcome == O.CANNOT_EDIT and row.diff == []
    text = " ".join(message_text(m) for m in row.messages)
    assert "cannot edit" in text and "Тайный" not in text and not re.search(rf"\b{hidden.pk}\b", text)
    batch_apply(batch.pk, user=importer)
    hidden.refresh_from_db()
    assert hidden.comment == ""


def test_match_criteria_restrict_what_counts(importer):
    existing(importer, last_name="Иванов", first_name="Иван", phones=["+7 495 000-00-01"])
    line = ["Иванов", "Иван", "+7 495 000-00-01", "", "", "", ""]
    assert outcomes(prepared(importer, [line], match=["email"])) == [O.CREATE]
    assert outcomes(prepared(importer, [line], match=["phone"])) == [O.UNCHANGED]


def test_preview_equals_apply_and_a_change_in_between_is_refused(importer):
    ivan = existing(importer, last_name="Иванов", first_name="Иван", emails=["ivan@example.ru"])
    rows = [["Иванов", "Иван", "", "ivan@example.ru", "", "", "из файла"],
            ["Сидоров", "Пётр", "", "petr@example.ru", "", "", ""],
            ["Кузнецов", "", "", "bad-email", "", "", ""]]
    batch = prepared(importer, rows)
    preview = [(r.number, r.outcome, r.target_id) for r in batch.rows.order_by("number")]
    batch_apply(batch.pk, user=importer)
    applied = [(r.number, r.outcome, r.target_id) for r in batch.rows.order_by("number")]
    assert preview == applied and all(r.applied for r in batch.rows.all())
    # the same file again, but the record changes after the preview
    again = prepared(importer, [["Иванов", "Иван", "", "ivan@example.ru", "", "", "другой"]], on_duplicate="replace")
    from crm_site.services import record_update

    record_update(user=importer, obj=Contact.objects.get(pk=ivan.pk), data={"position": "Новая"})
    batch_apply(again.pk, user=importer)
    [row] = again.rows.all()
    assert row.outcome == O.ERROR and "changed after the preview" in message_text(row.messages[-1])
    assert Contact.objects.get(pk=ivan.pk).comment == "из файла"


def test_undo_bins_created_records_and_reports_those_changed_since(importer):
    batch = prepared(importer, [["Иванов", "Иван", "", "ivan@example.ru", "Вектор", "", ""],
                                ["Петров", "Пётр", "", "petr@example.ru", "", "", ""]])
    batch_apply(batch.pk, user=importer)
    from crm_site.services import record_update

    petr = Contact.objects.get(last_name="Петров")
    record_update(user=importer, obj=petr, data={"comment": "позвонил"})
    report = batch_undo(batch, user=importer)
    assert report["binned"] == 1 and report["kept"] == [3] and report["companies"] == 1
    assert list(Contact.objects.values_list("last_name", flat=True)) == ["Петров"]
    assert Contact.all_objects.in_bin().filter(last_name="Иванов").exists()
    assert not Company.objects.exists()


def test_all_or_nothing_writes_nothing_when_a_row_is_refused(importer, monkeypatch):
    batch = prepared(importer, [["Иванов", "Иван", "", "", "", "", ""], ["Петров", "", "", "", "", "", ""]],
                     all_or_nothing=True)
    ImportRow.objects.filter(batch=batch, number=3).update(plan={"data": {"last_name": "", "first_name": ""}})
    batch = batch_apply(batch.pk, user=importer)
    assert batch.status == ImportBatch.Status.FAILED and "row 3" in batch.error
    assert not Contact.objects.exists()


def test_the_owner_must_be_within_the_import_right(importer, other_user, manager):
    with pytest.raises(Exception) as error:
        batch_upload(user=manager, entity="contact", content=csv_bytes([["A", "B", "", "", "", "", ""]]),
                     name="x.csv")
    assert type(error.value).__name__ == "PermissionDenied"
    batch = batch_upload(user=importer, entity="contact", content=csv_bytes([["Иванов", "Иван", "", "", "", "", ""]]),
                         name="x.csv")
    batch_configure(batch, defaults={"owner": other_user.pk})
    batch = batch_prepare(batch, user=importer)
    [row] = batch.rows.all()
    assert row.outcome == O.ERROR and "bob" in message_text(row.messages[-1])


def test_import_rows_takes_mapped_dicts_for_the_api(importer):
    existing(importer, last_name="Иванов", first_name="Иван", emails=["ivan@example.ru"])
    batch, report = import_rows(importer, "contact", [
        {"data": {"last_name": "Иванов", "first_name": "Иван", "comment": "api"}, "emails": ["IVAN@example.ru"]},
        {"data": {"last_name": "Новиков", "first_name": "Олег"}, "phones": ["+7 916 000 11 22"], "tags": ["api"],
         "links": {"companies": [{"name": "ООО Вектор"}]}},
        {"data": {"last_name": ""}},
    ], on_duplicate="merge")
    assert [item["outcome"] for item in report] == ["merge", "create", "error"]
    assert report[1]["id"] and Contact.objects.get(pk=report[1]["id"]).companies.get().name == "ООО Вектор"
    assert report[2]["messages"]


def test_the_command_prints_counts_and_fails_on_an_unreadable_file(importer, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_bytes(csv_bytes([["Иванов", "Иван", "", "ivan@example.ru", "", "", ""]], encoding="cp1251"))
    out = io.StringIO()
    call_command("import_records", "contacts", str(path), "--owner", "imp", "--dry-run", stdout=out)
    assert "create: 1" in out.getvalue() and not Contact.objects.exists()
    report = tmp_path / "report.csv"
    call_command("import_records", "contact", str(path), "--owner", "imp", "--report", str(report),
                 "--on-duplicate", "skip", "--match", "email", stdout=io.StringIO())
    assert Contact.objects.count() == 1 and "create" in report.read_text(encoding="utf-8-sig")
    bad = tmp_path / "junk.csv"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(CommandError, match="binary"):
        call_command("import_records", "contacts", str(bad), "--owner", "imp", stdout=io.StringIO())
    assert Contact.objects.count() == 1


def test_deal_rows_link_their_company_by_name_and_contacts_by_email_or_phone(importer):
    from crm_site.services import record_create
    from deals.models import Deal
    from tests.factories import pipeline

    company = record_create(user=importer, entity="company", data={"owner": importer.pk, "name": "ООО «Ромашка»"})
    ivan = existing(importer, last_name="Иванов", first_name="Иван", emails=["ivan@example.ru"],
                    phones=["+7 916 000-11-22"])
    sales = pipeline()
    stage = sales.stages.order_by("order", "pk").first()
    _batch, report = import_rows(importer, "deal", [
        {"data": {"title": "Поставка", "pipeline": sales.pk, "stage": stage.pk},
         "links": {"company": [{"name": "Ромашка"}], "contacts": [{"email": "IVAN@example.ru"}, {"phone": "89160001122"},
                                                                  {"email": "nobody@example.ru"}]}},
    ])
    [item] = report
    assert item["outcome"] == "create"
    deal = Deal.objects.get(pk=item["id"])
    assert deal.company_id == company.pk and list(deal.contacts.all()) == [ivan]
    assert any("nobody@example.ru" in text for text in item["messages"])


def test_custom_fields_come_through_the_target_hook(importer):
    from dedup.importing import Target, register_target_provider
    from dedup.importing.targets import unregister_target_provider

    def provider(entity):
        return [Target("custom:size", "Size", "custom", name="size", parse=lambda cell, locale: str(cell).strip(),
                       labels=("Size",))] if entity.key == "contact" else []

    register_target_provider(provider)
    try:
        header = ["Фамилия", "Имя", "E-mail", "Size"]
        batch = prepared(importer, [["Иванов", "Иван", "ivan@example.ru", "XL"]], header=header)
        batch_apply(batch.pk, user=importer)
        ivan = Contact.objects.get()
        assert ivan.custom_fields == {"size": "XL"}
        again = prepared(importer, [["Иванов", "Иван", "ivan@example.ru", "XXL"]], header=header)
        [row] = again.rows.all()
        assert row.outcome == O.UNCHANGED and row.diff[0]["action"] == "conflict"
        replace = prepared(importer, [["Иванов", "Иван", "ivan@example.ru", "XXL"]], header=header,
                           on_duplicate="replace")
        batch_apply(replace.pk, user=importer)
        ivan.refresh_from_db()
        assert ivan.custom_fields == {"size": "XXL"}
    finally:
        unregister_target_provider(provider)


def test_cancel_stops_at_a_chunk_boundary_and_undo_takes_back_what_was_applied(importer):
    from dedup.importing.pipeline import batch_cancel, batch_progress

    rows = [[f"Фамилия{n}", f"Имя{n}", "", f"user{n}@example.ru", "", "", ""] for n in range(12)]
    batch = prepared(importer, rows)
    seen = []

    def on_chunk(current):
        seen.append(batch_progress(current)["done"])
        batch_cancel(current)

    batch = batch_apply(batch.pk, user=importer, chunk=5, on_chunk=on_chunk)
    assert batch.status == ImportBatch.Status.CANCELLED and seen == [5]
    assert Contact.objects.count() == 5 == batch.rows.filter(applied=True).count()
    assert batch_undo(batch, user=importer)["binned"] == 5 and not Contact.objects.exists()



def _possibly(monkeypatch, *, base=None, in_file=False):
    """The engine answers "possible duplicate, 78%" for rows matching `base` and for in-file pairs."""
    from dedup import scoring

    verdict = scoring.Verdict(outcome=scoring.POSSIBLE, probability=0.78, weight=3.0, reasons=(
        {"code": "phone", "level": "shared_line", "agree": True},), conflicts=())
    if base is not None:
        monkeypatch.setattr(scoring, "match_rows",
                            lambda key, rows, **kw: [[scoring.Match(base.pk, verdict)] for _row in rows])
    if in_file:
        monkeypatch.setattr(scoring, "within_pairs",
                            lambda key, rows, **kw: [(i, i + 1, verdict) for i in range(len(rows) - 1)])


def test_a_possible_duplicate_is_held_back_and_named_not_created(importer, monkeypatch):
    # Say the same name on an office line colleagues share: the engine isn't sure, so nothing is created.
    knyazev = existing(importer, last_name="Князев", first_name="Тимур", phones=["+7 499 646-41-20"])
    _possibly(monkeypatch, base=knyazev)
    line = ["КНЯЗЕВ", "тимур", "8 (499) 646-41-20", "", "", "Менеджер", ""]
    batch = prepared(importer, [line])
    [row] = batch.rows.all()
    assert row.outcome == O.POSSIBLE and batch.counts == {"possible": 1}
    assert f"#{knyazev.pk}" in message_text(row.messages[-1]) and "78" in message_text(row.messages[-1])
    batch_apply(batch.pk, user=importer)
    assert Contact.objects.count() == 1
    assert outcomes(prepared(importer, [line], match=["email"])) == [O.CREATE]  # not on the chosen criteria
    allow = prepared(importer, [line], on_duplicate="allow")  # checked: someone else, so create anyway
    assert outcomes(allow) == [O.CREATE]
    # Or, keeping the duplicate control for the sure ones: create only the possible duplicates.
    checked = prepared(importer, [line], create_possible=True)
    assert outcomes(checked) == [O.CREATE]


def test_a_possible_duplicate_of_a_hidden_record_names_no_record(importer, other_user, monkeypatch):
    hidden = existing(other_user, last_name="Князев", first_name="Тимур", phones=["+7 499 646-41-20"])
    _possibly(monkeypatch, base=hidden)
    batch = prepared(importer, [["КНЯЗЕВ", "тимур", "8 (499) 646-41-20", "", "", "", ""]])
    [row] = batch.rows.all()
    # (the id as a number of its own: "78%" holds a 7)
    assert row.outcome == O.POSSIBLE and not re.search(rf"\b{hidden.pk}\b", message_text(row.messages[-1]))


def test_a_row_possibly_the_same_as_an_earlier_row_is_held_back(importer, monkeypatch):
    _possibly(monkeypatch, in_file=True)
    batch = prepared(importer, [["Князев", "Тимур", "+7 499 646-41-20", "", "", "", ""],
                                ["КНЯЗЕВ", "тимур", "8 (499) 646-41-20", "", "", "", ""]])
    first, second = batch.rows.order_by("number")
    assert (first.outcome, second.outcome) == (O.CREATE, O.POSSIBLE)
    assert f"row {first.number}" in message_text(second.messages[-1])
    batch_configure(batch, create_possible=True)  # the importer looked at the preview: two people
    assert outcomes(batch_prepare(batch, user=importer)) == [O.CREATE, O.CREATE]
    batch_configure(batch, create_possible=False)
    batch_apply(batch_prepare(batch, user=importer).pk, user=importer)
    assert Contact.objects.count() == 1


def test_a_value_the_write_would_refuse_is_left_out_at_the_preview_not_refused_at_the_apply(importer):
    # A regex takes "иван@пример.рф" for an address; the write service's validator doesn't. The preview uses
    # the service's own check, so the row goes in without it instead of being refused whole at the apply.
    header = ["Фамилия", "Имя", "E-mail", "Сайт"]
    batch = prepared(importer, [["Иванов", "Иван", "иван@пример.рф", "http://"]], header=header)
    [row] = batch.rows.all()
    assert row.outcome == O.CREATE
    texts = " ".join(message_text(m) for m in row.messages)
    assert "иван@пример.рф" in texts and "not a web address" in texts
    batch = batch_apply(batch.pk, user=importer)
    assert batch.counts == {"create": 1}
    assert not Contact.objects.get().communications.exists()


def test_the_same_name_on_the_same_phone_is_held_back_whatever_the_engine_makes_of_it(importer, monkeypatch):
    # A name the file repeats fifty times weighs little, so the engine may call the pair no match; the same
    # full name on the same phone, with nothing against it, is still held back, not created twice.
    from dedup import scoring

    volkov = existing(importer, last_name="Волков", first_name="Алексей", phones=["+7 343 561-72-75"])

    def engine(reasons):
        verdict = scoring.Verdict(outcome=scoring.NO_MATCH, probability=0.3, weight=-1.0, reasons=reasons,
                                  conflicts=())
        monkeypatch.setattr(scoring, "match_rows",
                            lambda key, rows, **kw: [[scoring.Match(volkov.pk, verdict)] for _row in rows])

    same = ({"code": "last_name", "level": "exact", "agree": True},
            {"code": "first_name", "level": "exact", "agree": True},
            {"code": "phone", "level": "shared_line", "agree": True})
    line = ["ВОЛКОВ", "алексей", "8 (343) 561-72-75", "", "", "", ""]
    engine(same + ({"code": "position", "level": "different", "agree": False},))  # a new job title is no proof
    assert outcomes(prepared(importer, [line])) == [O.POSSIBLE]
    engine(same + ({"code": "birthday", "level": "different", "agree": False},))  # a son on his father's line
    assert outcomes(prepared(importer, [line])) == [O.CREATE]


def test_an_apostrophe_lost_to_windows_1251_still_finds_the_person(importer):
    # Excel saves `Демʼянюк` as Windows-1251 with a `?` for the apostrophe; a colleague shares the office line,
    # and the job title has changed: the row is the same person, never a new record.
    existing(importer, last_name="Демʼянюк", first_name="Валентина", middle_name="Романівна", position="Бухгалтер",
             phones=["+380 61 918 06 59"])
    existing(importer, last_name="Коваль", first_name="Олег", phones=["+380 61 918 06 59"])
    content = csv_bytes([["ДЕМ?ЯНЮК", "валентина", "+380619180659", "", "", "Менеджер", ""]], encoding="cp1251")
    batch = batch_upload(user=importer, entity="contact", content=content, name="contacts.csv")
    batch_configure(batch, on_duplicate="merge")
    assert outcomes(batch_prepare(batch, user=importer)) in ([O.MERGE], [O.UNCHANGED], [O.POSSIBLE])
