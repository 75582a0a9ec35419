"""The Flask app every service starts from: errors, correlation ids, layout, limits, health and metrics.

Services are mounted behind one public origin by path prefix and keep their prefix (the partners app itself
serves /partners/... and /api/partners...). So:

- the session cookie (`nmd_session`, path "/") is signed with the SECRET_KEY all services share: a staff member
  signed in on the pages service is signed in on every service;
- each app's own static folder is served at /<service>/static, which the gateway routes to that service;
- the shared layout's assets are served by every app at /assets/<file> (behind the gateway the pages service
  answers them; standalone, each service does);
- the OpenAPI document is at /<service>/openapi.json with docs at /<service>/docs (reachable through the gateway);
  /openapi.json and /docs answer too, for a service run on its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextvars import Token
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import flask_smorest
import marshmallow as ma
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
)
from sqlalchemy import Engine
from werkzeug import Request
from werkzeug.exceptions import BadRequest, HTTPException, TooManyRequests, UnprocessableEntity, default_exceptions

from nmd_runtime import context, observability, settings

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

HONEYPOT_FIELD = "website_url_confirm"
SESSION_LIFETIME = timedelta(hours=12)
SWAGGER_UI_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/"
_WEBARGS_LOCATIONS = {
    "json",
    "form",
    "query",
    "querystring",
    "headers",
    "cookies",
    "files",
    "view_args",
    "path",
    "json_or_form",
}
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")

F = TypeVar("F", bound=Callable[..., Any])


# --- the app


class ServiceApi(flask_smorest.Api):
    """flask-smorest's Api answering errors our way (flat field map) instead of its own payload."""

    def handle_http_exception(self, error: HTTPException) -> Any:  # type: ignore[override]
        return handle_http_error(error)


def create_service_app(
    service: str,
    *,
    title: str,
    import_name: str,
    database: Engine | None = None,
    ready_checks: Sequence[Callable[[], None]] = (),
    max_content_length: int = 1024 * 1024,
) -> tuple[Flask, flask_smorest.Api]:
    app = Flask(import_name, static_url_path=f"/{service}/static")
    public_url = settings.env("PUBLIC_BASE_URL")
    app.config.update(
        SERVICE_NAME=service,
        SECRET_KEY=settings.env("SECRET_KEY"),
        SESSION_COOKIE_NAME="nmd_session",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=public_url.startswith("https://"),
        # Staff sessions end 12 h after sign-in (checked against signed_in_at); not re-sending the cookie on
        # every request keeps responses free of Set-Cookie noise.
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
        PREFERRED_URL_SCHEME="https" if public_url.startswith("https://") else "http",
        MAX_CONTENT_LENGTH=max_content_length,
        RATE_LIMITS_ENABLED=True,
        API_TITLE=title,
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=f"/{service}",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # Shared layout templates (nmd/...) and assets; a service's own templates folder is searched first.
    app.register_blueprint(
        Blueprint(
            "nmd",
            __name__,
            template_folder=str(TEMPLATES_DIR),
            static_folder=str(STATIC_DIR),
            static_url_path="/assets",
        )
    )
    api = ServiceApi(app)
    _add_root_docs(app, service)

    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(ma.ValidationError, _handle_validation_error)
    app.before_request(_bind_correlation_id)
    app.after_request(_finish_response)
    app.teardown_request(_unbind_correlation_id)
    app.jinja_env.globals.update(
        asset_url=asset_url,
        request_path=lambda: request.path if has_request_context() else "",
        honeypot_field=HONEYPOT_FIELD,
        campaign_name="National Mentoring Day",
        campaign_date="27 October",
    )

    from nmd_runtime import staff  # staff imports this module; importing it late avoids a cycle

    staff.install(app)
    checks = ([observability.database_check(database)] if database is not None else []) + list(ready_checks)
    observability.install(app, service, checks)
    return app, api


def _add_root_docs(app: Flask, service: str) -> None:
    prefix = f"/{service}"

    @app.get("/openapi.json", endpoint="nmd_root_openapi")
    def root_openapi() -> Any:
        return current_app.view_functions["api-docs.openapi_json"]()

    @app.get("/docs", endpoint="nmd_root_docs")
    def root_docs() -> Any:
        return redirect(f"{prefix}/docs")


def _finish_response(response: Response) -> Response:
    return add_standard_headers(response, current_correlation_id())


def add_standard_headers(response: Response, correlation_id: str | None) -> Response:
    """The headers every answer carries (also used by a service's own WSGI fast path, outside Flask)."""
    if correlation_id:
        response.headers["X-Correlation-ID"] = correlation_id
    # Cheap headers that break nothing; a strict script/style CSP is left to each service (uploads go to S3).
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault(
        "Content-Security-Policy", "frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    )
    return response


_asset_versions: dict[str, str] = {}


def asset_url(filename: str) -> str:
    """/assets/<file>?v=<content hash>, so browsers may cache assets and still see a new release at once."""
    if filename not in _asset_versions:
        try:
            _asset_versions[filename] = hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:10]
        except OSError:
            return f"/assets/{filename}"
    return f"/assets/{filename}?v={_asset_versions[filename]}"


# --- correlation ids


def correlation_from(correlation_header: str, traceparent_header: str) -> tuple[str, str | None]:
    """(correlation id, the caller's traceparent or None) from a request's X-Correlation-ID and traceparent."""
    incoming = correlation_header.strip()
    parent = _TRACEPARENT.match(traceparent_header.strip().lower())
    if parent and parent.group(1) == "0" * 32:
        parent = None
    if _CORRELATION_ID.match(incoming):
        correlation_id = incoming
    elif parent:
        correlation_id = parent.group(1)
    else:
        correlation_id = str(uuid.uuid4())
    return correlation_id, parent.group(0) if parent else None


def traceparent_for(correlation_id: str) -> str:
    """A W3C traceparent whose trace id is the correlation id when it is one (a uuid4 is), else a random one."""
    compact = correlation_id.replace("-", "").lower()
    trace_id = compact if _TRACE_ID.fullmatch(compact) else uuid.uuid4().hex
    return f"00-{trace_id}-{os.urandom(8).hex()}-01"


def bind_context(correlation_id: str, traceparent: str) -> tuple[Token[str | None], Token[str | None]]:
    """Set what the outbox and the log formatter read; undo with unbind_context(tokens)."""
    return context.correlation_id.set(correlation_id), context.traceparent.set(traceparent)


def unbind_context(tokens: tuple[Token[str | None], Token[str | None]]) -> None:
    context.correlation_id.reset(tokens[0])
    context.traceparent.reset(tokens[1])


def _bind_correlation_id() -> None:
    headers = request.headers
    g.nmd_correlation_id, parent = correlation_from(
        headers.get("X-Correlation-ID", ""), headers.get("traceparent", "")
    )
    if parent:
        g.nmd_traceparent = parent
    # The outbox and the log formatter read these, so events and log lines of this request carry them.
    g.nmd_context_tokens = bind_context(g.nmd_correlation_id, current_traceparent())


def _unbind_correlation_id(_error: BaseException | None) -> None:
    tokens = g.pop("nmd_context_tokens", None)
    if tokens:
        unbind_context(tokens)


def current_correlation_id() -> str | None:
    """The request's correlation id; outside a request, the consumed event's (nmd_runtime.context), else None."""
    if has_request_context():
        return g.get("nmd_correlation_id")
    return context.correlation_id.get()


def current_traceparent() -> str | None:
    """W3C traceparent for the events this request causes: the caller's, else one made from the correlation id."""
    if not has_request_context():
        return context.traceparent.get()
    if "nmd_traceparent" not in g:
        g.nmd_traceparent = traceparent_for(current_correlation_id() or "")
    return str(g.nmd_traceparent)


# --- errors


def wants_json() -> bool:
    """API paths, JSON bodies and clients that prefer JSON get JSON errors; browsers get a page."""
    if request.path == "/api" or request.path.startswith("/api/") or request.is_json:
        return True
    accept = request.accept_mimetypes
    return accept.best_match(["text/html", "application/json"]) == "application/json" and (
        accept["application/json"] > accept["text/html"]
    )


def flatten_errors(messages: Any, *, strip_locations: bool = False) -> dict[str, list[str]]:
    """marshmallow/webargs messages → {"field": [..]}; nested fields become dotted names ("address.city")."""
    flat: dict[str, list[str]] = {}

    def walk(value: Any, name: str) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(inner, f"{name}.{key}" if name else str(key))
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner, name)
        else:
            flat.setdefault(name or "_schema", []).append(str(value))

    if strip_locations and isinstance(messages, Mapping):
        for location, inner in messages.items():
            walk(inner, "" if location in _WEBARGS_LOCATIONS else str(location))
    else:
        walk(messages, "")
    return flat


def form_errors(err: ma.ValidationError) -> dict[str, str]:
    """One message per field, for showing beside each field of an HTML form."""
    return {field: messages[0] for field, messages in flatten_errors(err.messages).items() if messages}


_MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in first.",
    403: "You do not have permission to do this.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The request body is too large.",
    415: "This content type is not supported.",
    422: "Some fields are not valid.",
    429: "Too many requests; please wait a moment and try again.",
    500: "Something went wrong on our side. It has been logged.",
    503: "The service is unavailable for a moment; please try again shortly.",
}


def _error_details(error: HTTPException) -> tuple[str, dict[str, list[str]]]:
    data = getattr(error, "data", None) or {}
    cause = getattr(error, "exc", None)
    if isinstance(cause, json.JSONDecodeError | UnicodeDecodeError):
        problem = f"The request body is not valid JSON: {cause}"
        return problem, {"_json": [problem]}
    if "errors" in data:
        errors = flatten_errors(data["errors"])
    elif "messages" in data:  # webargs: {"json": {"field": [...]}}
        errors = flatten_errors(data["messages"], strip_locations=True)
    else:
        errors = {}
    default = _MESSAGES.get(error.code or 500, error.name)
    if data.get("message"):
        message = str(data["message"])
    elif isinstance(error, BadRequest) and error.description and error.description != BadRequest.description:
        message = error.description  # e.g. Flask's "Failed to decode JSON object: ..."
    else:
        message = default
    return message, errors


def handle_http_error(error: HTTPException) -> Response:
    code = error.code or 500
    if code >= 500:
        original = getattr(error, "original_exception", None)
        log.error("request failed: %s", error, exc_info=original or error)
    message, errors = _error_details(error)
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    headers += list(((getattr(error, "data", None) or {}).get("headers") or {}).items())
    if wants_json():
        response = current_app.json.response(
            {"code": code, "status": error.name, "message": message, "errors": errors}
        )
    else:
        try:
            html = render_template("nmd/error.html", code=code, name=error.name, message=message, errors=errors)
        except Exception:
            log.exception("error page failed to render")
            html = f"<!doctype html><title>{code}</title><h1>{code} {error.name}</h1>"
        response = Response(html, mimetype="text/html")
    response.status_code = code
    for key, value in headers:
        response.headers[key] = value
    return response


def _handle_validation_error(error: ma.ValidationError) -> Response:
    # A view that called schema.load() itself and let the error escape: still a 422, never a 500.
    return handle_http_error(_with_data(UnprocessableEntity(), errors=error.messages, message=_MESSAGES[422]))


def _with_data(error: HTTPException, **data: Any) -> HTTPException:
    error.data = data  # type: ignore[attr-defined]
    return error


def _http_error(status: int) -> HTTPException:
    if status not in default_exceptions:
        raise ValueError(f"{status} is not an HTTP error status")
    return default_exceptions[status]()


def json_error(status: int, field: str, message: str, *, headers: Mapping[str, str] | None = None) -> NoReturn:
    """Stop the request with `status` and {"errors": {field: [message]}, "message": message}.

    Raises, so both `json_error(...)` and `return json_error(...)` work in a view. Browsers get the error page.
    """
    raise _with_data(_http_error(status), errors={field: [message]}, message=message, headers=dict(headers or {}))


def abort_with(status: int, message: str, errors: Mapping[str, Sequence[str]] | None = None) -> NoReturn:
    """Like json_error with a message and an optional field map (possibly empty)."""
    raise _with_data(_http_error(status), errors={k: list(v) for k, v in (errors or {}).items()}, message=message)


# --- public forms: honeypot and rate limits


def honeypot_tripped(form_or_json: Mapping[str, Any] | None) -> bool:
    """True when the hidden field was filled in: a bot. Answer as if it worked, store nothing."""
    if not form_or_json:
        return False
    value = form_or_json.get(HONEYPOT_FIELD)
    return bool(value.strip() if isinstance(value, str) else value)


def client_address(req: Request | None = None) -> str:
    """The visitor's address: the X-Forwarded-For entry added by our outermost trusted proxy, else the peer.

    Taken TRUSTED_PROXY_HOPS entries from the right, because entries to the left of it are whatever the client
    sent. Used for rate limits only; never stored. `req`: a request outside Flask's context (default: Flask's).
    """
    req = request if req is None else req
    hops = int(settings.env("TRUSTED_PROXY_HOPS") or 0)
    forwarded = [part.strip() for part in req.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if hops > 0 and forwarded:
        return forwarded[-min(hops, len(forwarded))]
    return req.remote_addr or "unknown"


class SlidingWindow:
    """In-memory sliding-window counter. Per process: with N web processes a client gets up to N times the limit.

    That is enough to blunt form spam and password guessing; a shared store (Redis) would be the next step.
    """

    def __init__(self, max_keys: int = 50_000) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, limit: int, per_seconds: int, now: float | None = None) -> int | None:
        """Count a hit; None when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) > self._max_keys:
                self._forget_idle(now, per_seconds)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - per_seconds:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, math.ceil(hits[0] + per_seconds - now))
            hits.append(now)
            return None

    def _forget_idle(self, now: float, per_seconds: int) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - per_seconds]:
            del self._hits[key]


def _limiter() -> SlidingWindow:
    return current_app.extensions.setdefault("nmd_rate_limits", SlidingWindow())  # type: ignore[no-any-return]


def rate_limit(limit: int, per_seconds: int, key: str | Callable[[], str] = "remote") -> Callable[[F], F]:
    """Allow `limit` calls of the view per `per_seconds` per client address (key="remote"), or for everyone
    together (key="global"), or per the string a callable returns. Off when app.config["RATE_LIMITS_ENABLED"]
    is false (tests)."""

    def decorate(view: F) -> F:
        name = f"{view.__module__}.{view.__qualname__}"

        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            if current_app.config.get("RATE_LIMITS_ENABLED", True):
                who = key() if callable(key) else ("*" if key == "global" else client_address())
                wait = _limiter().hit(f"{name}|{who}", limit, per_seconds)
                if wait is not None:
                    raise _with_data(
                        TooManyRequests(retry_after=wait),
                        message=f"Too many requests; please try again in {wait} seconds.",
                    )
            return view(*args, **kwargs)

        return limited  # type: ignore[return-value]

    return decorate


def documented_errors(blueprint: flask_smorest.Blueprint, *codes: int) -> Callable[[Any], Any]:
    """Document the error answers a route gives (our JSON error body), so the OpenAPI document tells the truth."""

    def decorate(view: Any) -> Any:
        for code in codes:
            view = blueprint.alt_response(code, response="DEFAULT_ERROR")(view)
        return view

    return decorate
