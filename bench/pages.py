"""Benchmark: the home page through gunicorn (the live app, page cache on) beside nginx serving the same page's
static HTML (as published by nmd_pages.publishing), in the same run, on loopback, with wrk.

    .venv/bin/python -m bench.pages [--seconds 10] [--connections 32] [--workers N] [--threads N]

gunicorn is started by the Procfile's own `pages` command (infra/gunicorn_config.py, the metrics folder), so the
benchmark measures what `make run` and the containers run; --workers and --threads set WEB_CONCURRENCY and
WEB_THREADS for it (default: the config's defaults).

Needs Debian's nginx-light and wrk (infra/system-packages.sh installs nginx; `apt-get install wrk`). Uses a
SQLite database in a temporary folder (the one-machine default), seeded with a few partners and stories;
BENCH_PAGES_DATABASE_URL points it at PostgreSQL instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def seed(database_url: str) -> None:
    from nmd_contracts.envelope import new_event
    from nmd_pages.read_models import HANDLERS
    from nmd_pages.worker import prepare

    from tests.event_data import partner_profile, story_data

    engine = prepare(database_url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for n in range(12):
            partner = partner_profile(f"bench-p{n}", f"bench-partner-{n}", f"Bench Partner {n}") | {
                "approved_at": now
            }
            HANDLERS["partner.approved"](
                conn, new_event("partner.approved", partner["partner_id"], partner, source="/bench")
            )
            story = story_data(f"bench-s{n}", f"bench-story-{n}", f"What my mentor did {n}", published_at=now)
            HANDLERS["story.published"](
                conn, new_event("story.published", story["story_id"], story, source="/bench")
            )
    engine.dispose()


def publish_static(database_url: str, folder: Path) -> None:
    from nmd_pages.app import create_app
    from nmd_pages.publishing import FolderTarget, publish
    from nmd_pages.worker import prepare

    publish(create_app(database_url), prepare(database_url), FolderTarget(folder))


NGINX_CONF = """
user root;
worker_processes {workers};
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port};
    root {site};
    location / {{ try_files $uri $uri/index.html =404; add_header Cache-Control "public, max-age=60"; }}
  }}
}}
"""


def wrk(url: str, seconds: int, connections: int, threads: int) -> tuple[float, float]:
    """(requests per second, p99 latency in ms)."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the run:\n{out}")
    return rps, p99


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers", type=int, help="gunicorn workers (WEB_CONCURRENCY) and nginx worker processes"
    )
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker (WEB_THREADS)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    args = parser.parse_args(argv)
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is missing: apt-get install wrk nginx-light", file=sys.stderr)
            return 2

    root = Path(tempfile.mkdtemp(prefix="nmd-bench-pages-"))
    database_url = os.environ.get("BENCH_PAGES_DATABASE_URL") or f"sqlite:///{root / 'pages.db'}"
    env = os.environ | {
        "PAGES_DATABASE_URL": database_url,
        "NMD_VAR_DIR": str(root / "var"),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: env[k] for k in ("PAGES_DATABASE_URL", "NMD_VAR_DIR")})
    seed(database_url)
    publish_static(database_url, root / "site")

    app_port, nginx_port = free_port(), free_port()
    if args.workers is not None:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads is not None:
        env["WEB_THREADS"] = str(args.threads)
    env |= {"WEB_HOST": "127.0.0.1", "PAGES_PORT": str(app_port), "PATH": f"{VENV_BIN}{os.pathsep}{env['PATH']}"}
    os.environ.update({k: env[k] for k in ("WEB_CONCURRENCY", "WEB_THREADS") if k in env})
    from infra import gunicorn_config  # what the Procfile's command will read from the same environment
    from infra.process import processes

    workers, threads, worker_class = gunicorn_config.workers, gunicorn_config.threads, gunicorn_config.worker_class
    gunicorn = subprocess.Popen(
        ["sh", "-c", processes()["pages"]],  # `exec gunicorn ...`: the shell becomes gunicorn
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=open(root / "gunicorn.log", "w"),  # noqa: SIM115
    )
    (root / "nginx.conf").write_text(
        NGINX_CONF.format(workers=workers, root=root, port=nginx_port, site=root / "site")
    )
    nginx = subprocess.Popen(
        ["nginx", "-p", str(root), "-c", str(root / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        app_url, static_url = f"http://127.0.0.1:{app_port}/", f"http://127.0.0.1:{nginx_port}/"
        wait_until_up(app_url)
        wait_until_up(static_url)
        wrk(app_url, 2, args.connections, args.wrk_threads)  # warm the page cache of every worker
        app_rps, app_p99 = wrk(app_url, args.seconds, args.connections, args.wrk_threads)
        static_rps, static_p99 = wrk(static_url, args.seconds, args.connections, args.wrk_threads)
    finally:
        for process in (gunicorn, nginx):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    print(
        f"home page, {args.seconds}s each, {args.connections} connections, wrk -t{args.wrk_threads}, "
        f"{os.cpu_count()} CPUs shared with the load generator"
    )
    print(
        f"gunicorn ({workers} {worker_class} workers x {threads} threads): {app_rps:10.0f} req/s   "
        f"p99 {app_p99:6.2f} ms"
    )
    print(f"nginx static ({workers} workers):              {static_rps:10.0f} req/s   p99 {static_p99:6.2f} ms")
    print(f"nginx / gunicorn: {static_rps / app_rps:.1f}x")
    target = app_rps >= 2000 and app_p99 < 50
    print(f"target (>= 2000 req/s, p99 < 50 ms): {'met' if target else 'NOT met'}")
    print(f"load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
