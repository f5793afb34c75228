"""Shared fixtures: users in departments and logged-in clients.

Access (access/scopes.py): users without a role get the default role "Employee" (reads own, department
and opened records, edits own ones); `head` has the role "Head of sales" (edits the department tree).
`user` and `colleague` share a department; `other_user` is in another one; `head` heads `user`'s department; `admin_user` is a superuser.
"""

import importlib

import pytest
from django.test import Client

from tests.factories import PASSWORD, assign_role, make_department, make_user

PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"


def pytest_configure(config):
    # WhiteNoise warns on every request handler set-up when STATIC_ROOT was never collected (tests never do).
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


# Data migrations that seed reference rows (lists, pipelines, statuses, roles, duplicate rules). A transactional
# test ends with a flush that empties every table, these rows included; the next one puts them back.
SEEDING_MIGRATIONS = [
    "crm_site.migrations.0002_default_lists",
    "deals.migrations.0002_default_pipelines",
    "deals.migrations.0005_lost_reason",
    "leads.migrations.0002_default_statuses",
    "access.migrations.0004_default_roles",
    "access.migrations.0005_marketer_edits_non_key_fields",
    "dedup.migrations.0002_default_rules",
    "crm_site.api.migrations.0002_administrators_make_tokens",
]


def reseed_reference_data():
    from django.apps import apps

    for name in SEEDING_MIGRATIONS:
        importlib.import_module(name).seed(apps, None)  # each seed is idempotent (get/update_or_create)


def _is_transactional(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Services' messages in English, whatever language an earlier test's request left active in this thread
    (LocaleMiddleware activates a language and never deactivates it)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_custom_field_definitions():
    """Custom field definitions are cached per process; a test's rolled-back rows must not outlive it."""
    yield
    from crm_site.customfields.registry import any_loaded, invalidate

    if any_loaded():
        invalidate()


@pytest.fixture(autouse=True)
def _fresh_row_estimates():
    """The planner's row estimates a list remembers (crm_site.lists.selectors.few_rows) are of an earlier test's
    rows: each test's pages are read as it sees its own."""
    from crm_site.lists import selectors

    selectors._estimates.clear()
    yield


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    if _is_transactional(request):
        request.getfixturevalue("transactional_db")
        from crm_site.models import ClientType

        if not ClientType.objects.exists():
            reseed_reference_data()
    yield


@pytest.fixture
def eager():
    """Tasks run in the request even where REDIS_URL points at a broker with no worker."""
    from crm_site.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def plain_static(settings):
    """Render {% static %} without a collectstatic manifest (settings pick the manifest storage when DEBUG is off)."""
    storages = dict(settings.STORAGES)
    if "Manifest" in storages.get("staticfiles", {}).get("BACKEND", ""):
        storages["staticfiles"] = {"BACKEND": PLAIN_STATIC}
        settings.STORAGES = storages


@pytest.fixture
def logged_in_client(plain_static):
    """`logged_in_client(person)`: a test client logged in as `person`, asking for English pages."""
    from django.test import Client

    def make(person):
        client = Client(headers={"accept-language": "en"})
        client.force_login(person)
        return client

    return make


@pytest.fixture
def department(db):
    return make_department("Sales")


@pytest.fixture
def other_department(db):
    return make_department("Support")


@pytest.fixture
def user(db, department):
    return make_user("alice", department=department, first_name="Alice", last_name="Adams")


@pytest.fixture
def colleague(db, department):
    """Same department as `user`, not its head."""
    return make_user("carol", department=department, first_name="Carol", last_name="Clark")


@pytest.fixture
def other_user(db, other_department):
    """Another department: sees nothing of `user`'s unless it is opened."""
    return make_user("bob", department=other_department, first_name="Bob", last_name="Brown")


@pytest.fixture
def head(db, department):
    """Head of `user`'s department: reads and edits its records."""
    boss = make_user("helen", department=department, first_name="Helen", last_name="Hill")
    department.head = boss
    department.save()
    assign_role("Head of sales", user=boss)
    return boss


@pytest.fixture
def importer(db, department):
    """A head of sales in `user`'s department: may import contacts, companies, leads and deals."""
    person = make_user("imp", department=department)
    assign_role("Head of sales", user=person)
    return person


@pytest.fixture
def uploads_in_tmp(settings, tmp_path):
    """Uploaded files (imports, exports) go to a temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def manager(db):
    """A user with the role "Sales manager" (own records; no export) in a department of their own."""
    person = make_user("mgr", department=make_department("Team A"))
    assign_role("Sales manager", user=person)
    return person


@pytest.fixture
def marketer(db):
    """A user with the role "Marketer" (reads and exports everything; edits non-key fields)."""
    person = make_user("mkt", department=make_department("Marketing"))
    assign_role("Marketer", user=person)
    return person


@pytest.fixture
def admin_user(db):
    """A superuser (same username and password as pytest-django's own fixture)."""
    return make_user("admin", superuser=True, department=None, password="password")


def _client(user=None):
    client = Client(headers={"accept-language": "en"})
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def anon_client(db, plain_static):
    return _client()


@pytest.fixture
def user_client(user, plain_static):
    return _client(user)


@pytest.fixture
def other_client(other_user, plain_static):
    return _client(other_user)


@pytest.fixture
def head_client(head, plain_static):
    return _client(head)


@pytest.fixture
def admin_client(admin_user, plain_static):
    return _client(admin_user)


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def celery_worker_queue(transactional_db):
    """A real Celery worker in a thread of this process, on Redis, consuming a queue of its own: (app, queue).

    Its own queue, because a worker's queue selection sticks to the app for the rest of the process, and
    parallel test processes share the broker. Send tasks with `queue=queue`. Needs REDIS_URL (CI sets it).
    """
    import os
    import uuid

    from celery.contrib.testing.worker import start_worker
    from django.conf import settings
    from django.db import connection

    if not settings.REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("REDIS_URL is not set: CI must run the suite against Redis")
        pytest.skip("needs REDIS_URL (a real Celery worker on Redis)")
    if connection.vendor == "sqlite":
        pytest.skip("the worker thread cannot share an in-memory SQLite database")
    from crm_site.celery import app

    queue = f"test-{uuid.uuid4().hex}"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20, queues=[queue]):
        yield app, queue
