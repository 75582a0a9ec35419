"""The whole platform started the way `make run` starts it: infra/run.sh (topics, migrations, the staff account,
sample content, then honcho and the Procfile), on the test session's Kafka broker, with either `make run`'s default
databases (a SQLite file per service under NMD_VAR_DIR) or a fresh PostgreSQL database per service."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
import requests
from nmd_contracts.topics import provision
from nmd_runtime.kafka import start_group_at_end
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.e2e.nginx import free_port
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("pages", "partners", "stories", "newsletter")
DATABASES = (*SERVICES, "staff")
# The newsletter's consumer groups of commands and delivery feedback, by the suffix of NEWSLETTER_GROUP_PREFIX.
NEWSLETTER_COMMAND_GROUPS = {
    "mailer": "notifications.email",
    "senders": "newsletter.deliveries",
    "delivery-events": "email.events",
}
PASSWORD_LINE = re.compile(r"password \(shown once\): (\S+)")
START_TIMEOUT = 240  # first start on a busy two-core machine: four web apps, four workers, the gateway


@dataclass
class Platform:
    origin: str
    var_dir: Path
    web_ports: dict[str, int]
    database_urls: dict[str, str]
    output: list[str] = field(default_factory=list)
    staff_password: str = ""

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.output[-lines:])

    def email(self, to: str, label_prefix: str, timeout: float = 90) -> EmailMessage:
        """The .eml the newsletter service wrote for `to` whose name starts with `label_prefix`."""

        def find() -> EmailMessage | None:
            for path in sorted(self.mail_dir.glob(f"*/{label_prefix}*.eml")):
                message = message_from_bytes(path.read_bytes(), policy=policy.default)
                if to.lower() in str(message["To"]).lower():
                    return message  # type: ignore[return-value]
            return None

        return wait_for(find, timeout=timeout, interval=0.5, message=lambda: f"no {label_prefix} email to {to}")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def databases(server_url: str, tag: str) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database per service (and the staff accounts), dropped afterwards."""
    names = {owner: f"e2e_{tag}_{owner}" for owner in DATABASES}
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        for name in names.values():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {
            owner: make_url(server_url).set(database=name).render_as_string(hide_password=False)
            for owner, name in names.items()
        }
    finally:
        with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
            for name in names.values():
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def sqlite_files(var_dir: Path) -> Iterator[dict[str, str]]:
    """Where `make run` keeps each database when no <OWNER>_DATABASE_URL is set (nmd_runtime.settings)."""
    yield {owner: f"sqlite:///{var_dir / owner}.db" for owner in DATABASES}


def environment(
    var_dir: Path, kafka: str, urls: dict[str, str], tag: str, postgres: bool
) -> tuple[dict[str, str], int, dict]:
    gateway = free_port()
    web_ports = {service: free_port() for service in SERVICES}
    inherited = {name: value for name, value in os.environ.items() if not name.endswith("_DATABASE_URL")}
    env = inherited | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "NMD_VAR_DIR": str(var_dir),
        "PUBLIC_BASE_URL": f"http://localhost:{gateway}",
        "GATEWAY_PORT": str(gateway),
        "SECRET_KEY": secrets.token_hex(32),
        # Other tests share the broker: consumer groups of our own, so no one else takes our partitions.
        "PAGES_READ_MODEL_GROUP": f"e2e-{tag}.pages.read-models",
        "PAGES_PAGE_VIEWS_GROUP": f"e2e-{tag}.pages.page-views",
        "NEWSLETTER_GROUP_PREFIX": f"e2e-{tag}-newsletter",
        # Lean on a shared two-core machine: one gunicorn process per service, no static re-publishing.
        "WEB_CONCURRENCY": "1",
        "PAGES_PUBLISH_STATIC": "0",
        "NEWSLETTER_MAIL_BACKEND": "file",
    }
    for service, port in web_ports.items():
        env[f"{service.upper()}_PORT"] = str(port)
        env[f"{service.upper()}_WORKER_HEALTH_PORT"] = str(free_port())
    if postgres:
        for owner, url in urls.items():
            env[f"{owner.upper()}_DATABASE_URL"] = url
    return env, gateway, web_ports


def start_newsletter_groups_at_end(kafka: str, prefix: str) -> None:
    """A fresh broker holds no commands, but the tests' shared one holds every earlier test's emails, batches of
    up to 1,000 recipients and delivery events: from the beginning, our newsletter worker would spend minutes
    sending other tests' mail. Its command groups start at the topics' current end instead."""
    provision(kafka)  # as infra/run.sh will: the topics must exist to have an end
    for suffix, topic in NEWSLETTER_COMMAND_GROUPS.items():
        start_group_at_end(f"{prefix}-{suffix}", [topic], bootstrap_servers=kafka)


@contextlib.contextmanager
def running_platform(var_dir: Path, kafka: str, postgres_server: str | None = None) -> Iterator[Platform]:
    """`make run` on `kafka`; on PostgreSQL when `postgres_server` is given, else on its default SQLite files."""
    tag = uuid.uuid4().hex[:8]
    chosen = databases(postgres_server, tag) if postgres_server else sqlite_files(var_dir)
    with chosen as urls:
        env, gateway, web_ports = environment(var_dir, kafka, urls, tag, postgres=bool(postgres_server))
        start_newsletter_groups_at_end(kafka, env["NEWSLETTER_GROUP_PREFIX"])
        platform = Platform(f"http://localhost:{gateway}", var_dir, web_ports, urls)
        process = subprocess.Popen(
            ["infra/run.sh"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, like a terminal's: Ctrl-C reaches honcho alone
        )
        reader = threading.Thread(target=_read, args=(process, platform), daemon=True)
        reader.start()
        try:
            _wait_until_serving(process, platform)
            yield platform
        finally:
            _stop(process, platform)
            reader.join(timeout=10)


def _read(process: subprocess.Popen[str], platform: Platform) -> None:
    assert process.stdout is not None
    log = (platform.var_dir / "platform.log").open("w")
    for line in process.stdout:
        platform.output.append(line.rstrip("\n"))
        log.write(line)
        log.flush()
        if not platform.staff_password and (found := PASSWORD_LINE.search(line)):
            platform.staff_password = found.group(1)


def _serving(process: subprocess.Popen[str], platform: Platform) -> bool:
    assert process.poll() is None, f"make run stopped:\n{platform.log_tail()}"
    try:
        answers = [
            requests.get(platform.origin + path, timeout=5)
            for path in ("/", "/partners/register", "/stories/share", "/newsletter/subscribe")
        ]
    except requests.RequestException:
        return False
    return all(response.status_code == 200 for response in answers)


def _wait_until_serving(process: subprocess.Popen[str], platform: Platform) -> None:
    wait_for(
        lambda: _serving(process, platform),
        timeout=START_TIMEOUT,
        interval=1,
        message=lambda: f"the platform did not serve {platform.origin}:\n{platform.log_tail()}",
    )
    assert platform.staff_password, f"no staff password was printed:\n{platform.log_tail()}"


def _stop(process: subprocess.Popen[str], platform: Platform) -> None:
    """Ctrl-C: honcho stops every process of the Procfile and exits."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"Ctrl-C did not stop the platform:\n{platform.log_tail()}") from None
    wait_for(lambda: not _group_alive(process.pid), timeout=15, message="processes outlived Ctrl-C")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
