"""Correlation ids, health, readiness and metrics, in the web app and in a worker's health server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from flask import Flask
from nmd_runtime import context
from nmd_runtime.observability import database_check, worker_health_server
from nmd_runtime.web import create_service_app, current_correlation_id, current_traceparent
from sqlalchemy import create_engine

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_given_correlation_id_is_echoed(client: Any) -> None:
    response = client.get("/healthz", headers={"X-Correlation-ID": "abc-123"})
    assert response.headers["X-Correlation-ID"] == "abc-123"


def test_a_correlation_id_is_made_when_none_is_given(client: Any) -> None:
    made = client.get("/healthz").headers["X-Correlation-ID"]
    assert uuid.UUID(made).version == 4


def test_a_traceparent_supplies_the_correlation_id(client: Any) -> None:
    response = client.get("/healthz", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    assert response.headers["X-Correlation-ID"] == TRACE


def test_a_hostile_correlation_id_is_replaced(client: Any) -> None:
    response = client.get("/healthz", headers={"X-Correlation-ID": 'bad id {"json": 1}'})
    assert uuid.UUID(response.headers["X-Correlation-ID"])


def test_correlation_inside_and_outside_a_request(app: Flask) -> None:
    assert current_correlation_id() is None and current_traceparent() is None
    with app.test_request_context("/", headers={"X-Correlation-ID": "req-1"}):
        app.preprocess_request()
        assert current_correlation_id() == "req-1"
        assert context.correlation_id.get() == "req-1"  # what the outbox stamps on events
        assert current_traceparent().startswith("00-")
        app.do_teardown_request()
    assert context.correlation_id.get() is None


def test_healthz(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_names_the_failed_check(client: Any, broker: Any) -> None:
    assert client.get("/readyz").status_code == 200
    broker.ok = False
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == {"broker": "ConnectionError"}
    assert "secret" not in response.get_data(as_text=True)


def test_readyz_checks_the_database(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'svc.db'}")
    app, _ = create_service_app("dbsvc", title="DB", import_name=__name__, database=engine)
    body = app.test_client().get("/readyz").get_json()
    assert body == {"status": "ok", "checks": ["database"]}

    broken = create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    app, _ = create_service_app("dbsvc", title="DB", import_name=__name__, database=broken)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and "database" in response.get_json()["failed"]


def test_metrics_count_requests_by_endpoint_and_status(client: Any) -> None:
    client.get("/demo/")
    client.get("/api/nothing")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'nmd_http_requests_total{endpoint="/demo/",method="GET",service="demo",status="200"}' in text
    assert 'endpoint="<unmatched>",method="GET",service="demo",status="404"' in text
    assert "nmd_http_request_duration_seconds_bucket" in text


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_worker_health_server() -> None:
    state = {"ok": True}

    def kafka() -> None:
        if not state["ok"]:
            raise TimeoutError("no broker")

    server = worker_health_server(0, [kafka], host="127.0.0.1")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _get(f"{base}/healthz") == (200, '{"status": "ok"}')
        assert _get(f"{base}/readyz")[0] == 200
        state["ok"] = False
        status, body = _get(f"{base}/readyz")
        assert status == 503 and json.loads(body)["failed"] == {"kafka": "TimeoutError"}
        status, body = _get(f"{base}/metrics")
        assert status == 200 and "nmd_http_requests_total" in body
        assert _get(f"{base}/nope")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_database_check_is_named_database(tmp_path: Any) -> None:
    check = database_check(create_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    assert check.__name__ == "database"
    check()


def test_a_worker_serves_health_while_it_runs_and_frees_the_port_when_stopped(tmp_path: Any) -> None:
    import socket
    import threading

    from nmd_runtime.worker import run_worker

    from tests.waiting import wait_for

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()
    engine = create_engine(f"sqlite:///{tmp_path / 'worker.db'}")
    worker = threading.Thread(
        target=run_worker, args=(engine, []), kwargs={"relay": False, "stop": stop, "health_port": port}
    )
    worker.start()
    try:
        status, body = wait_for(lambda: _reachable(f"http://127.0.0.1:{port}/readyz"), message="worker health")
        assert status == 200 and json.loads(body)["checks"] == ["database"]
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    restarted = worker_health_server(port, host="127.0.0.1")  # the worker let go of its port
    restarted.shutdown()
    restarted.server_close()


def _reachable(url: str) -> tuple[int, str] | None:
    try:
        return _get(url)
    except OSError:
        return None
