"""Purges and restores running at the same time, on PostgreSQL (row locks; SQLite has none to test).
The database is flushed after each test (no data migrations): records are made without reference lists.

Each side runs in its own thread with its own connection; a listener on the domain events holds one
side inside its transaction while the other runs, so the interleaving is forced, not hoped for.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from access.models import AuditLog
from contacts.models import Contact
from crm_site import events
from trash.services import record_restore, records_delete, trash_purge_expired

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only"),
]
WAIT = 30  # seconds: a bound on a hung test, never an assertion on speed


class Runner(threading.Thread):
    """Runs `fn` in a thread with its own database connection; keeps the result or the error."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            connections.close_all()

    def finish(self):
        self.join(WAIT)
        assert not self.is_alive(), "thread did not finish"
        if self.error:
            raise self.error
        return self.result


class Pause:
    """A listener that stops the thread emitting `kind` until released (it holds its row locks)."""

    def __init__(self, kind):
        self.kind, self.inside, self.gate = kind, threading.Event(), threading.Event()

    def __call__(self, kind, **kwargs):
        if kind == self.kind and threading.current_thread() is not threading.main_thread():
            self.inside.set()
            assert self.gate.wait(WAIT)

    def __enter__(self):
        events.listen(self)
        return self

    def __exit__(self, *exc):
        self.gate.set()
        events._listeners.remove(self)


@pytest.fixture(autouse=True)
def english_in_threads(settings):
    settings.LANGUAGE_CODE = "en"  # the default language of threads that activated none


def binned_contacts(owner, count, days=31):
    contacts = [Contact.objects.create(owner=owner, last_name=f"Параллельный{n}") for n in range(count)]
    records_delete(user=owner, objs=contacts)
    Contact.all_objects.filter(pk__in=[c.pk for c in contacts]).update(
        deleted_at=timezone.now() - timedelta(days=days)
    )
    return contacts


def test_restore_waits_for_a_purge_holding_the_row_and_reports_it_purged(user):
    (contact,) = binned_contacts(user, 1)
    with Pause(events.PURGED) as pause:
        purge = Runner(trash_purge_expired)
        purge.start()
        assert pause.inside.wait(WAIT)
        restore = Runner(lambda: record_restore(user=user, obj=contact))
        restore.start()
        restore.join(0.5)  # it blocks on the purge's row lock
        pause.gate.set()
        assert purge.finish().purged == {"contact": 1}
        result = restore.finish()
    assert not result.restored and "permanently" in result.reason
    assert not Contact.all_objects.filter(pk=contact.pk).exists()


def test_purge_skips_a_row_being_restored_and_never_purges_it(user):
    (contact,) = binned_contacts(user, 1)
    with Pause(events.RESTORED) as pause:
        restore = Runner(lambda: record_restore(user=user, obj=contact))
        restore.start()
        assert pause.inside.wait(WAIT)
        assert trash_purge_expired().total == 0  # SKIP LOCKED: the restore holds it
        pause.gate.set()
        assert restore.finish().restored
    assert trash_purge_expired().total == 0  # restored: not expired any more
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_two_purges_at_once_purge_each_item_once(user):
    contacts = binned_contacts(user, 40)
    start = threading.Barrier(2)

    def purge():
        start.wait(WAIT)
        return trash_purge_expired(batch_size=3)

    runners = [Runner(purge), Runner(purge)]
    for runner in runners:
        runner.start()
    totals = [runner.finish().total for runner in runners]
    assert sum(totals) == 40
    logged = list(AuditLog.objects.filter(action=AuditLog.PURGE).values_list("object_id", flat=True))
    assert sorted(logged) == sorted(c.pk for c in contacts)
    assert not Contact.all_objects.filter(pk__in=[c.pk for c in contacts]).exists()
