"""`python -m bench.preview_child FILE DATABASE USER_ID`: one import preview (merge mode) of a contacts file in a
process of its own, DEBUG off as a worker runs it, the file size limit raised to the file's; prints
{"peak_rss_mb", "seconds", "counts"} as JSON.

bench/benches/import_memory.py runs it once per file, so each figure is the peak of that preview alone, not of
whatever the benchmark process held before (a seeded base, the workload it wrote)."""

import json
import os
import sys
import time


def main(argv):
    path, database, user_id = argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import override_settings

    from dedup.importing.pipeline import batch_configure, batch_discard, batch_prepare, batch_upload

    from .harness import peak_rss_mb, reset_peak_rss

    connection.settings_dict["NAME"] = database
    # The limit an admin raises for a 1M-row file (92 MB in the bench's shape; 50 MB by default).
    limit = max(settings.CRM_IMPORT_MAX_FILE_SIZE, os.path.getsize(path))
    with override_settings(DEBUG=False, CRM_IMPORT_MAX_FILE_SIZE=limit):
        user = get_user_model().objects.get(pk=user_id)
        reset_peak_rss()
        start = time.perf_counter()
        with open(path, "rb") as handle:
            batch = batch_upload(user=user, entity="contact", content=handle, name=os.path.basename(path))
        batch_configure(batch, on_duplicate="merge")
        batch = batch_prepare(batch, user=user)
        seconds, peak = time.perf_counter() - start, peak_rss_mb()
        counts = batch.counts
        batch.rows.all().delete()
        batch_discard(batch)
    print(json.dumps({"peak_rss_mb": round(peak, 1), "seconds": round(seconds, 2), "counts": counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
