import pytest
from dedup import scoring
pytestmark = pytest.mark.django_db
def show(a, b):
    v = scoring.score("contact", a, b)
    print(v.outcome, v.percent, round(v.weight,1), [(r["code"], r["level"], r["weight"]) for r in v.reasons])
def test_dbg():
    show({"last_name": "Матвеева", "first_name": "Нонна", "middle_name": "Степановна", "phones": ["+7 499 955-14-41"]},
         {"last_name": "Матзеева", "first_name": "Н.", "middle_name": "С.", "phones": ["(499) 955 14 41"]})
    show({"last_name": "Матвеева", "first_name": "Елена", "middle_name": "Федоровна", "phones": ["+7 916 217-74-70"], "birthday": "1956-07-23"},
         {"last_name": "Matzeeva", "first_name": "Elena", "middle_name": "Fedlrovna", "phones": ["+7 916 217-74-70"], "birthday": "1956-07-23"})
