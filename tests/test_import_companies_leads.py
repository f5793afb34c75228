"""Companies and leads through the same import pipeline as contacts: their own headers, duplicate control by
INN / name / phone, re-import as a no-op, values typed as files write them."""

from decimal import Decimal

import pytest

from companies.models import Company
from dedup.importing.models import ImportRow
from dedup.importing.pipeline import batch_apply
from leads.models import Lead
from tests.test_import_pipeline import outcomes
from tests.test_import_pipeline import prepared as prepared_rows

pytestmark = pytest.mark.django_db
O = ImportRow.Outcome  # noqa: E741


def prepared(user, entity, header, rows, **options):
    return prepared_rows(user, rows, header=header, entity=entity, **options)


@pytest.fixture(autouse=True)
def _uploads(uploads_in_tmp):
    pass


COMPANY_HEADER = ["Название компании", "ИНН", "Телефон", "Сайт", "Кол-во сотрудников", "Годовой оборот",
                  "Комментарий"]


def test_companies_import_dedupe_by_inn_and_name_and_reimport_is_a_no_op(importer):
    rows = [["ООО «Ромашка»", "7701234567", "+7 495 111-22-33", "romashka.ru", "120", "1 250 000,50 ₽", "первая"],
            ["Ромашка", "7701234567", "8 (495) 111-22-33", "", "", "", ""],  # the same INN: one company
            ["ИП Васильков", "", "+7 495 222-33-44", "", "3", "", ""]]
    batch = prepared(importer, "company", COMPANY_HEADER, rows)
    assert outcomes(batch) == [O.CREATE, O.IN_FILE, O.CREATE]
    batch_apply(batch.pk, user=importer)
    assert Company.objects.count() == 2
    romashka = Company.objects.get(tax_id="7701234567")
    assert romashka.name == "ООО «Ромашка»" and romashka.employees == 120
    assert romashka.annual_revenue == Decimal("1250000.50")
    assert set(romashka.communications.values_list("normalized", flat=True)) >= {"+74951112233"}
    again = prepared(importer, "company", COMPANY_HEADER, rows)
    assert set(outcomes(again)) <= {O.UNCHANGED, O.IN_FILE}
    batch_apply(again.pk, user=importer)
    assert Company.objects.count() == 2


def test_a_company_row_with_the_same_inn_merges_into_the_existing_company(importer):
    first = prepared(importer, "company", COMPANY_HEADER, [["ООО Ромашка", "7701234567", "", "", "", "", ""]])
    batch_apply(first.pk, user=importer)
    line = ["Ромашка Групп", "7701234567", "+7 495 111-22-33", "", "", "", "новое"]
    # Another name with the same INN: the engine alone isn't sure (a holding's companies share names)...
    [row] = prepared(importer, "company", COMPANY_HEADER, [line]).rows.all()
    assert row.outcome == O.POSSIBLE
    # ...but matching on the INN, as the importer chose, makes it the same company.
    second = prepared(importer, "company", COMPANY_HEADER, [line], match=["tax_id"])
    [row] = second.rows.all()
    assert row.outcome == O.MERGE
    batch_apply(second.pk, user=importer)
    company = Company.objects.get()
    assert company.name == "ООО Ромашка" and company.comment == "новое"  # the record's name kept, empty filled


LEAD_HEADER = ["Название лида", "Фамилия", "Имя", "Телефон", "E-mail", "Название компании", "Возможная сумма"]


def test_leads_import_with_names_phones_and_amounts_and_reimport_is_a_no_op(importer):
    rows = [["Заявка с сайта", "Смирнов", "Олег", "+7 916 000-11-22", "oleg@example.ru", "ООО Лютик", "150 000"],
            ["Звонок", "Кузнецова", "Анна", "8 903 333 44 55", "", "", "12 500,00"]]
    batch = prepared(importer, "lead", LEAD_HEADER, rows)
    assert outcomes(batch) == [O.CREATE, O.CREATE]
    batch_apply(batch.pk, user=importer)
    assert Lead.objects.count() == 2
    lead = Lead.objects.get(last_name="Смирнов")
    assert lead.title == "Заявка с сайта" and lead.company_name == "ООО Лютик"
    assert lead.expected_amount == Decimal("150000") and lead.status_id is not None
    assert set(lead.communications.values_list("normalized", flat=True)) == {"+79160001122", "oleg@example.ru"}
    again = prepared(importer, "lead", LEAD_HEADER, rows)
    assert set(outcomes(again)) <= {O.UNCHANGED, O.IN_FILE}
    batch_apply(again.pk, user=importer)
    assert Lead.objects.count() == 2


def test_a_lead_row_with_a_bad_amount_is_an_error_and_the_others_go_in(importer):
    rows = [["Заявка", "Смирнов", "Олег", "", "oleg@example.ru", "", "сто тысяч"],
            ["Звонок", "Кузнецова", "Анна", "", "anna@example.ru", "", "100"]]
    batch = prepared(importer, "lead", LEAD_HEADER, rows)
    assert outcomes(batch) == [O.ERROR, O.CREATE]
    batch_apply(batch.pk, user=importer)
    assert list(Lead.objects.values_list("last_name", flat=True)) == ["Кузнецова"]


def test_a_lead_without_a_status_column_gets_the_first_status_and_one_without_a_title_is_refused(importer):
    from leads.models import LeadStatus

    rows = [["", "Смирнов", "Олег", "", "oleg@example.ru", "", ""],
            ["Звонок", "Кузнецова", "Анна", "", "anna@example.ru", "", ""]]
    batch = prepared(importer, "lead", LEAD_HEADER, rows)
    assert outcomes(batch) == [O.ERROR, O.CREATE]  # the preview says what the apply will do
    batch_apply(batch.pk, user=importer)
    assert Lead.objects.get().status == LeadStatus.objects.filter(is_active=True).order_by("order", "pk").first()
