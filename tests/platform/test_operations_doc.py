"""docs/operations.md lists every variable the code declares, and is regenerated when one changes."""

from __future__ import annotations

from typing import Any

from infra import operations_doc


def test_the_configuration_reference_is_current() -> None:
    current = operations_doc.DOC.read_text("utf-8")
    assert operations_doc.rendered(current) == current, "stale: run .venv/bin/python -m infra.operations_doc"


def test_every_declared_variable_is_in_the_reference(declared: dict[str, Any]) -> None:
    reference = operations_doc.reference()
    missing = [name for name in declared if f"| `{name}` |" not in reference]
    assert missing == []
    # Spot checks: variables from the runtime, each service, and the platform's own processes.
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "STORY_REPORT_THRESHOLD", "NEWSLETTER_MAIL_BACKEND", "GATEWAY_PORT"):
        assert name in declared


def test_the_prose_covers_what_operators_need() -> None:
    text = operations_doc.DOC.read_text("utf-8")
    for heading in (
        "## Scaling",
        "## Backups",
        "## Replaying dead letters",
        "## Rotating secrets",
        "## Rebuilding read models",
        "## What to watch in /metrics",
        "## Configuration reference",
    ):
        assert heading in text
