"""Health, readiness and Prometheus metrics for web apps and worker processes.

/healthz answers while the process is alive; /readyz runs the ready checks (database `SELECT 1`, ...) and answers
503 naming the checks that failed, so a load balancer stops sending traffic without restarting the process.

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR to an empty folder (wiped before each start) and
point gunicorn's `child_exit` hook at `gunicorn_child_exit`, so /metrics sums every worker instead of reporting
whichever one answered.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, text

from nmd_runtime import settings

ReadyCheck = Callable[[], None]
log = logging.getLogger(__name__)

# Module-level because prometheus_client refuses to register the same name twice in one process (tests build many
# apps); the service label tells the apps apart.
REQUESTS = Counter(
    "nmd_http_requests_total", "HTTP requests answered.", ["service", "method", "endpoint", "status"]
)
LATENCY = Histogram(
    "nmd_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["service", "method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def database_check(engine: Engine) -> ReadyCheck:
    def database() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return database


def check_name(check: ReadyCheck) -> str:
    return str(getattr(check, "check_name", None) or getattr(check, "__name__", None) or repr(check))


def run_ready_checks(checks: Sequence[ReadyCheck]) -> tuple[int, dict[str, Any]]:
    failed: dict[str, str] = {}
    for check in checks:
        try:
            check()
        except Exception as error:
            # Only the error's type goes out: messages can hold connection strings.
            failed[check_name(check)] = type(error).__name__
            log.warning("ready check %s failed", check_name(check), exc_info=True)
    if failed:
        return 503, {"status": "unavailable", "failed": failed}
    return 200, {"status": "ok", "checks": [check_name(c) for c in checks]}


def metrics_payload() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def gunicorn_child_exit(_server: object, worker: Any) -> None:
    """gunicorn `child_exit` hook: drop a dead worker's live gauges from the shared metrics folder."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def install(app: Flask, service: str, ready_checks: Sequence[ReadyCheck]) -> None:
    """Add /healthz, /readyz, /metrics and per-request metrics to a service app."""
    checks = list(ready_checks)
    app.extensions["nmd_ready_checks"] = checks  # services may append checks after creating the app
    ops = Blueprint("nmd_ops", __name__)

    @ops.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        return {"status": "ok"}, 200

    @ops.get("/readyz")
    def readyz() -> tuple[dict[str, Any], int]:
        status, body = run_ready_checks(checks)
        return body, status

    @ops.get("/metrics")
    def metrics() -> Response:
        return Response(metrics_payload(), mimetype=CONTENT_TYPE_LATEST)

    app.register_blueprint(ops)

    @app.before_request
    def _start_timer() -> None:
        g.nmd_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("nmd_started", None)
        # The route template, not the path: one series per route, whatever ids appear in URLs.
        endpoint = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        seconds = time.perf_counter() - started if started is not None else None
        observe_request(service, request.method, endpoint, response.status_code, seconds)
        return response


def observe_request(service: str, method: str, endpoint: str, status: int, seconds: float | None) -> None:
    """Count an answered request (and its time, when known) in the per-request metrics."""
    REQUESTS.labels(service, method, endpoint, str(status)).inc()
    if seconds is not None:
        LATENCY.labels(service, method, endpoint).observe(seconds)


class _HealthHandler(BaseHTTPRequestHandler):
    checks: Sequence[ReadyCheck] = ()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, "application/json", json.dumps({"status": "ok"}).encode())
        elif path == "/readyz":
            status, body = run_ready_checks(self.checks)
            self._send(status, "application/json", json.dumps(body).encode())
        elif path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, metrics_payload())
        else:
            self._send(404, "application/json", b'{"status": "not found"}')

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Probes arrive every few seconds; logging each would drown the worker's own lines.
        pass


def worker_health_server(
    port: int, ready_checks: Sequence[ReadyCheck] = (), *, host: str | None = None
) -> ThreadingHTTPServer:
    """Serve /healthz, /readyz and /metrics from a daemon thread; `port=0` picks a free port.

    Call `.shutdown()` on the returned server to stop it.
    """
    handler = type("HealthHandler", (_HealthHandler,), {"checks": tuple(ready_checks)})
    server = ThreadingHTTPServer((host or settings.env("WORKER_HEALTH_HOST"), port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="nmd-health", daemon=True).start()
    return server
