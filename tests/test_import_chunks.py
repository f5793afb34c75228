"""A big file's preview decides and stages its rows a chunk of in-file groups at a time, its rows kept on disk
(dedup.importing.spill), and weighs in-file pairs a chunk at a time (dedup.scoring.match_within): the
decisions are the same whatever the chunks' sizes."""

import numpy as np
import pytest

from dedup import scoring, within
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
    monkeypatch.setattr(within, "PAIR_CHUNK", 1)
    monkeypatch.setattr(within, "ROW_CHUNK", 2)
    monkeypatch.setattr(within, "PARTITION_ROWS", 3)
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
    monkeypatch.setattr(within, "PAIR_CHUNK", 1)
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


KEYSETS = [
    {("phone", "+79161234567"), ("surname", "иванов"), ("company", "ромашка"), ("email", "a@x.ru")},
    {("phone", "+79161234567"), ("surname", "иванов"), ("email_domain", "x.ru")},
    {("surname", "иванов"), ("company", "ромашка"), ("position", "директор")},
    {("surname", "петров"), ("company", "ромашка")},
    {("email", "b@y.ru"), ("phone", "+79031112233"), ("phone", "+79031112234"), ("phone", "+79031112235"),
     ("phone", "+79031112236")},
    {("phone", "+79031112236"), ("surname", "сидоров")},
]


def test_the_file_counts_are_the_counts_of_the_whole_files_columns():
    # A row's fourth phone is not compared (SLOTS), nor counted: the counts kept per value are exactly those
    # the whole file's Columns would give, without building them.
    from dedup.within import _FileCounts, _hash, _repeated

    cols = scoring.Columns.from_keysets(KEYSETS)
    held = [_hash((kind, value)) for keys in KEYSETS
            for kind, _slot, value in scoring.coded_values(scoring.keys_by_kind(keys))]
    from array import array

    counts = _FileCounts([_repeated(array("q", held))])
    for kind, values in cols.values.items():
        codes = cols.multi[kind] if kind in cols.multi else cols.single[kind]
        whole = np.bincount(codes[codes >= 0].ravel(), minlength=len(values))
        assert counts.of(kind, values).tolist() == whole.tolist(), kind


def test_pairs_from_the_spill_are_the_pairs_from_a_list(importer, monkeypatch):
    make_contact(importer, last_name="Другой")
    people = [{"last_name": "Иванов", "first_name": "Иван", "phones": ["+7 916 123-45-67"], "companies": ["Ромашка"]},
              {"last_name": "ИВАНОВ", "first_name": "Иван", "phones": ["8 916 123 45 67"]},
              {"last_name": "Иванов", "first_name": "Иван", "middle_name": "Петрович", "companies": ["Ромашка"]},
              {"last_name": "Петров", "first_name": "Олег", "companies": ["Ромашка"]},
              {"last_name": "Петров", "first_name": "Олег", "emails": ["oleg@example.ru"]}]
    keysets = [scoring.keys_of("contact", row) for row in people]
    from_list = sorted((i, j, v.percent) for i, j, v in scoring.within_pairs("contact", keysets))
    with RowSpill() as spill:
        for keys in keysets:
            spill.append(keys)
        from_spill = sorted((i, j, v.percent) for i, j, v in scoring.within_pairs("contact", spill))
    assert from_spill == from_list
    monkeypatch.setattr(within, "PARTITION_ROWS", 2)  # three passes over the key sets, each for a third of the keys
    in_parts = {(i, j): v.percent for i, j, v in scoring.within_pairs("contact", keysets)}
    assert sorted(in_parts.items()) == [((i, j), percent) for i, j, percent in from_list]
    # the same phone; the same name at the same company; not who only shares the company, nor a namesake
    # with nothing else in common
    assert {(0, 1), (0, 2)} <= {(i, j) for i, j, _p in from_list}
    assert not {(0, 3), (2, 3), (3, 4)} & {(i, j) for i, j, _p in from_list}


def test_keys_whose_hashes_collide_give_pairs_that_are_weighed_not_merged(importer, monkeypatch):
    make_contact(importer, last_name="Другой")
    strangers = [{("phone", f"+7916000000{n}"), ("surname", name), ("email", f"{name}@example.ru")}
                 for n, name in enumerate(["орлов", "зайцева", "кузнецов", "лебедева"])]
    monkeypatch.setattr(within, "_hash", lambda key: 7)  # every key "the same"
    found = scoring.match_within("contact", strangers)
    assert not [v for _i, _j, v in found if v.is_duplicate]


def test_a_key_held_by_too_many_rows_blocks_nothing(importer, monkeypatch):
    make_contact(importer, last_name="Другой")
    monkeypatch.setattr(within, "EXACT_BLOCK", 2)
    rows = [{"last_name": "Иванов", "first_name": "Иван", "phones": ["+7 495 000-00-00"]}] * 3  # a switchboard
    assert scoring.match_within("contact", rows) == []
    assert [(i, j) for i, j, _v in scoring.match_within("contact", rows[:2])] == [(0, 1)]


def test_the_file_against_itself_asks_the_base_only_for_what_two_rows_hold(importer, monkeypatch):
    # Only a value a pair shares is weighed by its frequency: a phone or email one row holds alone is not
    # looked up in the base (a 100k-row file's phones were asked for chunk after chunk); a surname always is.
    make_contact(importer, last_name="Орлов", first_name="Пётр", phones=["+7 916 123-45-67"])
    make_contact(importer, last_name="Зайцев", first_name="Олег", phones=["+7 916 123-45-67"])
    people = [{"last_name": "Орлов", "first_name": "Пётр", "phones": ["+7 916 123-45-67", "+7 903 000-00-01"]},
              {"last_name": "Орлов", "first_name": "Пётр", "phones": ["8 916 123 45 67"], "emails": ["p@x.ru"]},
              {"last_name": "Лебедев", "first_name": "Иван", "phones": ["+7 903 000-00-02"]}]
    keysets = [scoring.keys_of("contact", row) for row in people]
    asked = []
    real = scoring._base_counts
    monkeypatch.setattr(scoring, "_base_counts", lambda ct, pairs: asked.extend(pairs) or real(ct, pairs))
    found = {(i, j): (v.percent, v.outcome) for i, j, v in scoring.within_pairs("contact", keysets)}
    assert ("phone", "+79161234567") in asked
    assert not {("phone", "+79030000001"), ("phone", "+79030000002"), ("email", "p@x.ru")} & set(asked)
    assert ("surname", "orlov") in asked
    # the same verdicts as when the base is asked for every value
    monkeypatch.setattr(scoring.Columns, "_held_in_file", lambda self, kind, values: [2] * len(values))
    monkeypatch.setattr(scoring, "_base_counts", real)
    everything = {(i, j): (v.percent, v.outcome) for i, j, v in scoring.within_pairs("contact", keysets)}
    assert found == everything and (0, 1) in found
