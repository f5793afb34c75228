"""`import_memory`: issue 17's "peak memory for a 1M-row file at most 1.3× that for a 100k-row file".

The preview (read, map, match against the base and the file, decide, stage) is where an import holds the most:
it runs here on a file of a tenth of the scale and on one of the whole scale (100k and 1M rows at a scale of
1M, the workload of `import_pipeline`), each in a process of its own (bench.preview_child), into the seeded
base; the figure is the ratio of the two processes' peak RSS. Nothing is written to the base.
"""

import json
import os
import subprocess
import sys
import tempfile

from django.conf import settings
from django.db import connection

from .import_pipeline import base_keys, write_workload

NAME = "import_memory"


def run(ctx):
    ctx.ensure_seeded()
    base_keys()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    sizes = (max(100, ctx.scale // 10), max(1000, ctx.scale))
    figures = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-memory-") as directory:
        for rows in sizes:
            path = os.path.join(directory, f"contacts-{rows}.csv")
            write_workload(path, rows, seed=ctx.seed)
            figures.append(_preview(path, user))
            os.remove(path)
    small, big = figures
    ctx.emit(NAME, "preview_peak_rss_big_vs_small_file", big["peak_rss_mb"], unit="MB",
             baseline=f"peak RSS of the preview of a {sizes[0]:,}-row file", baseline_value=small["peak_rss_mb"],
             goal="<= 1.3", rows=sizes[1], seconds=big["seconds"], baseline_seconds=small["seconds"],
             note="each preview in a process of its own (bench.preview_child), DEBUG off; merge mode")


def _preview(path, user):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)}
    done = subprocess.run(  # noqa: S603 — our own module, our own arguments
        [sys.executable, "-m", "bench.preview_child", path, connection.settings_dict["NAME"], str(user.pk)],
        env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
