"""A real Celery worker (a separate process on Redis) killed by SIGKILL in the middle of an import: every chunk
it committed stays applied, nothing is half-written, and the resumed apply finishes with exact counts.

Needs REDIS_URL (CI sets it; locally a skip without it)."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from contacts.models import Contact
from dedup.importing.models import ImportBatch, ImportRow
from dedup.importing.pipeline import batch_apply, batch_prepare, batch_upload
from tests.factories import make_user

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL and not IN_CI, reason="needs REDIS_URL (a real Celery worker)"),
]
QUEUE = "import-kill-test"
ROWS = 300

@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def start_worker():
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tests.settings")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm_site", "worker", "-P", "solo", "-Q", QUEUE, "--loglevel=WARNING",
         "--without-heartbeat", "--without-mingle", "--without-gossip"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_worker_killed_mid_batch_leaves_exact_counts(department):
    from crm_site.celery import app
    from dedup.importing.tasks import import_apply

    assert settings.REDIS_URL, "CI must give REDIS_URL"
    user = make_user("imp", department=department, superuser=True)
    lines = ["Фамилия;Имя;E-mail"] + [f"Фамилия{n};Имя{n};user{n}@kill.example.ru" for n in range(ROWS)]
    batch = batch_upload(user=user, entity="contact", content="\r\n".join(lines).encode("cp1251"), name="k.csv")
    batch = batch_prepare(batch, user=user)
    assert batch.counts == {"create": ROWS}
    app.control.purge()
    worker = start_worker()
    try:
        import_apply.apply_async((batch.pk, user.pk), {"chunk": 10}, queue=QUEUE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = ImportRow.objects.filter(batch=batch, applied=True).count()
            if done >= 30:
                break
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    applied = ImportRow.objects.filter(batch=batch, applied=True).count()
    assert 0 < applied < ROWS, "the worker was killed mid-batch"
    # what a chunk committed is whole: exactly one record per applied row, none for the others
    assert Contact.objects.count() == applied == ImportRow.objects.filter(batch=batch, record_id__isnull=False).count()
    assert applied % 10 == 0
    # the redelivered (here: resumed) apply finishes the rest, never the same row twice
    batch = batch_apply(batch.pk, user=user, chunk=10)
    batch_apply(batch.pk, user=user, chunk=10)  # a second delivery: nothing left to do
    assert batch.status == ImportBatch.Status.APPLIED
    assert Contact.objects.count() == ROWS
    assert Contact.history.model.objects.filter(history_type="+").count() == ROWS
