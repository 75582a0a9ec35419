"""What the platform tests compare: the Procfile, the settings the code declares, the routes table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import process
from infra.gateway import routes
from infra.operations_doc import declared_variables

REPO = Path(__file__).resolve().parents[2]
SERVICES = routes.SERVICES


@pytest.fixture(scope="session")
def procfile() -> dict[str, str]:
    return process.processes()


@pytest.fixture(scope="session")
def declared() -> dict[str, Any]:
    return declared_variables()


@pytest.fixture(scope="session")
def route_table() -> routes.RouteTable:
    return routes.load()


def web_port(declared: dict[str, Any], service: str) -> int:
    return int(declared[f"{service.upper()}_PORT"].default)


def worker_health_port(declared: dict[str, Any], service: str) -> int:
    name = f"{service.upper()}_WORKER_HEALTH_PORT"
    assert name in declared, f"the {service} worker declares no {name}: nothing to probe"
    return int(declared[name].default)


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]
