"""schemathesis against the newsletter's OpenAPI document: no 5xx, and answers that match the document."""

from __future__ import annotations

import hypothesis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_no_operation_answers_5xx_or_off_schema(app) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= {
        ("POST", "/api/subscribers"),
        ("POST", "/api/subscribers/confirm"),
        ("PUT", "/api/subscribers/preferences"),
        ("POST", "/api/subscribers/unsubscribe"),
        ("POST", "/api/subscribers/erase"),
        ("GET", "/api/newsletter/issues"),
        ("POST", "/api/newsletter/issues"),
        ("GET", "/api/newsletter/issues/{issue_id}"),
    }
    for operation in operations:

        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        call()
