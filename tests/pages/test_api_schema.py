"""The JSON API against its own OpenAPI document: no 5xx, responses as documented (schemathesis)."""

from __future__ import annotations

import datetime as dt
import tempfile

from nmd_pages.app import create_app

from tests.api_conformance import exercise, operations

_folder = tempfile.mkdtemp(prefix="nmd-pages-api-")
app = create_app(
    f"sqlite:///{_folder}/pages.db",
    TESTING=True,
    PAGES_CLOCK=lambda: dt.datetime(2026, 10, 26, 22, 59, 30, tzinfo=dt.UTC),
)


def test_no_operation_answers_5xx_or_off_schema() -> None:
    for operation in operations(
        app, "/openapi.json", {("GET", "/api/site/countdown"), ("GET", "/api/site/figures")}
    ):
        exercise(operation, max_examples=5)
