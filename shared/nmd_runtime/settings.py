"""Settings read from the environment, once, in one place.

Every variable the platform reads is declared here, so docs/operations.md can be generated from this list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    description: str

    def read(self) -> str:
        return os.environ.get(self.name, self.default)


def _var_dir() -> Path:
    return Path(os.environ.get("NMD_VAR_DIR", str(REPO_ROOT / "var")))


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in [
        Variable("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092", "Kafka brokers, comma separated."),
        Variable("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."),
        Variable("KAFKA_SASL_MECHANISM", "", "PLAIN or SCRAM-SHA-512 when SASL is used."),
        Variable("KAFKA_SASL_USERNAME", "", "SASL user name."),
        Variable("KAFKA_SASL_PASSWORD", "", "SASL password (a secret)."),
        Variable("NMD_VAR_DIR", "var", "Folder for SQLite files, local media, mail files and logs."),
        Variable(
            "SECRET_KEY", "dev-only-secret-change-me", "Signs sessions and links; the same on every service."
        ),
        Variable("STAFF_DATABASE_URL", "", "Database of staff accounts (default: SQLite under NMD_VAR_DIR)."),
        Variable("PUBLIC_BASE_URL", "http://localhost:8080", "The one public origin, used in emailed links."),
        Variable("LOG_LEVEL", "INFO", "Logging level of every process."),
        Variable(
            "TRUSTED_PROXY_HOPS",
            "1",
            "Proxies in front of the web processes that append to X-Forwarded-For (0: ignore the header).",
        ),
        Variable("WORKER_HEALTH_HOST", "127.0.0.1", "Address of a worker's /healthz, /readyz, /metrics server."),
        Variable(
            "PROMETHEUS_MULTIPROC_DIR",
            "",
            "Empty folder shared by gunicorn's workers so /metrics sums them (read by prometheus_client).",
        ),
    ]
}


def env(name: str) -> str:
    """Read a declared variable; undeclared names are a programming error."""
    return VARIABLES[name].read()


def declare(name: str, default: str, description: str) -> Variable:
    """Let a service declare its own variable so it is documented with the rest."""
    variable = VARIABLES.setdefault(name, Variable(name, default, description))
    return variable


def var_dir() -> Path:
    path = _var_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL`, else a SQLite file of the service's own under the var folder."""
    name = f"{service.upper()}_DATABASE_URL"
    declare(name, "", f"Database of the {service} service (default: SQLite file under NMD_VAR_DIR).")
    return os.environ.get(name) or f"sqlite:///{var_dir() / (service + '.db')}"


def kafka_settings() -> dict[str, object]:
    """Connection settings for every kafka-python client, including SASL/TLS in production."""
    settings: dict[str, object] = {
        "bootstrap_servers": env("KAFKA_BOOTSTRAP_SERVERS").split(","),
        "security_protocol": env("KAFKA_SECURITY_PROTOCOL"),
    }
    if env("KAFKA_SASL_MECHANISM"):
        settings |= {
            "sasl_mechanism": env("KAFKA_SASL_MECHANISM"),
            "sasl_plain_username": env("KAFKA_SASL_USERNAME"),
            "sasl_plain_password": env("KAFKA_SASL_PASSWORD"),
        }
    return settings
