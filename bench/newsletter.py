"""Benchmark: one newsletter issue to N subscribers (default 1,000,000) handed to the fake SendGrid.

    .venv/bin/python -m bench.newsletter [--subscribers 1000000] [--senders 2]

Needs the local broker and PostgreSQL (`make infra-up`); KAFKA_BOOTSTRAP_SERVERS and BENCH_POSTGRES_URL override.
Runs the real pipeline as separate processes: a worker that fixes the audience, cuts the batches and relays them
(plus sends), further sender workers in the same consumer group, and the fake SendGrid (rules checked, recipients
counted, no webhook). Prints recipients per second and the peak resident memory (VmHWM) of every process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from nmd_runtime.database import make_engine
from nmd_runtime.kafka import start_group_at_end

REPO = Path(__file__).resolve().parents[1]
SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://nmd:nmd@127.0.0.1:55432/postgres")
FAKE_PORT = 18990
API_KEY = "SG.bench"


def fresh_database(name: str) -> str:
    server = SERVER_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return SERVER_URL.rsplit("/", 1)[0] + "/" + name


def load_subscribers(url: str, count: int) -> float:
    """COPY the subscribers in: the bench is about sending, not about a million sign-ups."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn, conn.cursor() as cursor:
        columns = (
            "subscriber_id, email, name, interests, status, consent_version, requested_at, requests, confirmed_at"
        )
        with cursor.copy(f"COPY subscribers ({columns}) FROM STDIN") as copy:
            for i in range(count):
                copy.write_row(
                    (
                        str(uuid.UUID(int=i + 1)),
                        f"reader{i}@example.org",
                        None,
                        ",campaign_news,",
                        "confirmed",
                        "2026-09-01",
                        now,
                        1,
                        now,
                    )
                )
        cursor.execute("ANALYZE subscribers")
    return time.perf_counter() - started


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child process; its log goes to var/bench/<module>-<time>.log."""
    folder = REPO / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    module = args[args.index("-m") + 1] if "-m" in args else args[0]
    log = open(folder / f"{module}-{time.time_ns()}.log", "w")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [sys.executable, "-m", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log, text=True
    )


def fake_stats() -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{FAKE_PORT}/_fake/stats", timeout=10) as answer:
        return json.loads(answer.read())


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size, as the kernel counted it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_fake() -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            fake_stats()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the fake SendGrid did not start")


def create_issue(url: str) -> str:
    from nmd_newsletter.app import create_engine_and_migrate
    from nmd_newsletter.issues import create_issue as create
    from nmd_newsletter.issues import schedule

    engine = create_engine_and_migrate(url)
    with engine.begin() as conn:
        issue_id = create(
            conn,
            {
                "subject": "National Mentoring Day is coming",
                "audience_interests": [],
                "body_markdown": "## Ten days to go\n\nThank a mentor this week.",
            },
            "bench",
        )
        schedule(conn, issue_id, datetime.now(UTC))
    engine.dispose()
    return issue_id


def issue_row(url: str, issue_id: str) -> dict:
    engine = make_engine(url)
    with engine.connect() as conn:
        row = (
            conn.exec_driver_sql(
                "SELECT status, recipient_count, batch_count, sent_count, started_at, completed_at FROM issues "
                "WHERE issue_id = %(id)s",
                {"id": issue_id},
            )
            .mappings()
            .one()
        )
    engine.dispose()
    return dict(row)


def reference_run(url: str, issue_id: str, count: int) -> float:
    """The floor, timed in the same command: `count` recipients in requests of 1,000 shaped like ours (the issue's
    own content, one personalization each with a link token, List-Unsubscribe and subscriber id), posted one after
    another with the sendgrid library from this process. Nothing is read, signed or recorded; only the posts are
    timed (each request is built before its clock starts)."""
    from nmd_newsletter.mail import Mail, Recipient, sendgrid_payload
    from sendgrid import SendGridAPIClient

    engine = make_engine(url)
    with engine.connect() as conn:
        subject, html, text = conn.exec_driver_sql(
            "SELECT subject, html, text FROM issues WHERE issue_id = %(id)s", {"id": issue_id}
        ).one()
    engine.dispose()
    client = SendGridAPIClient(API_KEY, host=f"http://127.0.0.1:{FAKE_PORT}")
    token = f"{uuid.uuid4()}:{issue_id}.{'x' * 43}"
    posting = 0.0
    for first in range(0, count, 1000):
        people = [
            Recipient(
                f"reference{i}@example.org",
                substitutions={"%link_token%": token},
                headers={"List-Unsubscribe": f"<https://mentoring.example/newsletter/unsubscribe/{token}>"},
                custom_args={"subscriber_id": str(uuid.UUID(int=i + 1))},
            )
            for i in range(first, min(first + 1000, count))
        ]
        mail = Mail("News <news@example.org>", subject, text, html, people, "reference", {"issue_id": issue_id})
        payload = sendgrid_payload(mail)
        started = time.perf_counter()
        client.client.mail.send.post(request_body=payload, timeout=30)
        posting += time.perf_counter() - started
    return posting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--senders", type=int, default=3, help="sender worker processes (one also dispatches)")
    parser.add_argument("--timeout", type=float, default=600)
    options = parser.parse_args()

    url = fresh_database(f"bench_newsletter_{uuid.uuid4().hex[:6]}")
    from nmd_newsletter.app import create_engine_and_migrate

    create_engine_and_migrate(url).dispose()
    loaded = load_subscribers(url, options.subscribers)
    print(f"loaded {options.subscribers:,} subscribers with COPY in {loaded:.1f}s", flush=True)

    env = os.environ | {
        "PYTHONPATH": str(REPO),
        "NEWSLETTER_DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "NEWSLETTER_MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": API_KEY,
        "SENDGRID_HOST": f"http://127.0.0.1:{FAKE_PORT}",
        "SENDGRID_TIMEOUT": "30",
        "NEWSLETTER_GROUP_PREFIX": f"bench-{uuid.uuid4().hex[:6]}",
        "NEWSLETTER_WORKER_HEALTH_PORT": "0",  # several workers on one machine
    }
    start_group_at_end(f"{env['NEWSLETTER_GROUP_PREFIX']}-senders", ["newsletter.deliveries"])
    fake = start(
        [
            "tests.fakes.sendgrid_api",
            "--port",
            str(FAKE_PORT),
            "--api-key",
            API_KEY,
            "--no-keep-messages",
            "--no-processed",
        ],
        env,
    )
    wait_for_fake()
    workers = [start(["nmd_newsletter.worker", "--roles", "dispatch,sender"], env)]
    profile = ["cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    workers += [
        start(
            [*profile, *(["-m"] if profile else []), "nmd_newsletter.worker", "--roles", "sender", "--no-relay"],
            env,
        )
        for _ in range(options.senders - 1)
    ]
    processes = {"fake-sendgrid": fake} | {f"worker-{i + 1}": w for i, w in enumerate(workers)}
    time.sleep(3)  # let the senders join their consumer group before the clock starts

    issue_id = create_issue(url)
    started, busy_before = time.perf_counter(), machine_busy_seconds()
    cpu_before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
    accepted, peaks, last_print, first_accept = 0, dict.fromkeys(processes, 0.0), 0.0, None
    while accepted < options.subscribers and time.perf_counter() - started < options.timeout:
        time.sleep(0.5)
        accepted = fake_stats()["recipients"]
        if accepted and first_accept is None:
            first_accept = time.perf_counter() - started
        for name, process in processes.items():
            if process.poll() is None:
                peaks[name] = max(peaks[name], peak_rss_mb(process.pid))
        if time.perf_counter() - last_print > 5:
            last_print = time.perf_counter()
            print(f"  {time.perf_counter() - started:6.1f}s  {accepted:>9,} accepted", flush=True)
    elapsed = time.perf_counter() - started
    stats = fake_stats()
    row = issue_row(url, issue_id)
    cpu = {name: cpu_seconds(p.pid) - cpu_before[name] for name, p in processes.items() if p.poll() is None}
    busy = machine_busy_seconds() - busy_before
    for process in workers:
        process.terminate()  # the reference run has the machine to itself and the fake
    reference = reference_run(url, issue_id, options.subscribers)
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        process.wait(timeout=60)

    print()
    print(
        f"issue to {options.subscribers:,} subscribers, {options.senders} sender processes, {os.cpu_count()} CPUs"
    )
    print(
        f"accepted at the fake SendGrid: {stats['recipients']:,} in {stats['accepted_requests']:,} requests "
        f"({stats['duplicates']} addresses twice, refused {stats['refused'] or 'none'})"
    )
    print(f"elapsed: {elapsed:.1f}s  →  {stats['recipients'] / elapsed:,.0f} recipients/s")
    print(
        f"reference (prebuilt requests posted from one process, same fake, same run): {reference:.1f}s  →  "
        f"{options.subscribers / reference:,.0f} recipients/s; the pipeline took {elapsed / reference:.2f}x that"
    )
    if row["started_at"] and row["completed_at"]:
        print(
            f"issue {row['status']}: {row['sent_count']:,} sent in {row['batch_count']:,} batches, "
            f"{(row['completed_at'] - row['started_at']).total_seconds():.1f}s from start to completed"
        )
    if first_accept is not None:
        print(f"first recipient accepted {first_accept:.1f}s after the issue was scheduled")
    print("peak resident memory (VmHWM) and CPU time used while the clock ran:")
    for name, peak in peaks.items():
        print(f"  {name:14s} {peak:7.1f} MB  {cpu.get(name, 0):6.1f} s CPU")
    print(f"  {'bench':14s} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:7.1f} MB")
    print(
        f"machine busy {busy:.1f} s CPU of {elapsed * (os.cpu_count() or 1):.1f} s; outside the processes above "
        f"(Kafka, PostgreSQL, the kernel): {busy - sum(cpu.values()):.1f} s"
    )
    server = SERVER_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
