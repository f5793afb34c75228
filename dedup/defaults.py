"""Built-in parameters of the duplicate model, for records of people and of organisations (scoring.model_for picks
one by the record's fields, so an entity added later gets the right one).

m = P(level | same record), u = P(level | different records) for each comparison level (dedup/scoring.py),
`prior` = expected duplicates per record, `calibration` = {slope, intercept}: percent = sigmoid(slope × weight +
intercept), `min_share_base`: term frequencies count a smaller base as this many records (scoring.weigh).
Estimated by `python -m bench.estimate` on the estimation half of the labelled set (bench/labelled.py) and
rounded; a base re-estimates its own with `manage.py estimate_match_weights` (stored on the DuplicateRule).
Exact levels of phones, emails, surnames, addresses and companies have their u replaced by the value's
frequency in the base (term-frequency adjustment); the u given here is only their average.
"""

PERSON = {
    "prior": 0.4783,
    "m": {
        "first_name": {"exact": 0.8195, "alias": 0.0134, "initial": 0.1193, "fuzzy": 0.04104, "different": 0.0067},
        "last_name": {"exact": 0.8424, "fuzzy": 0.1392, "different": 0.01839},
        "middle_name": {"exact": 0.8627, "initial": 0.09076, "fuzzy": 0.04418, "different": 0.00241},
        "gender": {"same": 0.9979, "different": 0.002094},
        "phone": {"exact": 0.9577, "shared_line": 0.03816, "different": 0.004188},
        "email": {"exact": 0.9722, "mailbox": 0.007864, "domain": 0.000605, "different": 0.01936},
        "birthday": {"exact": 0.885, "close": 0.1064, "different": 0.008644},
        "address": {"exact": 0.9378, "fuzzy": 0.06134, "different": 0.0008403},
        "position": {"exact": 0.898, "fuzzy": 0.003578, "different": 0.09839},
        "company": {"exact": 0.8595, "fuzzy": 0.0006596, "different": 0.1398},
    },
    "u": {
        "first_name": {"exact": 0.002007, "alias": 0.0004706, "initial": 0.00376, "fuzzy": 0.002203, "different": 0.9916},
        "last_name": {"exact": 0.0013, "fuzzy": 0.000915, "different": 0.9978},
        "middle_name": {"exact": 0.002801, "initial": 0.002026, "fuzzy": 0.003489, "different": 0.9917},
        "gender": {"same": 0.4982, "different": 0.5018},
        "phone": {"exact": 0.0001175, "shared_line": 0.0003526, "different": 0.9995},
        "email": {"exact": 8.794e-05, "mailbox": 9.771e-06, "domain": 0.0004104, "different": 0.9995},
        "birthday": {"exact": 0.0001054, "close": 0.001002, "different": 0.9989},
        "address": {"exact": 0.0001123, "fuzzy": 1.871e-05, "different": 0.9999},
        "position": {"exact": 0.1237, "fuzzy": 0.03079, "different": 0.8455},
        "company": {"exact": 0.001615, "fuzzy": 0.001719, "different": 0.9967},
    },
    # Refitted (bench/estimate.py's Platt scaling, m/u/prior as above) on the estimation part of the first 20,000
    # cards of the 100k set once term frequencies became shares of the base they are counted in (MIN_SHARE_BASE):
    # judged on the judging part, gap 0.011 at 20k and 0.069 at 100k (was 0.023 and 0.207 with the old weights).
    "calibration": {"slope": 0.22976, "intercept": 0.39684},
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
    # Organisations have no labelled set: the percent is set by hand. Under the term-frequency adjustment two
    # records sharing a value no other record holds get odds of prior × m / 2 whatever the base's size (the
    # pair's own two records are the value's whole count), under 10% for companies: a new company typed with
    # an existing company's exact, rare name would never be warned about. A company's full name is nearly
    # unique among the organisations one CRM deals with, so the percent shown counts the match weight 4 bits
    # (16×) up: a rare exact name alone (held by the pair only) → ~56%, a possible duplicate; the same name
    # held by three companies → ~46%, by ten → ~20%; with the same phone, website or INN → a duplicate (99%+);
    # a different INN, or the same INN and another KPP, stays a contradiction (capped at 5%).
    # sigmoid(ln 2 × (weight + 4)) = 1 / (1 + 2^-(weight + 4)).
    "calibration": {"slope": 0.693147, "intercept": 2.772589},
    # Term frequencies of a base under 100k records count it as 100k, like the prior (scoring.MIN_BASE): the
    # two cancel for a value only the pair holds, so the percent above does not depend on the base's size.
    "min_share_base": 100_000,
}

# A custom field an admin marked "finds duplicates" (a customer number, a car's VIN, a loyalty card), for people
# and organisations alike: an identifier. m: the same record has the same value when both have one (a typo or
# a reissued card the rest); u: two different records share a real identifier only by mistake — about as
# rarely as two companies share an INN (COMPANY's tax_id) —, so the same value alone outweighs the prior:
# ~92% for two contacts whose names say nothing against it (at a base of up to 100k; a contradicting first
# name or gender still caps it at 5%), 99% for two companies. Two different values count against (−4.3 bits),
# not as a contradiction: a person may have two cards. A value held by more records than the pair weighs less
# (scoring._weigh_identifier). Not estimated from the labelled set (it has no such field), and kept as it is when
# `estimate_match_weights` re-estimates the others (scoring.model_for).
IDENTIFIER = {
    "m": {"exact": 0.95, "different": 0.05},
    "u": {"exact": 1e-8, "different": 0.99999},
}
