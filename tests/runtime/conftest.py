"""Fixtures of the runtime tests: a broker of their own that they may stop, and processes they may kill."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from nmd_runtime.database import make_engine, migrate
from nmd_runtime.tables import metadata as runtime_metadata
from sqlalchemy import Engine

from tests.runtime import ledger

REPO = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = REPO / "infra" / "kafka" / "kafka.sh"
OWN_BROKER_PORT = "29092"


@dataclass
class OwnBroker:
    """A single-node broker only these tests use, so stopping it disturbs nobody else."""

    bootstrap: str = f"localhost:{OWN_BROKER_PORT}"

    def _script(self, command: str) -> None:
        env = os.environ | {"KAFKA_PORT": OWN_BROKER_PORT}
        subprocess.run([str(KAFKA_SCRIPT), command], check=True, env=env, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def create_topic(self, partitions: int = 4) -> str:
        name = f"runtime-test-{uuid.uuid4().hex[:10]}"
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics([NewTopic(name, partitions, 1)])
        except TopicAlreadyExistsError:
            pass
        finally:
            admin.close()
        return name


@pytest.fixture(scope="session")
def own_broker() -> Iterator[OwnBroker]:
    broker = OwnBroker()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def ledger_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine, runtime_metadata, ledger.metadata)
    yield engine
    engine.dispose()


@dataclass
class Processes:
    """Relay and consumer processes of one test; whatever is still running is stopped at the end."""

    env: dict[str, str]
    running: list[subprocess.Popen] = field(default_factory=list)

    def start(self, role: str, **extra: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.runtime.processes", role], cwd=REPO, env=self.env | extra
        )
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)


@pytest.fixture
def processes(database_url: str, own_broker: OwnBroker) -> Iterator[Processes]:
    env = os.environ | {
        "TEST_DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": own_broker.bootstrap,
        "GROUP": f"runtime-test-{uuid.uuid4().hex[:8]}",
        "PYTHONPATH": str(REPO),
    }
    running = Processes(env)
    yield running
    running.stop_all()
