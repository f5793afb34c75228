"""Estimating the model's parameters (as Splink does it): u from random pairs of the base, m by EM over the
blocked candidate pairs — or m from pairs known to be the same record (the users' merges, a labelled set) —
and the calibration (match weight → share of true duplicates) from labelled pairs.

Used by `manage.py estimate_match_weights` (stores the result on the entity's DuplicateRule) and by the bench.
"""

import numpy as np

from . import scoring

SMOOTHING = 1.0  # add-one counts: no level is ever impossible


def level_matrix(cols, a, b, model):
    """Comparison levels (pairs × comparisons) and the weighed pairs (total weights included)."""
    weighed = scoring.weigh(cols, a, b, model, cols.n)
    return weighed.levels, weighed


def random_pairs(n, count, seed=1):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size=count)
    b = rng.integers(0, n, size=count)
    keep = a != b
    return np.minimum(a, b)[keep], np.maximum(a, b)[keep]


def level_frequencies(levels, comparisons, weights=None):
    """{comparison: {level: share}} among the pairs (missing left out), optionally weighted per pair."""
    weights = np.ones(len(levels)) if weights is None else np.asarray(weights, dtype=np.float64)
    out = {}
    for index, comparison in enumerate(comparisons):
        names = scoring.LEVELS[comparison]
        counts = np.array([weights[levels[:, index] == level].sum() for level in range(1, len(names))])
        counts = counts + SMOOTHING
        out[comparison] = {name: float(c / counts.sum()) for name, c in zip(names[1:], counts, strict=True)}
    return out


def estimate_u(cols, model, sample=200_000, seed=1):
    """u of every level: how often two random records of the base fall into it."""
    a, b = random_pairs(cols.n, sample, seed)
    levels, _weighed = level_matrix(cols, a, b, model)
    return level_frequencies(levels, model.comparisons)


def estimate_m_em(cols, a, b, model, u, iterations=25, tolerance=1e-4):
    """m of every level by expectation-maximisation over the candidate pairs (u fixed), and the prior
    (expected duplicates per record). Returns (m, prior, share of candidate pairs that match)."""
    levels, _weighed = level_matrix(cols, a, b, model)
    comparisons = model.comparisons
    m = {c: dict(model.m[c]) for c in comparisons}
    share = 0.3
    for _ in range(iterations):
        log_m = np.zeros(len(levels))
        log_u = np.zeros(len(levels))
        for index, comparison in enumerate(comparisons):
            names = scoring.LEVELS[comparison]
            m_table = np.array([1.0] + [max(m[comparison].get(n, 1e-6), 1e-6) for n in names[1:]])
            u_table = np.array([1.0] + [max(u[comparison].get(n, 1e-6), 1e-6) for n in names[1:]])
            log_m += np.log(m_table[levels[:, index]])
            log_u += np.log(u_table[levels[:, index]])
        odds = np.exp(np.clip(np.log(share) - np.log(1 - share) + log_m - log_u, -50, 50))
        responsibility = odds / (1 + odds)
        new_m = level_frequencies(levels, comparisons, responsibility)
        new_share = float(responsibility.mean()) if len(responsibility) else share
        change = max(abs(new_m[c][n] - m[c].get(n, 0)) for c in comparisons for n in new_m[c])
        m, share = new_m, min(max(new_share, 1e-6), 1 - 1e-6)
        if change < tolerance:
            break
    prior = 2 * share * len(levels) / max(cols.n, 1)
    return m, prior, share


def estimate_m_labelled(cols, a, b, model, same):
    """m of every level from pairs known to be the same record (`same`: bool per pair)."""
    levels, _weighed = level_matrix(cols, a, b, model)
    same = np.asarray(same, dtype=bool)
    return level_frequencies(levels[same], model.comparisons)


def calibrate(weights, same, ridge=1.0, iterations=100):
    """{"slope": a, "intercept": b}: the percent shown is sigmoid(a × match weight + b), fitted to labelled
    pairs by regularised logistic regression (Platt scaling; the ridge keeps it finite when the labelled pairs
    are cleanly separated). Then the percent means about that share of such pairs were true duplicates."""
    x = np.asarray(weights, dtype=np.float64)
    y = np.asarray(same, dtype=np.float64)
    if len(x) < 20 or y.min() == y.max():
        return {}
    scale = max(float(np.std(x)), 1.0)
    features = np.stack([x / scale, np.ones_like(x)], axis=1)
    theta = np.array([1.0, 0.0])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(features @ theta, -50, 50)))
        gradient = features.T @ (p - y) + ridge * theta
        hessian = (features * (p * (1 - p))[:, None]).T @ features + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return {"slope": round(float(theta[0] / scale), 5), "intercept": round(float(theta[1]), 5)}


def reliability(probability, same, bins=(0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001)):
    """[(bin from, bin to, pairs, mean shown, share true)]: does 90% mean 9 in 10?"""
    probability = np.asarray(probability, dtype=np.float64)
    same = np.asarray(same, dtype=np.float64)
    out = []
    for low, high in zip(bins[:-1], bins[1:], strict=True):
        hit = (probability >= low) & (probability < high)
        if hit.any():
            out.append((low, min(high, 1.0), int(hit.sum()), float(probability[hit].mean()), float(same[hit].mean())))
    return out


def parameters_from(m, u, prior, calibration):
    """The JSON stored on a DuplicateRule (rounded for reading in the admin)."""
    def rounded(table):
        return {c: {level: float(f"{p:.4g}") for level, p in levels.items()} for c, levels in table.items()}

    return {"m": rounded(m), "u": rounded(u), "prior": float(f"{prior:.4g}"), "calibration": calibration}
