"""Each benchmark is a module with `NAME` and `run(ctx)`; later issues add theirs to BENCHES.

Order matters: `seed` fills the base the others measure.
"""

from . import access, export, import_, listing, purge, scan, seed

BENCHES = [seed, listing, access, import_, export, scan, purge]
NAMES = [bench.NAME for bench in BENCHES]
