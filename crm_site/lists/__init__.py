"""Lists: the filter panel, columns per user, saved views (segments), bulk actions, capped counts and keyset
pages, for every registered entity. Reads in `selectors.py`, writes in `services.py`."""
