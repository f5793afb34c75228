"""Parameters of the duplicate model estimated on the estimation part of the labelled set (bench/labelled.py):
u from random pairs of the whole base, m and the calibration from the estimation part's candidate pairs and
their truth labels, the prior from its number of true pairs. The judging part is never looked at.

`estimate(people, pks)` returns the parameters (the JSON a DuplicateRule stores); dedup/defaults.py holds the
rounded result of a 20,000-card run (`python -m bench.estimate` against a database holding the set).
"""

import numpy as np


def labelled_pairs(cols, people, pks, part):
    """Candidate pairs of the scan's blocking with both cards in `part`, and whether each is the same person."""
    from dedup import scan
    from dedup.matching import rule_for

    position = {pk: i for i, pk in enumerate(pks)}
    index = np.array([position.get(int(pk), -1) for pk in cols.ids.tolist()], dtype=np.int64)
    a, b = scan.candidate_pairs(cols, "contact", rule_for("contact"))
    pa, pb = index[a], index[b]
    parts = np.array([p.part for p in people], dtype=object)
    clusters = np.array([p.cluster for p in people], dtype=np.int64)
    keep = (pa >= 0) & (pb >= 0)
    keep[keep] &= (parts[pa[keep]] == part) & (parts[pb[keep]] == part)
    same = clusters[pa[keep]] == clusters[pb[keep]]
    return a[keep], b[keep], same


def estimate(people, pks, part="estimate", em=False):
    from dedup import estimate as est
    from dedup import scan, scoring

    cols = scan.load_columns("contact")
    model = scoring.model_for("contact")
    u = est.estimate_u(cols, model)
    a, b, same = labelled_pairs(cols, people, pks, part)
    if em:
        m, prior, _share = est.estimate_m_em(cols, a, b, model, u)
    else:
        m = est.estimate_m_labelled(cols, a, b, model, same)
        records = sum(1 for p in people if p.part == part)
        clusters = {}
        for p in people:
            if p.part == part:
                clusters[p.cluster] = clusters.get(p.cluster, 0) + 1
        true_pairs = sum(c * (c - 1) // 2 for c in clusters.values())
        prior = 2 * true_pairs / max(records, 1)
    model.m, model.u, model.prior, model.calibration = m, u, prior, {}
    weighed = scoring.weigh(cols, a, b, model, cols.n)
    # Pairs whose names contradict are capped whatever their weight: they do not shape the calibration.
    fit = ~weighed.contradiction
    calibration = est.calibrate(weighed.total[fit], same[fit])
    return est.parameters_from(m, u, prior, calibration)


if __name__ == "__main__":
    import json
    import os
    import pickle
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
    django.setup()
    people, _companies, pks = pickle.load(open(sys.argv[1], "rb"))
    print(json.dumps(estimate(people, pks, em="--em" in sys.argv), ensure_ascii=False, indent=1))
