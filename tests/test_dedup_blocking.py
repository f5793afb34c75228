"""Blocking and cutoffs of the bulk scan agree with the pair scorer used by the warnings."""

import numpy as np
import pytest
from rapidfuzz import fuzz, process

from dedup import normalize
from dedup.matching import Rule, name_similarity


@pytest.mark.parametrize(
    "a, b",
    [
        ("Елена Иванова", "Алёна Иванова"),  # first letters differ: e/a
        ("Raisa Samsonova", "Iraida Samsonova"),
        ("Мара Владимирова", "Ала Владимирова"),
    ],
)
def test_same_surname_first_name_changed_at_its_start_shares_a_block(a, b):
    blocks_a = set(normalize.name_blocks(normalize.name_key(a)))
    blocks_b = set(normalize.name_blocks(normalize.name_key(b)))
    assert blocks_a & blocks_b


def test_short_words_are_not_blocked_whole():
    # Only words of five letters or more become a whole-word block: short ones would make huge blocks.
    assert not [b for b in normalize.name_blocks(normalize.name_key("Ли Ан")) if "$" in b]


def test_bulk_cutoff_keeps_what_the_pair_scorer_rounds_up_to_the_threshold():
    rule = Rule("contact", ["name"], name_threshold=90)
    a, b = "abcdefghijklmno", "abcdefghijklmQ"
    assert 89.5 <= fuzz.ratio(a, b) < 90 and name_similarity(a, b) == 90
    scores = process.cpdist([a], [b], scorer=fuzz.ratio, dtype=np.uint8, score_cutoff=rule.name_cutoff)
    assert scores.tolist() == [90]
    below = process.cpdist(["abcdefghij"], ["abcdefghQQ"], scorer=fuzz.ratio, dtype=np.uint8,
                           score_cutoff=rule.name_cutoff)
    assert below.tolist() == [0]
