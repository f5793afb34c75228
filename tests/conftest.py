"""Shared fixtures: users in departments and logged-in clients.

Access (access/scopes.py): users without a role get the default role "Employee" (reads own, department
and opened records, edits own ones); `head` has the role "Head of sales" (edits the department tree).
`user` and `colleague` share a department; `other_user` is in another one; `head` heads `user`'s department; `admin_user` is a superuser.
"""

import pytest
from django.test import Client

from tests.factories import PASSWORD, assign_role, make_department, make_user

PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"


def pytest_configure(config):
    # WhiteNoise warns on every request handler set-up when STATIC_ROOT was never collected (tests never do).
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


@pytest.fixture
def plain_static(settings):
    """Render {% static %} without a collectstatic manifest (settings pick the manifest storage when DEBUG is off)."""
    storages = dict(settings.STORAGES)
    if "Manifest" in storages.get("staticfiles", {}).get("BACKEND", ""):
        storages["staticfiles"] = {"BACKEND": PLAIN_STATIC}
        settings.STORAGES = storages


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
