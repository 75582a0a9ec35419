"""The pages app's shared state and the `public_page` decorator every public HTML page goes through.

A public page is rendered once per (address, read-model version, minute, page-view total) and then answered from
memory with an ETag, so a campaign-day spike costs a dictionary look-up per request, not a template render and
database queries. The read-model version is read at most once per `version_ttl` seconds per process.

`CachedPages` wraps the WSGI app: an anonymous GET or HEAD (no session cookie) of a page already in the cache is
answered from it before Flask routes the request, opens the session and runs the request hooks, with everything
those would have given the visitor: the view counted, the ETag, Cache-Control and 304, the standard headers and
correlation id, the request metrics. Anything else (a miss, a staff cookie, another method) goes to Flask.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from nmd_pages.page_views import ViewsExtension

from flask import Flask, Response, current_app, request
from nmd_runtime import observability, web
from nmd_runtime.staff import current_staff
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug import Request

from nmd_pages import tables
from nmd_pages.campaign import Calendar

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
PUBLIC_CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=60"
STATIC_PUBLISHING = "nmd_pages.static_publishing"  # WSGI environ key: rendering for the static site, not a visit


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    etag: str
    rule: str = "<unmatched>"  # the route template, the request metrics' endpoint label
    # Every header of the page's plain 200 answer to a visitor but the correlation id, worked out once (by the same
    # code as Flask's answer) for CachedPages: building a werkzeug Response per request was a third of its time.
    headers: tuple[tuple[str, str], ...] = ()


class PageCache:
    """A small LRU of rendered pages; its size is bounded because query strings are the visitor's to choose."""

    def __init__(self, size: int = 512) -> None:
        self._pages: OrderedDict[tuple[Any, ...], RenderedPage] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: tuple[Any, ...]) -> RenderedPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple[Any, ...], page: RenderedPage) -> None:
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


@dataclass
class Site:
    engine: Engine
    calendar: Calendar
    clock: Clock
    version_ttl: float = 1.0
    cache: PageCache = field(default_factory=PageCache)
    _version: int = -1
    _version_read_at: float = float("-inf")

    def read_model_version(self) -> int:
        if time.monotonic() - self._version_read_at >= self.version_ttl:
            try:
                with self.engine.connect() as conn:
                    self._version = tables.read_version(conn)
            except SQLAlchemyError:
                # The database is away: keep serving the pages rendered from the last version seen.
                log.warning("read-model version unavailable; serving cached pages", exc_info=True)
            self._version_read_at = time.monotonic()
        return self._version


def site() -> Site:
    return current_app.extensions["nmd_pages"]  # type: ignore[no-any-return]


def now() -> dt.datetime:
    """The page's clock. Tests fix it with app.config["PAGES_CLOCK"], or ?now=<ISO instant> when app.testing."""
    if current_app.testing and request.args.get("now"):
        value = dt.datetime.fromisoformat(request.args["now"].replace("Z", "+00:00"))
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC)
    return site().clock()


def page_key(state: Site, views: ViewsExtension, full_path: str, current: dt.datetime) -> tuple[Any, ...]:
    """What a public page's HTML depends on: address, read-model version, minute and page-view total."""
    return (
        full_path,
        state.read_model_version(),
        current.replace(second=0, microsecond=0),
        int(views.totals.since_new_year(current)),
    )


def _render_page(view: Callable[..., str], kwargs: dict[str, Any]) -> RenderedPage:
    body = view(**kwargs).encode("utf-8")
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    page = RenderedPage(body, hashlib.blake2b(body, digest_size=12).hexdigest(), rule)
    plain = _public_response(current_app.response_class, page, None)
    web.add_standard_headers(plain, None)
    plain.vary.add("Cookie")
    return dataclasses.replace(page, headers=tuple(plain.get_wsgi_headers(request.environ).to_wsgi_list()))


def _public_response(response_class: type[Response], page: RenderedPage, req: Request | None) -> Response:
    response = response_class(page.body, mimetype="text/html")
    response.set_etag(page.etag)
    response.headers["Cache-Control"] = PUBLIC_CACHE_CONTROL
    return response if req is None else response.make_conditional(req)


def public_page(view: Callable[..., str]) -> Callable[..., Response]:
    """Cache, ETag and count a public HTML page. The view returns the rendered HTML."""
    from nmd_pages import (
        page_views,  # the counter is a feature of its own; imported late to keep this module small
    )

    @wraps(view)
    def answer(**kwargs: Any) -> Response:
        state = site()
        if current_staff() is not None:
            # A signed-in staff member sees their own links in the layout: never shared, never stored.
            response = Response(view(**kwargs), mimetype="text/html")
            response.headers["Cache-Control"] = "private, no-store"
            return response
        key = page_key(state, current_app.extensions["nmd_pages_views"], request.full_path, now())
        page = state.cache.get(key)
        if page is None:
            page = _render_page(view, kwargs)
            state.cache.put(key, page)
        # Counted once the page exists (a 404 or a refused filter is not a page view), 304s included.
        if STATIC_PUBLISHING not in request.environ:
            page_views.count_view(request.path)
        return _public_response(Response, page, request)

    return answer


class CachedPages:
    """WSGI middleware answering anonymous GETs and HEADs of cached public pages without Flask (see the top)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.next: WSGIApplication = app.wsgi_app
        self.cookie_name = str(app.config["SESSION_COOKIE_NAME"])
        self.service = str(app.config["SERVICE_NAME"])

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            # A session (staff, or a sign-in form's CSRF token) is Flask's to read; so is static publishing.
            or self.cookie_name in environ.get("HTTP_COOKIE", "")
            or STATIC_PUBLISHING in environ
            # now() takes ?now= from the query string in testing.
            or (self.app.testing and "now" in environ.get("QUERY_STRING", ""))
        ):
            return self.next(environ, start_response)
        started = time.perf_counter()
        req = Request(environ)
        try:
            full_path = req.full_path
        except UnicodeDecodeError:  # a query string that is not UTF-8: Flask answers it as it always has
            return self.next(environ, start_response)
        correlation_id, parent = web.correlation_from(
            req.headers.get("X-Correlation-ID", ""), req.headers.get("traceparent", "")
        )
        tokens = web.bind_context(correlation_id, parent or web.traceparent_for(correlation_id))
        try:
            response = self._answer(req, full_path, correlation_id, started)
        finally:
            web.unbind_context(tokens)
        if response is None:
            return self.next(environ, start_response)
        return response(environ, start_response)

    def _answer(
        self, req: Request, full_path: str, correlation_id: str, started: float
    ) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]] | None:
        """The cached page's answer, the view counted; None when the page is not in the cache."""
        from nmd_pages import page_views

        state: Site = self.app.extensions["nmd_pages"]
        views: ViewsExtension = self.app.extensions["nmd_pages_views"]
        page = state.cache.get(page_key(state, views, full_path, state.clock()))
        if page is None:
            return None
        page_views.count_view(req.path, req, views)
        if any(name in req.environ for name in CONDITIONAL):
            # 304s, ranges and preconditions are werkzeug's to judge, as on Flask's path.
            response = _public_response(self.app.response_class, page, req)
            web.add_standard_headers(response, correlation_id)
            response.vary.add("Cookie")  # as Flask's session does once public_page has looked for a staff member
            answer, status = response, response.status_code
        else:
            answer, status = _plain_answer(page, correlation_id), 200
        observability.observe_request(self.service, req.method, page.rule, status, time.perf_counter() - started)
        return answer


CONDITIONAL = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_RANGE",
)


def _plain_answer(
    page: RenderedPage, correlation_id: str
) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    def answer(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [*page.headers, ("X-Correlation-ID", correlation_id)])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [page.body]

    return answer
