"""The dev gateway: a WSGI app that sends each request to the service owning its path (infra/routes.yaml).

    gunicorn 'infra.gateway.app:create_app()'      (the Procfile's `gateway` process)

The forwarding itself is Werkzeug's ProxyMiddleware; this module only picks the target and adds the headers a
reverse proxy adds (X-Forwarded-For, -Proto, -Host), exactly as infra/nginx does in production. Blocked paths
(/metrics, /readyz) answer 404: they are for probes and Prometheus on the services' own ports.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nmd_runtime import settings
from werkzeug.exceptions import NotFound
from werkzeug.middleware.http_proxy import ProxyMiddleware

from infra.gateway import routes

WEB_HOST = settings.declare(
    "WEB_HOST", "127.0.0.1", "Address the web processes of `make run` listen on and the gateway forwards to."
)
GATEWAY_HOST = settings.declare("GATEWAY_HOST", "127.0.0.1", "Address the dev gateway listens on.")
GATEWAY_PORT = settings.declare("GATEWAY_PORT", "8080", "Port of the dev gateway: the one origin of `make run`.")
GATEWAY_TIMEOUT = settings.declare("GATEWAY_TIMEOUT", "60", "Seconds the dev gateway waits for a service.")
DEFAULT_PORTS = {"pages": "8101", "partners": "8102", "stories": "8103", "newsletter": "8104"}
PORTS = {
    service: settings.declare(
        f"{service.upper()}_PORT", port, f"Port of the {service} web process in `make run` (the gateway's target)."
    )
    for service, port in DEFAULT_PORTS.items()
}


def upstreams() -> dict[str, str]:
    return {service: f"http://{WEB_HOST.read()}:{port.read()}" for service, port in PORTS.items()}


class Gateway:
    def __init__(self, table: routes.RouteTable, targets: dict[str, str], timeout: int = 60) -> None:
        self.table = table
        self.proxy = ProxyMiddleware(NotFound(), {}, timeout=timeout)
        # host=None: the service sees the public Host, as behind nginx, so its absolute URLs stay on the origin.
        self.options = {
            service: {"target": url, "remove_prefix": False, "host": None, "headers": {}, "ssl_context": None}
            for service, url in targets.items()
        }

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        service = self.table.service_for(path)
        if service is None:
            return NotFound()(environ, start_response)
        forwarded(environ)
        return self.proxy.proxy_to(self.options[service], path, "/")(environ, start_response)


def forwarded(environ: dict[str, Any]) -> None:
    """Append the peer to X-Forwarded-For and say which scheme and host the visitor used."""
    peer = environ.get("REMOTE_ADDR") or ""
    before = environ.get("HTTP_X_FORWARDED_FOR", "").strip()
    environ["HTTP_X_FORWARDED_FOR"] = f"{before}, {peer}" if before else peer
    environ["HTTP_X_FORWARDED_PROTO"] = environ.get("wsgi.url_scheme", "http")
    if environ.get("HTTP_HOST"):
        environ["HTTP_X_FORWARDED_HOST"] = environ["HTTP_HOST"]


def create_app() -> Gateway:
    return Gateway(routes.table(), upstreams(), timeout=int(GATEWAY_TIMEOUT.read()))
