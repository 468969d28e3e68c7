"""Schemathesis against /api/schema/: every GET operation, as an administrator and as an
applicant (token auth), through Django's WSGI app — no 500 and every response as documented.

Requests go through the real WSGI handler in this test's transaction, so the handler's
close_old_connections hooks are disconnected while it runs (as Django's test client does).
"""

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance  # noqa: E402

from tests.factories_reviews import review_call  # noqa: E402

# Known findings left for later (operation → a phrase of the finding). Empty: every failure fails.
KNOWN: dict[str, str] = {}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
MAX_EXAMPLES = 3


@pytest.fixture
def wsgi_app(settings):
    settings.ALLOWED_HOSTS = ["*"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def run_get_operations(app, token):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    headers = {"Authorization": f"Token {token}"}
    checked, failures = [], {}
    for result in schema.include(method="GET").get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collected: one report for every operation
            failures[operation.label] = str(exc).splitlines()[:12]
        checked.append(operation.label)
    return checked, failures


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["administrator", "lead_applicant"])
def test_get_operations_conform_to_the_schema(wsgi_app, request, administrator, role):
    review_call(administrator, proposals=2, experts=1)  # something to list
    user = request.getfixturevalue(role)
    token = Token.objects.create(user=user).key
    checked, failures = run_get_operations(wsgi_app, token)
    unexpected = {label: lines for label, lines in failures.items() if KNOWN.get(label, "\0") not in "\n".join(lines)}
    assert not unexpected, unexpected
    assert any("/api/v1/exports/" in label for label in checked)
    assert len(checked) > 20
