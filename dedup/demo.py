"""seed_demo's last step: the duplicate match keys of the new base (its rows are written without events)."""

from crm_site import demo

MATCH_KEYS_LIMIT = 50_000  # beyond this, `manage.py rebuild_match_keys` (minutes at a million contacts)


@demo.after_seed(order=20)
def build_match_keys(*, users, seed, scale):
    from .keys import enabled_entities, keys_rebuild

    if scale > MATCH_KEYS_LIMIT:
        return "run `manage.py rebuild_match_keys` to build the duplicate match keys of the new records"
    return f"{sum(keys_rebuild(key) for key in enabled_entities())} duplicate match keys"
