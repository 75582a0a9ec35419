"""The pages app's shared state and the `public_page` decorator every public HTML page goes through.

A public page is rendered once per (address, read-model version, minute, page-view total) and then answered from
memory with an ETag, so a campaign-day spike costs a dictionary look-up per request, not a template render and
database queries. The read-model version is read at most once per `version_ttl` seconds per process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Response, current_app, request
from nmd_runtime.staff import current_staff
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

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


def _render_page(view: Callable[..., str], kwargs: dict[str, Any]) -> RenderedPage:
    body = view(**kwargs).encode("utf-8")
    return RenderedPage(body, hashlib.blake2b(body, digest_size=12).hexdigest())


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
        current = now()
        key = (
            request.full_path,
            state.read_model_version(),
            current.replace(second=0, microsecond=0),
            page_views.total_this_year(current),
        )
        page = state.cache.get(key)
        if page is None:
            page = _render_page(view, kwargs)
            state.cache.put(key, page)
        # Counted once the page exists (a 404 or a refused filter is not a page view), 304s included.
        if STATIC_PUBLISHING not in request.environ:
            page_views.count_view(request.path)
        response = Response(page.body, mimetype="text/html")
        response.set_etag(page.etag)
        response.headers["Cache-Control"] = PUBLIC_CACHE_CONTROL
        return response.make_conditional(request)

    return answer
