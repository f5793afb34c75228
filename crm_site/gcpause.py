"""Big set-based jobs (the duplicate scan, an import) allocate millions of short-lived containers and make no
reference cycles worth collecting: the cycle collector's passes over the growing heap cost them a quarter of
their CPU and grow with the heap. Paused for the job; reference counting still frees everything."""

import gc
from contextlib import contextmanager


@contextmanager
def without_cycle_collector():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
