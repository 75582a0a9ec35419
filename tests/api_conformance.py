"""One schemathesis harness for every service's API: the operations its OpenAPI document lists, each called with
generated requests that must get no 5xx and only answers the document describes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import hypothesis
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def operations(app: Flask, document: str, expected: set[tuple[str, str]]) -> list[Any]:
    """The document's operations, which must include `expected` ((METHOD, path) pairs): a route dropped from the
    document would otherwise go untested without anyone noticing."""
    schema = schemathesis.openapi.from_wsgi(document, app)
    found = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in found} >= expected
    return found


def exercise(
    operation: Any,
    *,
    max_examples: int,
    strategy: Any = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> Counter[int]:
    """Call `operation` with generated cases (or `strategy`'s), checking every answer; counts each status seen."""
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategy if strategy is not None else operation.as_strategy())
    def call(case: schemathesis.Case) -> None:
        response = case.call_and_validate(checks=CHECKS, headers=headers, cookies=cookies)
        statuses[response.status_code] += 1

    call()
    return statuses
