"""Log lines are JSON, carry the process and the request's correlation id, and keep `extra` fields."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from nmd_runtime.logs import _NmdHandler, configure_logging


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    root = logging.getLogger()
    level = root.level
    configure_logging("demo-web", level="INFO")
    yield capsys
    for handler in [h for h in root.handlers if isinstance(h, _NmdHandler)]:
        root.removeHandler(handler)
    root.setLevel(level)


def _lines(capsys: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_a_log_line_is_json_with_extra_fields(json_logs: Any) -> None:
    logging.getLogger("nmd.test").info("partner %s approved", "p-1", extra={"partner_id": "p-1"})
    [line] = _lines(json_logs)
    assert line["message"] == "partner p-1 approved"
    assert line["level"] == "INFO" and line["logger"] == "nmd.test" and line["process"] == "demo-web"
    assert line["partner_id"] == "p-1" and "time" in line
    assert "correlation_id" not in line


def test_a_log_line_in_a_request_has_its_correlation_id(json_logs: Any, app: Flask) -> None:
    @app.get("/log")
    def log_something() -> str:
        logging.getLogger("nmd.test").warning("inside")
        return "ok"

    app.test_client().get("/log", headers={"X-Correlation-ID": "corr-9"})
    inside = [line for line in _lines(json_logs) if line["message"] == "inside"]
    assert inside and inside[0]["correlation_id"] == "corr-9"


def test_configuring_twice_does_not_double_lines(json_logs: Any) -> None:
    configure_logging("demo-web", level="INFO")
    logging.getLogger("nmd.test").info("once")
    assert len([line for line in _lines(json_logs) if line["message"] == "once"]) == 1
