"""Session-wide infrastructure for the tests: a real Kafka broker and a real PostgreSQL server, never mocks.

Kafka:      KAFKA_BOOTSTRAP_SERVERS if set, else a testcontainers KafkaContainer when a Docker engine answers,
            else infra/kafka/kafka.sh start (left running afterwards so the next session starts instantly).
Cluster:    KAFKA_CLUSTER_BOOTSTRAP_SERVERS if set, else infra/kafka/kafka.sh start --cluster, stopped at the end
            of the session if this session started it. Only started when a test asks for ``kafka_cluster``.
PostgreSQL: TEST_POSTGRES_URL if set (a server URL, e.g. postgresql+psycopg://nmd:nmd@127.0.0.1:55432/postgres),
            else infra/postgres/postgres.sh start (left running). Each test gets its own database.
A failure to get any of them is an error, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kafka import KafkaAdminClient
from psycopg import sql
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
KAFKA_SCRIPT = REPO / "infra" / "kafka" / "kafka.sh"
POSTGRES_SCRIPT = REPO / "infra" / "postgres" / "postgres.sh"
# The first start may download Kafka's jars with Maven or install PostgreSQL with apt.
SCRIPT_TIMEOUT = 600


def pytest_configure(config: pytest.Config) -> None:
    if not any(line.split(":")[0].strip() == "cluster" for line in config.getini("markers")):
        config.addinivalue_line("markers", "cluster: needs the three-broker Kafka cluster on loopback")


def _script(*args: str) -> dict[str, str]:
    """Run an infra script; return the KEY=VALUE lines it prints on stdout. A failure fails the test run."""
    command = " ".join(map(str, args))
    try:
        done = subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, timeout=SCRIPT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{command} did not finish in {SCRIPT_TIMEOUT}s") from exc
    if done.returncode != 0:
        raise RuntimeError(f"{command} exited {done.returncode}\n{done.stdout}\n--- stderr\n{done.stderr}")
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if re.match(r"^[A-Z_]+=", line))


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


# --- Kafka -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a single-broker Kafka, e.g. ``localhost:9092``."""
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield servers
    elif _docker_answers():
        from testcontainers.community.kafka import KafkaContainer

        # testcontainers drives Confluent's image scripts; cp-kafka 7.9 is Apache Kafka 3.9 in KRaft mode.
        image = os.environ.get("KAFKA_TESTCONTAINERS_IMAGE", "confluentinc/cp-kafka:7.9.0")
        container = KafkaContainer(image).with_kraft().start(timeout=180)
        try:
            yield container.get_bootstrap_server()
        finally:
            container.stop()
    else:
        yield _script(KAFKA_SCRIPT, "start")["KAFKA_BOOTSTRAP_SERVERS"]


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[str]:
    """Bootstrap servers of a three-broker Kafka cluster (replication 3, min ISR 2), e.g.
    ``localhost:19092,localhost:19093,localhost:19094``. Mark such tests ``@pytest.mark.cluster``."""
    if servers := os.environ.get("KAFKA_CLUSTER_BOOTSTRAP_SERVERS"):
        yield servers
        return
    status = subprocess.run(
        [str(KAFKA_SCRIPT), "status", "--cluster"], capture_output=True, timeout=60, check=False
    )
    already_running = status.returncode == 0
    servers = _script(KAFKA_SCRIPT, "start", "--cluster")["KAFKA_BOOTSTRAP_SERVERS"]
    yield servers
    if not already_running:
        _script(KAFKA_SCRIPT, "stop", "--cluster")


def _topic_slug(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", request.node.name)[:60].strip("-") or "test"


@pytest.fixture
def unique_topic(request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Factory: ``unique_topic(partitions=3, bootstrap=None, configs=None) -> name`` creates a fresh topic, waits
    until every partition has a leader, and deletes it after the test. ``bootstrap`` defaults to
    ``kafka_bootstrap`` (pass ``kafka_cluster`` for the cluster); replication is the broker's default."""
    created: list[tuple[KafkaAdminClient, str]] = []
    admins: dict[str, KafkaAdminClient] = {}

    def make(partitions: int = 3, bootstrap: str | None = None, configs: dict[str, str] | None = None) -> str:
        servers = bootstrap or request.getfixturevalue("kafka_bootstrap")
        if servers not in admins:
            admins[servers] = KafkaAdminClient(bootstrap_servers=servers)
        admin = admins[servers]
        name = f"t-{_topic_slug(request)}-{uuid.uuid4().hex[:8]}"
        admin.create_topics({name: {"num_partitions": partitions, "configs": configs or {}}}, timeout_ms=30000)
        admin.wait_for_topics([name], timeout_ms=30000)
        created.append((admin, name))
        return name

    yield make
    for admin, name in created:
        # The test may have stopped the broker; a leftover uniquely-named topic harms nobody.
        with contextlib.suppress(Exception):
            admin.delete_topics([name], timeout_ms=10000, raise_errors=False)
    for admin in admins.values():
        admin.close()


# --- PostgreSQL ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """SQLAlchemy URL of the server's maintenance database, e.g.
    ``postgresql+psycopg://nmd:nmd@127.0.0.1:55432/postgres``; the role may create databases."""
    return os.environ.get("TEST_POSTGRES_URL") or _script(POSTGRES_SCRIPT, "start")["TEST_POSTGRES_URL"]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def database_url(postgres_server_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg://...) of a fresh, empty database of this test, dropped afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40].strip("_")
    name = f"test_{slug}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(postgres_server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_libpq(postgres_server_url), autocommit=True) as conn:
        # FORCE: an engine the test forgot to dispose must not turn into a failed teardown.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- Browser ---------------------------------------------------------------------------------------------------

# Debian's Chromium (infra/system-packages.sh); the flags keep it off the network this machine does not have.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
