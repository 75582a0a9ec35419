"""schemathesis against the newsletter's OpenAPI document: no 5xx, and answers that match the document."""

from __future__ import annotations

from tests.api_conformance import exercise, operations


def test_no_operation_answers_5xx_or_off_schema(app) -> None:
    expected = {
        ("POST", "/api/subscribers"),
        ("POST", "/api/subscribers/confirm"),
        ("PUT", "/api/subscribers/preferences"),
        ("POST", "/api/subscribers/unsubscribe"),
        ("POST", "/api/subscribers/erase"),
        ("GET", "/api/newsletter/issues"),
        ("POST", "/api/newsletter/issues"),
        ("GET", "/api/newsletter/issues/{issue_id}"),
    }
    for operation in operations(app, "/openapi.json", expected):
        exercise(operation, max_examples=12)
