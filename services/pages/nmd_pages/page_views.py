"""The page-view counter: count a view without slowing the page, aggregate by page, day and country, show totals.

Counting never blocks a response and never needs Kafka: a view is appended to a bounded in-memory queue, and a
thread of the web process writes the queue to the outbox in batches (one transaction per batch, not per view);
the worker's relay sends the outbox to `page.views` when Kafka is there, and the aggregator consumer adds the
views up. Batching is why this is not "an outbox row written in the request": one database write per page view
would cap the home page at the database's commit rate on campaign day. What it costs: views still in the queue
(at most FLUSH_INTERVAL seconds' worth) are lost if the process is killed, and when the database is away for
long the queue drops the oldest views beyond its bound (counted in nmd_pages_views_dropped_total).

The visitor's IP address is used only to look up a country in the MaxMind-format database and is then dropped:
no table, event or log line holds it. No cookie is involved.
"""

from __future__ import annotations

import atexit
import datetime as dt
import ipaddress
import logging
import os
import random
import re
import threading
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import maxminddb
from flask import Blueprint, current_app, render_template, request
from marshmallow import Schema, ValidationError, fields, validate
from nmd_contracts.envelope import Event, new_event
from nmd_runtime import database, outbox, settings, web
from nmd_runtime.staff import staff_required
from prometheus_client import Counter
from sqlalchemy import BigInteger, Column, Connection, Date, Engine, Index, String, Table, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug import Request

from nmd_pages import tables
from nmd_pages.countries import country_name

log = logging.getLogger(__name__)

GEOIP_DATABASE = settings.declare(
    "GEOIP_DATABASE",
    "",
    "MaxMind-format .mmdb (GeoLite2 Country or similar) for page-view countries; unset: unknown.",
)
SOURCE = "/pages"
FLUSH_INTERVAL = 0.5
BUFFER_LIMIT = 50_000
BATCH = 2_000
TOTAL_TTL = 5.0

DROPPED = Counter("nmd_pages_views_dropped_total", "Page views dropped because the in-memory queue was full.")
QUEUED = Counter("nmd_pages_views_queued_total", "Page views queued for the outbox.")

page_view_counts = Table(
    "page_view_counts",
    tables.metadata,
    Column("page", String(512), primary_key=True),
    Column("day", Date, primary_key=True),  # the day in the campaign's zone (Europe/London)
    Column("country", String(8), primary_key=True),
    Column("views", BigInteger, nullable=False),
    Index("page_view_counts_day", "day"),
)


# --- where a visitor is (country only) ---------------------------------------------------------------------------


class CountryLookup:
    def __init__(self, path: str | None) -> None:
        self._reader = maxminddb.open_database(path) if path else None

    def country(self, address: str | None) -> str:
        if self._reader is None or not address:
            return "unknown"
        try:
            record: Any = self._reader.get(ipaddress.ip_address(address))
        except ValueError:
            return "unknown"
        if not isinstance(record, dict):
            return "unknown"
        code = (record.get("country") or {}).get("iso_code") or record.get("country_code")
        return code if isinstance(code, str) and len(code) == 2 and code.isalpha() else "unknown"


# --- counting a view ---------------------------------------------------------------------------------------------


class ViewQueue:
    """Views waiting for the outbox. One per web process; its writer thread starts on first use in each process
    (gunicorn forks after the app is created, and threads do not survive a fork)."""

    def __init__(self, engine: Engine, limit: int = BUFFER_LIMIT) -> None:
        self.engine = engine
        self._views: deque[dict[str, Any]] = deque()
        self._limit = limit
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid: int | None = None
        self.written = 0

    def add(self, view: dict[str, Any]) -> None:
        if self._pid != os.getpid():
            self._start()
        with self._lock:
            if len(self._views) >= self._limit:
                self._views.popleft()
                DROPPED.inc()
            self._views.append(view)
        QUEUED.inc()
        if len(self._views) >= BATCH:
            self._wake.set()

    def __len__(self) -> int:
        return len(self._views)

    def flush(self) -> int:
        """Write what is queued to the outbox; on a database error the views go back to the front of the queue."""
        written = 0
        while True:
            with self._lock:
                batch = [self._views.popleft() for _ in range(min(BATCH, len(self._views)))]
            if not batch:
                return written
            try:
                events = [_event(view) for view in batch]
                with self.engine.begin() as conn:
                    outbox.record_many(conn, events)
            except SQLAlchemyError:
                log.warning("page views wait for the database (%d queued)", len(batch) + len(self._views))
                with self._lock:
                    self._views.extendleft(reversed(batch))
                return written
            written += len(batch)
            self.written += len(batch)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._views.clear()  # a forked child must not re-send the parent's queue
        threading.Thread(target=self._run, name="nmd-page-views", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                log.exception("page view writer failed; retrying")


def _event(view: dict[str, Any]) -> Event:
    # A fresh key per view, so the home page does not make one partition hot (see topics.yaml); it only spreads
    # load, so a cheap random number will do.
    return new_event("page.viewed", f"view-{random.getrandbits(64):016x}", view, source=SOURCE)


def _referrer_host(req: Request) -> str | None:
    referrer = req.headers.get("Referer")
    if not referrer:
        return None
    host = (urlsplit(referrer).hostname or "")[:253]
    return None if not host or host == req.host.split(":")[0] else host


PAGE_PATTERN = re.compile(r"^/[^?#\s]{0,511}$")  # the contract's rule for page.viewed's page


def count_view(path: str, req: Request | None = None, views: ViewsExtension | None = None) -> None:
    """Queue a view of `path`; `req` and `views` for a request answered outside Flask's context."""
    if not PAGE_PATTERN.match(path):
        return  # an address the event could not carry (whitespace, too long): not worth losing a batch over
    req = request if req is None else req
    extension = current_app.extensions["nmd_pages_views"] if views is None else views
    view = {
        "page": path,
        "country": extension.lookup.country(web.client_address(req)),
        "referrer_host": _referrer_host(req),
        "viewed_at": dt.datetime.now(dt.UTC),
    }
    extension.queue.add(view)


# --- adding views up (the aggregator consumer) -------------------------------------------------------------------


def campaign_day(instant: dt.datetime) -> dt.date:
    from nmd_pages.campaign import load_calendar

    return instant.astimezone(load_calendar().zone).date()


def on_page_viewed(conn: Connection, event: Event) -> None:
    viewed_at = tables.instant(event.data["viewed_at"])
    key = {"page": event.data["page"], "day": campaign_day(viewed_at), "country": event.data["country"]}
    database.upsert(conn, page_view_counts, key | {"views": 1}, list(key), add={"views": 1})


def forget_page(conn: Connection, page: str, replacement: str) -> None:
    """Fold a page's counts into `replacement` (a withdrawn story's address must not outlive the story)."""
    rows = conn.execute(select(page_view_counts).where(page_view_counts.c.page == page)).mappings().all()
    conn.execute(delete(page_view_counts).where(page_view_counts.c.page == page))
    for row in rows:
        key = {"page": replacement, "day": row["day"], "country": row["country"]}
        database.upsert(
            conn, page_view_counts, key | {"views": row["views"]}, list(key), add={"views": row["views"]}
        )


# --- reading the totals ------------------------------------------------------------------------------------------


class Totals:
    """The footer's "page views since 1 January", read at most every TOTAL_TTL seconds per process."""

    def __init__(self, engine: Engine, ttl: float = TOTAL_TTL) -> None:
        self.engine = engine
        self.ttl = ttl
        self._value = 0
        self._key: tuple[dt.date, float] | None = None

    def since_new_year(self, now: dt.datetime) -> int:
        import time

        first = dt.date(campaign_day(now).year, 1, 1)
        stamp = time.monotonic()
        if self._key is None or self._key[0] != first or stamp - self._key[1] >= self.ttl:
            try:
                with self.engine.connect() as conn:
                    self._value = int(
                        conn.execute(
                            select(func.coalesce(func.sum(page_view_counts.c.views), 0)).where(
                                page_view_counts.c.day >= first
                            )
                        ).scalar_one()
                    )
            except SQLAlchemyError:
                log.warning("page-view total unavailable; showing the last one", exc_info=True)
            self._key = (first, stamp)
        return self._value


def total_this_year(now: dt.datetime) -> int:
    return int(current_app.extensions["nmd_pages_views"].totals.since_new_year(now))


class ViewsExtension:
    def __init__(self, engine: Engine, geoip_path: str | None, total_ttl: float) -> None:
        self.queue = ViewQueue(engine)
        self.lookup = CountryLookup(geoip_path)
        self.totals = Totals(engine, total_ttl)


# --- the staff page ----------------------------------------------------------------------------------------------


class PageViewsQuery(Schema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=366))


staff_page_views = Blueprint("page_views", __name__)


def _by(conn: Connection, column: Any, since: dt.date, limit: int | None = None) -> list[tuple[Any, int]]:
    total = func.sum(page_view_counts.c.views).label("views")
    query = select(column, total).where(page_view_counts.c.day >= since).group_by(column)
    query = query.order_by(column) if column is page_view_counts.c.day else query.order_by(total.desc(), column)
    return [(row[0], int(row[1])) for row in conn.execute(query.limit(limit)).all()]


@staff_page_views.get("/staff/page-views")
@staff_required()
def staff_page() -> str:
    from nmd_pages.site import now, site

    try:
        query = PageViewsQuery().load(request.args.to_dict())
    except ValidationError as error:
        web.abort_with(422, "The report options are not valid.", error.messages)  # type: ignore[arg-type]
    today = campaign_day(now())
    since = today - dt.timedelta(days=query["days"] - 1)
    with site().engine.connect() as conn:
        by_day = dict(_by(conn, page_view_counts.c.day, since))
        by_country = _by(conn, page_view_counts.c.country, since)
        by_page = _by(conn, page_view_counts.c.page, since, limit=25)
    days = [(since + dt.timedelta(days=n)) for n in range(query["days"])]
    day_rows = [(day, by_day.get(day, 0)) for day in days]
    return render_template(
        "pages/page_views.html",
        days=query["days"],
        day_rows=day_rows,
        by_country=by_country,
        by_page=by_page,
        peak=max([views for _, views in day_rows] + [1]),
        country_peak=max([v for _, v in by_country] + [1]),
        total=sum(by_day.values()),
        year_total=total_this_year(now()),
        country_name=country_name,
        queued=len(current_app.extensions["nmd_pages_views"].queue),
    )
