"""`scan`: the naive all-pairs baseline that the duplicate scan of the duplicates issue must beat."""

from contacts.models import Contact

from ..baselines import all_pairs_rapidfuzz

NAME = "scan"
SAMPLE = 20_000


def run(ctx):
    ctx.ensure_seeded()
    names = [
        " ".join(part for part in row if part)
        for row in Contact.objects.order_by("pk").values_list("last_name", "first_name", "middle_name")[
            : min(ctx.scale, SAMPLE)
        ]
    ]
    pairs, above, seconds = all_pairs_rapidfuzz(names)
    rate = pairs / seconds
    ctx.emit(NAME, "all_pairs_per_s", rate, unit="pairs/s", note=f"naive rapidfuzz cdist on {len(names)} names")
    ctx.emit(NAME, "all_pairs_projected_1m_s", 1_000_000**2 / rate, unit="s",
             note="what all-pairs would take on 1M contacts; the blocked scan comes with the duplicates issue")
    ctx.emit(NAME, "all_pairs_above_threshold", above, unit="pairs", note="token_sort_ratio >= 85")
