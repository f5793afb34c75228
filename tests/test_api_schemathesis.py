"""Schemathesis against the API's own OpenAPI schema, on a small budget (CI runs it with the suite): no 5xx and
no response that breaks the schema, for every operation of every entity, as a superuser with a full token.

The operations are walked in one test (schemathesis' lazy pytest fixtures do not load under pytest 9), each with
its own small Hypothesis run; MAX_EXAMPLES sets the budget (CRM_API_FUZZ_EXAMPLES to go deeper by hand)."""

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import postgres
from tests.api_helpers import make_token
from tests.factories import make_contact, make_user

pytestmark = [postgres.only, pytest.mark.django_db, pytest.mark.api_fuzz]
MAX_EXAMPLES = int(os.environ.get("CRM_API_FUZZ_EXAMPLES", "2"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.fixture
def wsgi_app(db):
    # Like Django's test client: the WSGI app must not close the test's connection at the end of each request.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_api_fuzz(wsgi_app, monkeypatch):
    from crm_site.api.throttling import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "100000/min"})  # the rate has its own test
    admin = make_user("fuzz", superuser=True, department=None)
    make_contact(admin, last_name="Fuzz")
    _token, raw = make_token(admin)
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as error:  # collect all, report together
            failures.append(f"{operation.label}: {str(error)[:1500]}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)
