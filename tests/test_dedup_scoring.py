"""The scoring engine (issue 18): each hard case grouped or kept apart as a person would, term frequencies,
names that must not contradict, auto-merge only without conflicts, and the batch API the import uses."""

from datetime import date

import pytest
from django.contrib.contenttypes.models import ContentType

from contacts.models import Contact
from crm_site import events
from dedup import names, scoring
from dedup.matching import candidates_for_record
from dedup.models import DuplicateRule, MatchKey
from dedup.scan import scan_entity
from tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db

BLANK = {"middle_name": "", "birthday": None, "address": "", "position": ""}


def contact(user, **fields):
    """A contact with only what the test gives (the factory's shared birthday/address/position left out)."""
    obj = make_contact(user, **{**BLANK, **fields})
    events.record_event(events.CREATED, obj=obj, user=user)
    return obj


def company(user, **fields):
    obj = make_company(user, **{"tax_id": "", "website": "", **fields})
    events.record_event(events.CREATED, obj=obj, user=user)
    return obj


def grouped(*records):
    ids = {r.pk for r in records}
    return any(ids <= set(g["ids"]) for g in scan_entity(type(records[0]).entity().key).groups)


def verdict(a, b, entity="contact"):
    return scoring.score(entity, a, b)


# ---------------------------------------------------------------------------
# Hard negatives: never grouped


def test_colleagues_sharing_the_office_phone_and_domain_are_not_grouped(user):
    office = company(user, name="ООО «Вектор»", phones=["+7 495 100-00-00"])
    a = contact(user, last_name="Пономарев", first_name="Руслан", middle_name="Борисович",
                phones=["+7 495 100-00-00"], emails=["r.ponomarev@vector.ru"], companies=[office])
    b = contact(user, last_name="Савин", first_name="Николай", middle_name="Дмитриевич",
                phones=["+7 495 100-00-00"], emails=["n.savin@vector.ru"], companies=[office])
    assert not grouped(a, b)
    [found] = candidates_for_record(b)
    assert found.obj == a and found.different_person and found.verdict.outcome == scoring.DIFFERENT_PERSON
    assert found.score <= 5 and not found.verdict.auto_mergeable
    assert "first names differ: Николай / Руслан" in found.explanation
    assert "a company's main line" in found.explanation


def test_namesakes_with_other_phones_and_birthdays_are_not_grouped(user):
    a = contact(user, last_name="Иванов", first_name="Иван", middle_name="Петрович", birthday=date(1980, 3, 1),
                phones=["+7 916 111-11-11"], address="Москва, ул. Ленина, д. 1")
    b = contact(user, last_name="Иванов", first_name="Иван", middle_name="Петрович", birthday=date(1975, 9, 9),
                phones=["+7 916 222-22-22"], address="Тверь, ул. Мира, д. 9")
    assert not grouped(a, b)
    result = verdict({"last_name": "Иванов", "first_name": "Иван", "birthday": "1980-03-01", "phones": ["+79161111111"]},
                     {"last_name": "Иванов", "first_name": "Иван", "birthday": "1975-09-09", "phones": ["+79162222222"]})
    assert not result.is_duplicate
    assert any(r["code"] == "birthday" and r["level"] == "different" for r in result.disagreed)


@pytest.mark.parametrize("second", [
    {"last_name": "Петрова", "first_name": "Мария", "middle_name": "Ивановна"},  # wife: other name and gender
    {"last_name": "Петров", "first_name": "Алексей", "middle_name": "Сергеевич"},  # son: same gender, other name
])
def test_family_sharing_a_home_phone_and_email_is_a_different_person(user, second):
    home = {"phones": ["+7 495 765-43-21"], "emails": ["petrovy@mail.ru"], "address": "Казань, ул. Мира, д. 5, кв. 2"}
    a = contact(user, last_name="Петров", first_name="Сергей", middle_name="Павлович", **home)
    b = contact(user, **second, **home)
    assert not grouped(a, b)
    result = verdict({"last_name": "Петров", "first_name": "Сергей", "middle_name": "Павлович", **home},
                     {**second, **home})
    assert result.outcome == scoring.DIFFERENT_PERSON and result.percent <= 5 and not result.auto_mergeable


def test_gender_from_the_patronymic_and_the_surname_form_tells_spouses_apart(user):
    shared = {"phones": ["+380 44 123 45 67"]}
    result = verdict({"last_name": "Коваленко", "first_name": "Женя", "middle_name": "Петрівна", **shared},
                     {"last_name": "Коваленко", "first_name": "Женя", "middle_name": "Петрович", **shared})
    assert result.outcome == scoring.DIFFERENT_PERSON
    assert any(r["code"] == "gender" and r["level"] == "different" for r in result.reasons)
    result = verdict({"last_name": "Иванова", "first_name": "В.", **shared}, {"last_name": "Иванов", "first_name": "В.", **shared})
    assert result.outcome == scoring.DIFFERENT_PERSON
    assert names.gender("", "Руслан", "") == "m" and names.gender("", "", "Борисовна") == "f"
    assert names.gender("Дубина", "", "") == ""  # a Ukrainian surname in -а is anyone's


def test_branches_of_one_company_are_not_duplicates(user):
    head = company(user, name="ООО «Ромашка»", tax_id="7701234567", kpp="770101001", phones=["+7 495 200-00-00"])
    branch = company(user, name="ООО «Ромашка»", tax_id="7701234567", kpp="165501001", phones=["+7 843 200-00-00"])
    assert not grouped(head, branch)
    same = company(user, name="Romashka LLC", tax_id="7701234567", kpp="770101001", phones=["+7 495 200-00-00"])
    assert grouped(head, same)
    result = verdict({"name": "ООО «Ромашка»", "tax_id": "7701234567", "kpp": "770101001"},
                     {"name": "ООО «Ромашка»", "tax_id": "7701234567", "kpp": "165501001"}, entity="company")
    assert "another branch (KPP 770101001 / 165501001)" in result.explanation and not result.is_duplicate


def test_people_at_two_branches_sharing_the_central_line_are_not_grouped(user):
    central = company(user, name="Сигма", phones=["+7 800 555-35-35"])
    a = contact(user, last_name="Миронова", first_name="Ольга", phones=["+7 800 555-35-35"], companies=[central],
                emails=["o.mironova@sigma.ru"])
    b = contact(user, last_name="Миронова", first_name="Елена", phones=["+7 800 555-35-35"], emails=["e.mironova@sigma.ru"])
    assert not grouped(a, b)


def test_generic_mailbox_is_weak_evidence(user):
    personal = verdict({"last_name": "Орлов", "first_name": "Денис", "emails": ["d.orlov@acme.ru"]},
                       {"last_name": "Орлов", "first_name": "Денис", "emails": ["d.orlov@acme.ru"]})
    shared = verdict({"last_name": "Орлов", "first_name": "Денис", "emails": ["info@acme.ru"]},
                     {"last_name": "Орлов", "first_name": "Денис", "emails": ["info@acme.ru"]})
    weight = {r["code"]: r for r in personal.reasons}["email"]["weight"]
    mailbox = {r["code"]: r for r in shared.reasons}["email"]
    assert mailbox["level"] == "mailbox" and mailbox["weight"] < weight / 2
    assert "same shared mailbox info@acme.ru" in shared.explanation


def test_a_company_main_line_weighs_less_than_a_personal_phone(user):
    company(user, name="Гранит", phones=["+7 495 300-00-00"])
    line = verdict({"last_name": "Зуев", "first_name": "Павел", "phones": ["+7 495 300-00-00"]},
                   {"last_name": "Зуев", "first_name": "Павел", "phones": ["+7 495 300-00-00"]})
    mobile = verdict({"last_name": "Зуев", "first_name": "Павел", "phones": ["+7 916 300-00-00"]},
                     {"last_name": "Зуев", "first_name": "Павел", "phones": ["+7 916 300-00-00"]})
    line_reason = {r["code"]: r for r in line.reasons}["phone"]
    assert line_reason["level"] == "shared_line"
    assert line_reason["weight"] < {r["code"]: r for r in mobile.reasons}["phone"]["weight"] / 2
    assert line.probability < mobile.probability


# ---------------------------------------------------------------------------
# The same person written otherwise: grouped


@pytest.mark.parametrize("a, b", [
    ({"last_name": "Щербаков", "first_name": "Юрий"}, {"last_name": "Щербакв", "first_name": "Юрий"}),  # typo
    ({"last_name": "Щербаков", "first_name": "Юрий", "middle_name": "Олегович"},
     {"last_name": "Щербаков", "first_name": "Юрий"}),  # missing patronymic
    ({"last_name": "Щербаков", "first_name": "Юрий", "middle_name": "Олегович"},
     {"last_name": "Щербаков", "first_name": "Ю.", "middle_name": "О."}),  # initials
    ({"last_name": "Щербаков", "first_name": "Юрий"}, {"last_name": "Юрий", "first_name": "Щербаков"}),  # swapped
    ({"last_name": "Иванов", "first_name": "Александр"}, {"last_name": "Иванов", "first_name": "Саша"}),
    ({"last_name": "Иванов", "first_name": "Николай"}, {"last_name": "Иванов", "first_name": "Коля"}),
    ({"last_name": "Шевченко", "first_name": "Олександр"}, {"last_name": "Шевченко", "first_name": "Сашко"}),
    ({"last_name": "Bell", "first_name": "William"}, {"last_name": "Bell", "first_name": "Bill"}),
    ({"last_name": "Щербаков", "first_name": "Юрий"}, {"last_name": "Shcherbakov", "first_name": "Yurii"}),  # passport
    ({"last_name": "Щербаков", "first_name": "Юрий"}, {"last_name": "Shherbakov", "first_name": "Yurij"}),  # GOST 7.79
    ({"last_name": "Хрущёв", "first_name": "Пётр"}, {"last_name": "Khrushchyov", "first_name": "Pyotr"}),  # BGN
    ({"last_name": "Ёлкин", "first_name": "Фёдор"}, {"last_name": "Елкин", "first_name": "Федор"}),  # ё/е
    ({"last_name": "Олійник", "first_name": "Юлія"}, {"last_name": "Oliinyk", "first_name": "Yuliia"}),  # і/ї
    ({"last_name": "Євтушенко", "first_name": "Євген"}, {"last_name": "Евтушенко", "first_name": "Евген"}),  # є/е
])
def test_the_same_person_written_otherwise_is_grouped(user, a, b):
    shared = {"phones": ["+7 903 123-45-67"], "birthday": date(1984, 5, 6)}
    first, second = contact(user, **a, **shared), contact(user, **b, **shared)
    assert grouped(first, second)
    result = verdict({**a, **shared}, {**b, **shared})
    assert result.is_duplicate and not any(r["level"] == "different" for r in result.reasons)


def test_a_person_who_changed_company_is_grouped(user):
    old, new = company(user, name="Альфа"), company(user, name="Бета")
    a = contact(user, last_name="Котов", first_name="Андрей", middle_name="Ильич", birthday=date(1979, 2, 3),
                phones=["+7 916 555-00-11", "+7 495 111-22-33"], emails=["kotov@alfa.ru"], companies=[old])
    b = contact(user, last_name="Котов", first_name="Андрей", middle_name="Ильич", birthday=date(1979, 2, 3),
                phones=["8 916 555 00 11"], emails=["a.kotov@beta.ru"], companies=[new])
    assert grouped(a, b)


def test_a_birthday_a_day_off_is_close_not_different(user):
    result = verdict({"last_name": "Лебедев", "first_name": "Олег", "birthday": "1990-05-05", "phones": ["+79031112233"]},
                     {"last_name": "Лебедев", "first_name": "Олег", "birthday": "1990-05-06", "phones": ["+79031112233"]})
    assert result.is_duplicate and {r["code"]: r for r in result.reasons}["birthday"]["level"] == "close"
    assert "birthday" in result.conflicts and not result.auto_mergeable  # a person picks the right date


def test_phones_a_neighbouring_region_would_read_match(user):
    result = verdict({"last_name": "Гайдамака", "first_name": "Наталія", "phones": ["+380 93 829 69 28"]},
                     {"last_name": "Гайдамака", "first_name": "Наталія", "phones": ["380 93 8296928"]})
    assert {r["code"]: r for r in result.reasons}["phone"]["level"] == "exact"


# ---------------------------------------------------------------------------
# Term frequencies, calibration, auto-merge


def test_a_shared_phone_weighs_less_as_more_records_share_it(user):
    pair = ({"last_name": "Руднев", "first_name": "Глеб", "phones": ["+7 495 999-00-00"]},
            {"last_name": "Руднев", "first_name": "Глеб", "phones": ["+7 495 999-00-00"]})
    weights = []
    for holders in (2, 10, 200):
        result = scoring.score("contact", *pair, counts={("phone", "+74959990000"): holders}, records=100_000)
        weights.append({r["code"]: r for r in result.reasons}["phone"]["weight"])
    assert weights[0] > weights[1] > weights[2]
    # The same from the base itself: records sharing the phone, counted in SQL from the match keys.
    before = {r["code"]: r for r in scoring.score("contact", *pair).reasons}["phone"]["weight"]
    for i in range(8):
        contact(user, last_name=f"Коллега{i}", first_name="Иван", phones=["+7 495 999-00-00"])
    after = {r["code"]: r for r in scoring.score("contact", *pair).reasons}["phone"]["weight"]
    assert after < before
    content_type = ContentType.objects.get_for_model(type(contact(user, last_name="X", first_name="Y")))
    assert scoring.base_counts(content_type, {"phone": ["+74959990000"]}) == {("phone", "+74959990000"): 8}


def test_a_rare_surname_weighs_more_than_a_common_one(user):
    for i in range(30):
        contact(user, last_name="Иванов", first_name=f"Имя{i}")
    common = scoring.score("contact", {"last_name": "Иванов", "first_name": "Олег"}, {"last_name": "Иванов", "first_name": "Олег"})
    rare = scoring.score("contact", {"last_name": "Зюзин", "first_name": "Олег"}, {"last_name": "Зюзин", "first_name": "Олег"})
    weight = {r["code"]: r["weight"] for r in common.reasons}, {r["code"]: r["weight"] for r in rare.reasons}
    assert weight[0]["last_name"] < weight[1]["last_name"]


def test_auto_merge_never_fires_on_a_conflict_or_a_name_contradiction(user):
    same = {"phones": ["+7 916 444-55-66"], "emails": ["lena@mail.ru"], "birthday": "1988-08-08",
            "address": "Москва, ул. Тверская, д. 7", "companies": ["Вектор"]}
    clean = verdict({"last_name": "Смирнова", "first_name": "Елена", **same},
                    {"last_name": "Смирнова", "first_name": "Елена", **same})
    assert clean.auto_mergeable and clean.percent >= 97 and clean.conflicts == ()
    conflict = verdict({"last_name": "Смирнова", "first_name": "Елена", "position": "Бухгалтер", **same},
                       {"last_name": "Смирнова", "first_name": "Лена", "position": "Директор", **same})
    assert conflict.is_duplicate and conflict.percent >= 97
    assert set(conflict.conflicts) >= {"first_name", "position"} and not conflict.auto_mergeable
    contradiction = verdict({"last_name": "Смирнова", "first_name": "Елена", **same},
                            {"last_name": "Смирнова", "first_name": "Ольга", **same})
    assert contradiction.outcome == scoring.DIFFERENT_PERSON and not contradiction.auto_mergeable
    # The threshold is the rule's setting.
    DuplicateRule.objects.filter(entity="contact").update(auto_merge_percent=100)
    assert not verdict({"last_name": "Смирнова", "first_name": "Елена", **same},
                       {"last_name": "Смирнова", "first_name": "Елена", **same}).auto_mergeable or clean.percent == 100


def test_scan_groups_offer_auto_merge_only_without_conflicts(user):
    a = contact(user, last_name="Титов", first_name="Роман", phones=["+7 916 777-00-00"], birthday=date(1970, 1, 1))
    b = contact(user, last_name="Титов", first_name="Роман", phones=["8 916 777 00 00"], birthday=date(1970, 1, 1))
    c = contact(user, last_name="Фомин", first_name="Игорь", phones=["+7 916 888-00-00"], position="Инженер")
    d = contact(user, last_name="Фомин", first_name="Игорь", phones=["+7 916 888-00-00"], position="Директор")
    groups = {tuple(g["ids"]): g for g in scan_entity("contact").groups}
    assert groups[(a.pk, b.pk)]["auto_mergeable"] is True
    assert groups[(c.pk, d.pk)]["auto_mergeable"] is False


def test_reasons_say_what_agreed_and_what_disagreed(user):
    result = verdict({"last_name": "Пономарев", "first_name": "Руслан", "phones": ["+7 495 123-45-67"]},
                     {"last_name": "Савин", "first_name": "Николай", "phones": ["8 (495) 123-45-67"]})
    assert [r["code"] for r in result.agreed] == ["phone"]
    assert {r["code"] for r in result.disagreed} == {"first_name", "last_name"}
    assert result.explanation.startswith("same phone +7 495 123-45-67; ")
    assert "first names differ: Руслан / Николай" in result.explanation


# ---------------------------------------------------------------------------
# The batch API the import uses


def test_match_rows_finds_each_rows_duplicates_in_a_fixed_number_of_queries(user, django_assert_max_num_queries):
    saved = [contact(user, last_name=f"Клиент{i}", first_name="Анна", phones=[f"+7 916 000-00-{i:02d}"])
             for i in range(30)]
    rows = [{"last_name": f"Клиент{i}", "first_name": "Аня", "phones": [f"8 916 000 00 {i:02d}"]} for i in range(30)]
    rows.append({"last_name": "Новый", "first_name": "Человек", "phones": ["+7 999 000-00-00"]})
    scoring.match_rows("contact", rows[:1])  # once a process: the key version check, the rules, custom fields
    with django_assert_max_num_queries(8):
        matches = scoring.match_rows("contact", rows)
    assert [m[0].object_id for m in matches[:30]] == [c.pk for c in saved]
    assert all(m[0].verdict.is_duplicate for m in matches[:30]) and matches[30] == []
    with django_assert_max_num_queries(8):
        scoring.match_rows("contact", rows[:2])


def test_match_rows_reports_same_phone_different_person_as_not_a_duplicate(user):
    existing = contact(user, last_name="Пономарев", first_name="Руслан", phones=["+7 495 123-45-67"])
    [found] = scoring.match_rows("contact", [{"last_name": "Савин", "first_name": "Николай",
                                              "phones": ["+7 495 123-45-67"]}])
    assert found[0].object_id == existing.pk and found[0].verdict.outcome == scoring.DIFFERENT_PERSON
    assert not found[0].verdict.is_duplicate
    row = {"last_name": "Савин", "first_name": "Николай", "phones": ["+7 495 123-45-67"]}
    assert scoring.match_rows("contact", [row], shared_contacts=True, different_person=False) == [[]]


def test_match_within_pairs_rows_of_one_file(user):
    rows = [{"last_name": "Орлова", "first_name": "Ирина", "phones": ["+7 916 101-01-01"]},
            {"last_name": "ОРЛОВА", "first_name": "Ира", "phones": ["8 916 101 01 01"]},
            {"last_name": "Орлова", "first_name": "Мария", "phones": ["+7 916 101-01-01"]}]
    pairs = {(i, j): v for i, j, v in scoring.match_within("contact", rows)}
    assert pairs[(0, 1)].is_duplicate
    assert pairs[(0, 2)].outcome == scoring.DIFFERENT_PERSON and pairs[(1, 2)].outcome == scoring.DIFFERENT_PERSON
    # the import asks for the pairs it may merge or hold back only: the other person is not weighed out
    assert [(i, j) for i, j, _v in scoring.match_within("contact", rows, different_person=False)] == [(0, 1)]


def test_match_keys_hold_the_person_parts_and_gender(user):
    a = contact(user, last_name="Иванова", first_name="Мария", middle_name="Петровна", emails=["m@acme.ru"])
    keys = set(MatchKey.objects.filter(object_id=a.pk, content_type=ContentType.objects.get_for_model(a))
               .values_list("kind", "value"))
    assert ("person", "Иванова|Мария|Петровна|f") in keys
    assert ("surname", "ivanov") in keys and ("email_domain", "acme.ru") in keys


def test_keys_written_before_the_scoring_engine_are_rebuilt_once(user):
    from dedup import keys

    a = contact(user, last_name="Пономарев", first_name="Руслан", phones=["+7 495 123-45-67"])
    b = contact(user, last_name="Савин", first_name="Николай", phones=["+7 495 123-45-67"])
    MatchKey.objects.filter(kind__in=["person", "surname", "email_domain", "position"]).delete()  # old keys
    keys._current.discard("contact")
    assert not grouped(a, b)
    assert MatchKey.objects.filter(kind="person", object_id__in=[a.pk, b.pk]).count() == 2


# ---------------------------------------------------------------------------
# A company typed with an existing company's name


def _typed_company(**fields):
    from companies.models import Company
    from dedup.keys import record_keys

    return record_keys(Company(**{"tax_id": "", "kpp": "", "website": "", "address": "", **fields}))


def test_a_rare_company_name_typed_again_is_a_possible_duplicate(user):
    from dedup.matching import find_candidates

    existing = company(user, name="ООО «Ромашка»", address="")
    company(user, name="ООО «Лютик»", address="")
    [found] = find_candidates("company", _typed_company(name="Ромашка"))
    assert found.obj == existing and found.verdict.outcome == scoring.POSSIBLE
    assert 50 <= found.score < 80 and not found.verdict.auto_mergeable
    # with the same phone too it is a duplicate
    company(user, name="ООО «Гвоздика»", address="", phones=["+7 495 700-00-01"])
    [both] = find_candidates("company", _typed_company(name="Гвоздика") | {("phone", "+74957000001")})
    assert both.verdict.is_duplicate and both.score >= 80


def test_a_company_name_many_companies_hold_weighs_less(user):
    from dedup.matching import find_candidates

    rare = company(user, name="ООО «Василёк»", address="")
    for _ in range(9):
        company(user, name="ООО «Ландыш»", address="")
    [alone] = find_candidates("company", _typed_company(name="Василёк"))
    assert alone.obj == rare
    common = find_candidates("company", _typed_company(name="Ландыш"))
    assert common == [] or all(c.score < alone.score and not c.verdict.is_duplicate for c in common)
    assert verdict({"name": "Ландыш"}, {"name": "ООО Ландыш"}, entity="company").probability < 0.5


def test_the_same_company_name_with_another_inn_is_not_a_duplicate(user):
    from dedup.matching import find_candidates

    company(user, name="ООО «Ромашка»", address="", tax_id="7701234567")
    found = find_candidates("company", _typed_company(name="Ромашка", tax_id="7707083893"))
    assert all(not c.verdict.is_duplicate and c.verdict.outcome != scoring.POSSIBLE for c in found)
    result = verdict({"name": "ООО «Ромашка»", "tax_id": "7701234567"}, {"name": "Ромашка", "tax_id": "7707083893"},
                     entity="company")
    assert not result.is_duplicate and result.probability <= scoring.CONTRADICTION_CAP


def test_a_surname_held_by_a_fixed_share_weighs_the_same_in_a_20k_and_a_100k_base():
    a = {"last_name": "Кузнецов", "first_name": "Илья"}
    b = {"last_name": "Кузнецов", "first_name": "Илья", "middle_name": "Петрович"}
    [surname] = [v for kind, v in scoring.keys_of("contact", a) if kind == "surname"]

    def weight(held, records):
        result = scoring.score("contact", a, b, counts={("surname", surname): held}, records=records)
        return {r["code"]: r for r in result.reasons}["last_name"]["weight"]

    # one card in 500: the same share, the same weight (the calibration fitted at 20k holds at 100k)
    assert weight(40, 20_000) == pytest.approx(weight(200, 100_000), abs=0.01)
    assert weight(2, 100_000) > weight(200, 100_000) + 5  # a rare surname weighs much more


def test_base_lookups_are_remembered_only_while_the_base_is_unchanged(user, django_assert_num_queries):
    contact(user, last_name="Орлова", first_name="Ирина", phones=["+7 916 101-01-01"])
    contact(user, last_name="Орлова", first_name="Мария", phones=["+7 916 202-02-02"])
    content_type = ContentType.objects.get_for_model(Contact)
    wanted = {"surname": ["orlov", "nobody"], "phone": ["+79161010101"]}
    plain = scoring.base_counts(content_type, wanted)
    assert plain == {("surname", "orlov"): 2, ("phone", "+79161010101"): 1}
    with scoring.base_unchanged():
        assert scoring.base_counts(content_type, wanted) == plain
        lines = scoring.company_phones(["+79161010101"])
        with django_assert_num_queries(0):  # asked again, absent values included: nothing read
            assert scoring.base_counts(content_type, wanted) == plain
            assert scoring.company_phones(["+79161010101"]) == lines
    contact(user, last_name="Орлов", first_name="Пётр")
    assert scoring.base_counts(content_type, wanted)[("surname", "orlov")] == 3  # outside: read afresh


def test_the_base_answers_which_values_it_holds_and_how_often(user):
    """The look-ups a batch's values get (a row of `unnest` each on PostgreSQL): holders, counts, switchboards."""
    a = contact(user, last_name="Орлова", first_name="Ирина", phones=["+7 916 101-01-01"], emails=["io@example.ru"])
    b = contact(user, last_name="Орлова", first_name="Мария", phones=["+7 916 101-01-01"])
    company(user, name="Орион", phones=["+7 495 100-00-00"])
    content_type = ContentType.objects.get_for_model(Contact)
    table = MatchKey._meta.db_table
    wanted = {"phone": {"+79161010101", "+70000000000"}, "email": {"io@example.ru", "o'hara@example.ru"}}
    held = sorted(scoring._holders(table, content_type, wanted))
    assert held == sorted([("phone", "+79161010101", a.pk), ("phone", "+79161010101", b.pk),
                           ("email", "io@example.ru", a.pk)])
    assert scoring._holders(table, content_type, {}) == []
    assert scoring.base_counts(content_type, wanted) == {("phone", "+79161010101"): 2, ("email", "io@example.ru"): 1}
    # a company's own number is a switchboard; a contact's mobile is not
    assert scoring.company_phones(["+74951000000", "+79161010101", "+70000000000"]) == {"+74951000000"}
