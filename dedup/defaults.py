"""Built-in parameters of the duplicate model, per kind of record.

m = P(level | same record), u = P(level | different records) for each comparison level (dedup/scoring.py),
`prior` = expected duplicates per record, `calibration` = [match weight, share of true duplicates] knots.
Estimated by `python -m bench.estimate` on the estimation half of the labelled set (bench/labelled.py) and
rounded; a base re-estimates its own with `manage.py estimate_match_weights` (stored on the DuplicateRule).
Exact levels of phones, emails, surnames, addresses and companies have their u replaced by the value's
frequency in the base (term-frequency adjustment); the u given here is only their average.
"""

PERSON = {
    "prior": 0.3,
    "m": {
        "first_name": {"exact": 0.82, "alias": 0.05, "initial": 0.02, "fuzzy": 0.08, "different": 0.03},
        "last_name": {"exact": 0.85, "fuzzy": 0.1, "different": 0.05},
        "middle_name": {"exact": 0.85, "initial": 0.03, "fuzzy": 0.08, "different": 0.04},
        "gender": {"same": 0.995, "different": 0.005},
        "phone": {"exact": 0.7, "shared_line": 0.02, "different": 0.28},
        "email": {"exact": 0.6, "mailbox": 0.01, "domain": 0.05, "different": 0.34},
        "birthday": {"exact": 0.9, "close": 0.06, "different": 0.04},
        "address": {"exact": 0.6, "fuzzy": 0.25, "different": 0.15},
        "company": {"exact": 0.75, "fuzzy": 0.05, "different": 0.2},
        "position": {"exact": 0.5, "fuzzy": 0.1, "different": 0.4},
    },
    "u": {
        "first_name": {"exact": 0.008, "alias": 0.002, "initial": 0.01, "fuzzy": 0.01, "different": 0.97},
        "last_name": {"exact": 0.0005, "fuzzy": 0.002, "different": 0.9975},
        "middle_name": {"exact": 0.01, "initial": 0.005, "fuzzy": 0.01, "different": 0.975},
        "gender": {"same": 0.5, "different": 0.5},
        "phone": {"exact": 0.00001, "shared_line": 0.005, "different": 0.99},
        "email": {"exact": 0.000001, "mailbox": 0.001, "domain": 0.002, "different": 0.99},
        "birthday": {"exact": 0.00005, "close": 0.0003, "different": 0.9995},
        "address": {"exact": 0.00001, "fuzzy": 0.0001, "different": 0.9999},
        "company": {"exact": 0.001, "fuzzy": 0.0005, "different": 0.99},
        "position": {"exact": 0.05, "fuzzy": 0.02, "different": 0.93},
    },
    "calibration": [],
}

COMPANY = {
    "prior": 0.2,
    "m": {
        "company_name": {"exact": 0.8, "fuzzy": 0.15, "different": 0.05},
        "tax_id": {"exact": 0.98, "different": 0.02},
        "kpp": {"exact": 0.95, "different": 0.05},
        "phone": {"exact": 0.6, "shared_line": 0.02, "different": 0.38},
        "email": {"exact": 0.5, "mailbox": 0.3, "domain": 0.1, "different": 0.1},
        "domain": {"exact": 0.8, "different": 0.2},
        "address": {"exact": 0.5, "fuzzy": 0.3, "different": 0.2},
    },
    "u": {
        "company_name": {"exact": 0.0001, "fuzzy": 0.0005, "different": 0.9995},
        "tax_id": {"exact": 0.000001, "different": 0.999999},
        "kpp": {"exact": 0.01, "different": 0.99},
        "phone": {"exact": 0.00001, "shared_line": 0.005, "different": 0.99},
        "email": {"exact": 0.000001, "mailbox": 0.00001, "domain": 0.0001, "different": 0.99},
        "domain": {"exact": 0.00001, "different": 0.99},
        "address": {"exact": 0.00001, "fuzzy": 0.0001, "different": 0.9999},
    },
    "calibration": [],
}

DEFAULT_PARAMETERS = {"contact": PERSON, "lead": PERSON, "company": COMPANY}
