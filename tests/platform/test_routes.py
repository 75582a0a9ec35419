"""One routes table (infra/routes.yaml): the gateway serves it, nginx and the Ingress say the same, every service's
own URLs reach that service, and the proxies add the forwarding headers and hide /metrics and /readyz."""

from __future__ import annotations

import importlib
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from infra.gateway.app import Gateway
from infra.gateway.routes import RouteTable
from tests.e2e.nginx import running_nginx
from tests.platform.conftest import REPO, SERVICES, load_yaml_documents

ROUTES_CONF = REPO / "infra" / "nginx" / "routes.conf"
INGRESS = REPO / "infra" / "k8s" / "ingress.yaml"
LOCATION = re.compile(r"^location\s+(=\s+)?(\S+)\s*\{\s*(?:proxy_pass http://(\w+);|return (\d+);)\s*\}$")
# Paths at the edges of the table: exact versus prefix, look-alikes, blocked paths and their neighbours.
EDGE_PATHS = [
    "/",
    "/partners",
    "/partners/",
    "/partners/register",
    "/partnersx",
    "/partner/riverside",
    "/stories",
    "/stories/share",
    "/stories-old",
    "/story/a-story",
    "/api/partners",
    "/api/partners/x/badge",
    "/api/partnersx",
    "/api/stories",
    "/api/stories/1/reports",
    "/api/site/countdown",
    "/newsletter",
    "/newsletter/subscribe",
    "/api/subscribers/confirm",
    "/api/newsletter/issues",
    "/webhooks/sendgrid",
    "/webhooks/other",
    "/staff/login",
    "/assets/site.css",
    "/pages/static/pages.css",
    "/metrics",
    "/readyz",
    "/healthz",
    "/metrics/x",
    "/readyz2",
]


def test_the_table_routes_the_agreed_url_space(route_table: RouteTable) -> None:
    expected = {
        "/": "pages",
        "/partners": "pages",
        "/stories": "pages",
        "/partner/x": "pages",
        "/story/x": "pages",
        "/role-of-a-mentor": "pages",
        "/events": "pages",
        "/calendar.ics": "pages",
        "/staff/": "pages",
        "/partners/register": "partners",
        "/partners/verify/t": "partners",
        "/api/partners": "partners",
        "/stories/share": "stories",
        "/stories/withdraw/t": "stories",
        "/api/stories": "stories",
        "/newsletter/subscribe": "newsletter",
        "/api/subscribers": "newsletter",
        "/api/newsletter/issues": "newsletter",
        "/webhooks/sendgrid": "newsletter",
        "/metrics": None,
        "/readyz": None,
        "/partnersx": "pages",
    }
    assert {path: route_table.service_for(path) for path in expected} == expected


def test_every_url_of_every_service_reaches_that_service(
    route_table: RouteTable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NMD_VAR_DIR", str(tmp_path))
    # Answered by every app for a service run on its own; behind the origin these belong to pages or nobody.
    everyone = {"/assets/x", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"}
    wrong = []
    for service in SERVICES:
        app = importlib.import_module(f"nmd_{service}.app").create_app()
        for rule in app.url_map.iter_rules():
            path = re.sub(r"<[^>]+>", "x", rule.rule)
            if path not in everyone and route_table.service_for(path) != service:
                wrong.append((service, rule.rule, route_table.service_for(path)))
    assert wrong == []


def _expected_locations(table: RouteTable) -> set[tuple[str, str, str]]:
    """The nginx locations that implement the table: ("=" or "prefix", path, service or "404")."""
    expected = {("=", path, "404") for path in table.blocked} | {("prefix", "/", table.default)}
    exact = {r.path for r in table.routes if r.match == "exact"}
    for route in table.routes:
        if route.match == "exact":
            expected.add(("=", route.path, route.service))
        else:
            expected.add(("prefix", route.path.rstrip("/") + "/", route.service))
            if route.path not in exact:
                expected.add(("=", route.path, route.service))
    return expected


def test_nginx_routes_conf_is_the_table(route_table: RouteTable) -> None:
    found = set()
    for line in ROUTES_CONF.read_text("utf-8").splitlines():
        if line.startswith("location"):
            match = LOCATION.match(line.strip())
            assert match, f"unexpected location line: {line}"
            exact, path, service, status = match.groups()
            found.add(("=" if exact else "prefix", path, service or status))
    assert found == _expected_locations(route_table)


def test_the_ingress_is_the_table(route_table: RouteTable) -> None:
    ingresses = {doc["metadata"]["name"]: doc for doc in load_yaml_documents(INGRESS)}

    def paths(name: str) -> set[tuple[str, str, str]]:
        rules = ingresses[name]["spec"]["rules"]
        return {
            (p["pathType"], p["path"], p["backend"]["service"]["name"].removesuffix("-web"))
            for rule in rules
            for p in rule["http"]["paths"]
        }

    expected = {(r.match.title(), r.path, r.service) for r in route_table.routes}
    assert paths("nmd") == expected | {("Prefix", "/", route_table.default)}
    assert {(kind, path) for kind, path, _ in paths("nmd-blocked")} == {("Exact", p) for p in route_table.blocked}
    denied = ingresses["nmd-blocked"]["metadata"]["annotations"][
        "nginx.ingress.kubernetes.io/denylist-source-range"
    ]
    assert set(denied.split(",")) == {"0.0.0.0/0", "::/0"}


# --- the gateway and nginx in front of stand-in upstreams that say who they are and what they received


def _upstream(service: str) -> Any:
    @Request.application
    def answer(request: Request) -> Response:
        seen = {
            "service": service,
            "path": request.path,
            "query": request.query_string.decode(),
            "body": request.get_data(as_text=True),
            "host": request.headers.get("Host"),
            "forwarded_for": request.headers.get("X-Forwarded-For"),
            "forwarded_proto": request.headers.get("X-Forwarded-Proto"),
        }
        response = Response(json.dumps(seen), mimetype="application/json")
        response.headers.add("Set-Cookie", "a=1; Path=/")
        response.headers.add("Set-Cookie", "b=2; Path=/")
        return response

    return answer


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    servers = {service: make_server("127.0.0.1", 0, _upstream(service), threaded=True) for service in SERVICES}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {service: f"127.0.0.1:{server.server_port}" for service, server in servers.items()}
    for server in servers.values():
        server.shutdown()


def test_the_gateway_forwards_by_the_table_with_forwarding_headers(
    route_table: RouteTable, upstreams: dict[str, str]
) -> None:
    gateway = Gateway(route_table, {s: f"http://{a}" for s, a in upstreams.items()}, timeout=10)
    client = Client(gateway)
    for path in EDGE_PATHS:
        response = client.get(
            path, environ_base={"REMOTE_ADDR": "203.0.113.9"}, headers={"Host": "localhost:8080"}
        )
        service = route_table.service_for(path)
        if service is None:
            assert response.status_code == 404, path
            continue
        seen = response.get_json()
        assert (seen["service"], seen["path"]) == (service, path)
        assert (seen["forwarded_for"], seen["forwarded_proto"], seen["host"]) == (
            "203.0.113.9",
            "http",
            "localhost:8080",
        )
    response = client.post(
        "/api/stories?x=1",
        data="hello",
        headers={"X-Forwarded-For": "198.51.100.1", "Content-Type": "text/plain"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    seen = response.get_json()
    assert (seen["query"], seen["body"], seen["forwarded_for"]) == ("x=1", "hello", "198.51.100.1, 203.0.113.9")
    assert response.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]


def test_nginx_forwards_by_the_table_with_forwarding_headers(
    route_table: RouteTable, upstreams: dict[str, str], tmp_path: Path
) -> None:
    with running_nginx(tmp_path / "nginx", upstreams) as origin:
        for path in EDGE_PATHS:
            response = requests.get(origin + path, timeout=10)
            service = route_table.service_for(path)
            if service is None:
                assert response.status_code == 404, path
                continue
            seen = response.json()
            assert (seen["service"], seen["path"]) == (service, path)
            assert (seen["forwarded_for"], seen["forwarded_proto"]) == ("127.0.0.1", "http")
            assert seen["host"] == origin.removeprefix("http://")
