"""schemathesis against the service's own OpenAPI document: no 5xx, and answers that match the document."""

from __future__ import annotations

from flask import Flask

from tests.api_conformance import exercise, operations


def test_no_operation_answers_5xx_or_off_schema(app: Flask) -> None:
    expected = {
        ("POST", "/api/stories"),
        ("GET", "/api/stories"),
        ("GET", "/api/stories/{story_id}"),
        ("POST", "/api/stories/{story_id}/reports"),
        ("POST", "/api/stories/photo-uploads"),
    }
    for operation in operations(app, "/openapi.json", expected):
        exercise(operation, max_examples=25)
