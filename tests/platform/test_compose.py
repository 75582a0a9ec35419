"""docker-compose.yml cannot run here (no Docker engine), so it is checked against what can be known: the Procfile,
the settings the code declares, the nginx config, the topic catalogue and the Dockerfile."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.platform.conftest import REPO, SERVICES, web_port, worker_health_port

COMPOSE = REPO / "docker-compose.yml"
NGINX_CONF = REPO / "infra" / "nginx" / "nginx.conf"
CREATE_DATABASES = REPO / "infra" / "compose" / "create-databases.sql"
LAUNCH = ["python", "-m", "infra.process"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text("utf-8"))


@pytest.fixture(scope="module")
def processes(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Containers that run a Procfile process, by process name."""
    found = {}
    for name, spec in compose["services"].items():
        command = spec.get("command") or []
        if command[:3] == LAUNCH:
            assert command == [*LAUNCH, name], f"{name} runs another process: {command}"
            found[name] = spec
    return found


def _probe(spec: dict[str, Any]) -> tuple[int, str]:
    test = " ".join(spec["healthcheck"]["test"])
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", test)
    assert match, f"no HTTP health check in {test}"
    return int(match.group(1)), match.group(2)


def test_every_procfile_process_has_its_container(procfile: dict[str, str], processes: dict[str, Any]) -> None:
    # The dev gateway is replaced by nginx with the production routes.
    assert set(processes) == set(procfile) - {"gateway"}
    assert set(processes) == {*SERVICES, *(f"{s}-worker" for s in SERVICES)}


def test_every_variable_set_is_one_the_code_reads(compose: dict[str, Any], declared: dict[str, Any]) -> None:
    platform_services = [s for s in compose["services"].values() if s.get("image") == "nmd-platform:latest"]
    assert len(platform_services) == 10  # 8 processes, topics and migrate
    for spec in platform_services:
        assert set(spec["environment"]) <= set(declared), set(spec["environment"]) - set(declared)


def test_web_containers_listen_where_the_settings_and_nginx_say(
    processes: dict[str, Any], declared: dict[str, Any]
) -> None:
    nginx = dict(re.findall(r"upstream (\w+) \{ server (\S+?);", NGINX_CONF.read_text("utf-8")))
    for service in SERVICES:
        spec, port = processes[service], web_port(declared, service)
        assert spec["environment"]["WEB_HOST"] == "0.0.0.0"
        assert spec["expose"] == [str(port)]
        assert _probe(spec) == (port, "/readyz")
        assert nginx[service] == f"{service}:{port}"


def test_workers_are_probed_on_their_health_ports(processes: dict[str, Any], declared: dict[str, Any]) -> None:
    for service in SERVICES:
        spec = processes[f"{service}-worker"]
        assert spec["environment"]["WORKER_HEALTH_HOST"] == "0.0.0.0"
        assert _probe(spec) == (worker_health_port(declared, service), "/readyz")


def test_each_service_has_its_own_postgresql_database(compose: dict[str, Any]) -> None:
    environment = compose["services"]["pages"]["environment"]
    created = set(re.findall(r"CREATE DATABASE (\w+);", CREATE_DATABASES.read_text("utf-8")))
    for owner in [*SERVICES, "staff"]:
        url = environment[f"{owner.upper()}_DATABASE_URL"]
        assert re.fullmatch(rf"postgresql\+psycopg://nmd:[^@]+@postgres:5432/{owner}", url), url
    assert created == {*SERVICES, "staff"}


def test_kafka_is_the_official_image_in_kraft_mode_and_the_one_everyone_uses(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    advertised = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"].removeprefix("PLAINTEXT://")
    assert compose["services"]["pages"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == advertised
    assert compose["services"]["topics"]["command"] == ["nmd-topics", "provision", "--bootstrap", advertised]


def test_start_order_follows_the_health_checks(compose: dict[str, Any], processes: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ["kafka", "postgres", "nginx", *processes]:
        assert services[name]["healthcheck"]["test"], name
    for spec in processes.values():
        assert spec["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "topics": {"condition": "service_completed_successfully"},
        }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["topics"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert services["nginx"]["depends_on"] == {s: {"condition": "service_healthy"} for s in SERVICES}
    mounts = services["nginx"]["volumes"]
    assert "./infra/nginx/routes.conf:/etc/nginx/nmd/routes.conf:ro" in mounts
    assert "include /etc/nginx/nmd/routes.conf;" in NGINX_CONF.read_text("utf-8")


def test_the_image_holds_what_the_containers_run() -> None:
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    for needed in ("COPY Procfile", "infra/process.py", "infra/migrate.py", "infra/gunicorn_config.py"):
        assert needed in dockerfile
    assert "# test and tooling" in (REPO / "requirements.in").read_text("utf-8")  # where the image's deps stop
