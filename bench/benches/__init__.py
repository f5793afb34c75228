"""Each benchmark is a module with `NAME` and `run(ctx)`; later issues add theirs to BENCHES.

Order matters: `seed` fills the base the others measure.
"""

from . import (
    access,
    api,
    dashboard,
    export,
    import_,
    import_memory,
    import_pipeline,
    listing,
    lists,
    purge,
    scan,
    seed,
    timeline,
    writes,
)

BENCHES = [seed, listing, access, lists, dashboard, import_, import_pipeline, import_memory, writes, export, scan,
           timeline, purge, api]
NAMES = [bench.NAME for bench in BENCHES]
