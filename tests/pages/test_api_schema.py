"""The JSON API against its own OpenAPI document: no 5xx, responses as documented (schemathesis)."""

from __future__ import annotations

import datetime as dt
import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from nmd_pages.app import create_app

_folder = tempfile.mkdtemp(prefix="nmd-pages-api-")
app = create_app(
    f"sqlite:///{_folder}/pages.db",
    TESTING=True,
    PAGES_CLOCK=lambda: dt.datetime(2026, 10, 26, 22, 59, 30, tzinfo=dt.UTC),
)
schema = schemathesis.openapi.from_wsgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case):
    case.call_and_validate()
