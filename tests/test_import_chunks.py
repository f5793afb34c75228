"""A big file's preview decides and stages its rows a chunk of in-file groups at a time, its rows kept on disk
(dedup.importing.spill), and weighs in-file pairs a chunk at a time (dedup.scoring.match_within): the
decisions are the same whatever the chunks' sizes."""

import pytest

from dedup import scoring
from dedup.importing import pipeline
from dedup.importing.rows import MappedRow
from dedup.importing.spill import RowSpill
from tests.factories import make_contact
from tests.test_import_pipeline import O, existing, outcomes, prepared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("uploads_in_tmp")]

ROWS = [
    ["Иванов", "Иван", "+7 916 123-45-67", "ivan@example.ru", "ООО Ромашка", "Директор", "первый"],
    ["Петрова", "Анна", "8 903 111 22 33", "anna@example.ru", "Ромашка", "Бухгалтер", ""],
    ["Сидоров", "Олег", "8 903 222 33 44", "", "ООО «Василёк»", "", ""],
    ["Козлова", "Мария", "", "maria@example.ru", "", "", ""],
    ["иванов", "иван", "89161234567", "", "", "Менеджер", "второй"],  # row 2's person again, later in the file
    ["Орлов", "Пётр", "+7 495 700-00-01", "", "ООО Ромашка", "", ""],  # the base's, by phone
    ["", "", "+7 999 000-00-00", "", "", "", ""],  # no name: an error
    ["Сидоров", "Олег", "+7 (903) 222-33-44", "oleg@example.ru", "Василёк", "Инженер", ""],  # row 4's again
    ["ОРЛОВ", "пётр", "", "", "", "Водитель", ""],
]


def decisions(batch):
    return [(row.number, row.outcome, row.target_id, row.leader, row.diff, row.messages, row.plan, row.raw)
            for row in batch.rows.order_by("number")]


def test_chunks_of_one_row_decide_as_the_whole_file_does(importer, monkeypatch):
    existing(importer, phones=["+7 495 700-00-01"], last_name="Орлов", first_name="Пётр")
    whole = decisions(prepared(importer, ROWS))
    monkeypatch.setattr(pipeline, "DECIDE_CHUNK", 1)
    monkeypatch.setattr(pipeline, "STAGE_CHUNK", 1)
    monkeypatch.setattr(scoring, "PAIR_CHUNK", 1)
    batch = prepared(importer, ROWS)
    assert decisions(batch) == whole
    assert outcomes(batch) == [O.CREATE, O.CREATE, O.CREATE, O.CREATE, O.IN_FILE, O.MERGE, O.ERROR, O.IN_FILE,
                               O.CREATE]  # the same name alone, no phone or email: a namesake, not merged
    assert batch.total == len(ROWS) and batch.counts == {"create": 5, "in_file": 2, "merge": 1, "error": 1}
    # the companies named on several rows are planned once: rows 1 and 2 link the same planned company
    plans = [row.plan for row in batch.rows.order_by("number")]
    assert plans[0]["links"]["companies"][0]["company"] == plans[1]["links"]["companies"][0]["company"]


def test_in_file_pairs_weighed_in_chunks_are_the_pairs_weighed_at_once(importer, monkeypatch):
    make_contact(importer, last_name="Другой")
    keysets = [{("phone", "+79161234567"), ("surname", "иванов"), ("company", "ромашка")},
               {("phone", "+79161234567"), ("surname", "иванов")},
               {("surname", "иванов"), ("company", "ромашка")},
               {("email", "a@example.ru")}]
    at_once = [(i, j, v.percent, v.outcome) for i, j, v in scoring.match_within("contact", keysets)]
    monkeypatch.setattr(scoring, "PAIR_CHUNK", 1)
    chunked = [(i, j, v.percent, v.outcome) for i, j, v in scoring.match_within("contact", keysets)]
    assert chunked == at_once
    assert [(i, j) for i, j, *_ in at_once] == sorted({(i, j) for i, j, *_ in at_once})


def test_the_spill_gives_back_each_row_by_position():
    with RowSpill() as spill:
        rows = [MappedRow(n, {"last_name": f"Row {n}"}, raw=[f"Row {n}", "x"]) for n in range(1, 6)]
        for row in rows:
            spill.append(row)
        assert len(spill) == 5
        assert [spill[p] for p in (4, 0, 2)] == [rows[4], rows[0], rows[2]]
        with pytest.raises(RuntimeError):
            spill.append(rows[0])  # written first, read after


def test_an_empty_file_decides_nothing(importer):
    decider = pipeline.Decider(importer, "contact", on_duplicate="merge")
    assert decider.decide([]) == []
