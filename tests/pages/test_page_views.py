"""Page views: counted by page, day and country through outbox, Kafka and the aggregator, with a small .mmdb
written here; no IP address anywhere, no cookie; Kafka down means buffered and sent later."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from nmd_pages.app import create_app
from nmd_pages.page_views import page_view_counts
from nmd_runtime.outbox import Relay
from nmd_runtime.staff import sign_in_test_client
from nmd_runtime.tables import outbox
from sqlalchemy import MetaData, select, text

from tests.event_data import partner_profile
from tests.kafka_events import TopicReader
from tests.pages.conftest import apply, unique
from tests.waiting import wait_for

GB_ADDRESS, FR_ADDRESS, UNLISTED_ADDRESS = "81.2.69.160", "2.16.20.5", "192.0.2.77"
ADDRESS_FRAGMENTS = ("81.2.69", "2.16.20", "192.0.2")


def write_mmdb(path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    writer.insert_network(
        IPSet(["81.2.69.0/24"]), {"country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}}
    )
    writer.insert_network(IPSet(["2.16.0.0/16"]), {"country": {"iso_code": "FR", "names": {"en": "France"}}})
    writer.to_db_file(str(path))
    return path


def _listed_partner(engine) -> str:
    partner_id, slug = unique("p"), unique("counted")
    apply(
        engine,
        "partner.approved",
        partner_id,
        partner_profile(partner_id, slug, "Counted School") | {"approved_at": dt.datetime.now(dt.UTC)},
    )
    return slug


def _visit(client, path, address, times):
    for _ in range(times):
        response = client.get(path, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers


def _counts(engine, page):
    with engine.connect() as conn:
        rows = conn.execute(
            select(page_view_counts.c.country, page_view_counts.c.views).where(page_view_counts.c.page == page)
        ).all()
    return dict(rows)


def _everything_stored(engine) -> str:
    """Every value of every table in the pages database, as one string to search."""
    tables = MetaData()
    tables.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            for row in conn.execute(select(table)).all():
                parts += [
                    value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value) for value in row
                ]
    return "\n".join(parts)


def test_views_are_counted_by_country_and_no_address_is_kept(
    database_url, engine, run_worker, tmp_path, monkeypatch, caplog, kafka_env
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "0")
    app = create_app(
        database_url,
        TESTING=True,
        PAGES_VERSION_TTL=0.0,
        PAGES_TOTAL_TTL=0.0,
        GEOIP_DATABASE=str(write_mmdb(tmp_path / "countries.mmdb")),
        STAFF_DATABASE_URL=f"sqlite:///{tmp_path / 'staff.db'}",
    )
    slug = _listed_partner(engine)
    page = f"/partner/{slug}"
    client = app.test_client()
    _visit(client, page, GB_ADDRESS, 3)
    _visit(client, page, FR_ADDRESS, 2)
    _visit(client, page, UNLISTED_ADDRESS, 1)
    assert client.get("/partner/no-such-partner").status_code == 404  # not a page view
    queue = app.extensions["nmd_pages_views"].queue
    queue.flush()
    run_worker()

    wait_for(
        lambda: _counts(engine, page) == {"GB": 3, "FR": 2, "unknown": 1},
        60,
        message=lambda: f"counts are {_counts(engine, page)}",
    )
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM page_view_counts WHERE page LIKE '/partner/no-such%'")
            ).scalar_one()
            == 0
        )

    stored = _everything_stored(engine)
    assert page in stored  # the search does see the tables...
    for fragment in ADDRESS_FRAGMENTS:  # ...and no address is in any of them, nor in any log line
        assert fragment not in stored
        assert fragment not in caplog.text

    # The footer total and the staff report.
    with engine.connect() as conn:
        year_total = conn.execute(
            text("SELECT sum(views) FROM page_view_counts WHERE day >= :first"),
            {"first": dt.date(dt.datetime.now(dt.UTC).year, 1, 1)},
        ).scalar_one()
    assert f"Page views since 1 January: <strong data-page-views>{year_total:,}</strong>" in client.get(
        "/role-of-a-mentor"
    ).get_data(as_text=True)
    assert client.get("/staff/page-views").status_code == 302  # staff only
    sign_in_test_client(client, "moderator")
    report = client.get("/staff/page-views?days=7").get_data(as_text=True)
    assert f"<code>{page}</code>" in report
    assert 'data-country="GB"' in report and 'data-country="FR"' in report and "<svg" in report
    assert client.get("/staff/page-views?days=0").status_code == 422


def test_pages_render_and_views_wait_while_kafka_is_down(app, engine, monkeypatch, pages_topics):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")  # nothing listens there
    slug = _listed_partner(engine)
    client = app.test_client()
    for path in ("/", "/partners", f"/partner/{slug}", "/stories", "/role-of-a-mentor", "/events"):
        assert client.get(path).status_code == 200
    app.extensions["nmd_pages_views"].queue.flush()  # or the writer thread has already
    with engine.connect() as conn:
        pending = conn.execute(select(outbox.c.value).where(outbox.c.published_at.is_(None))).scalars().all()
    assert any(f"/partner/{slug}".encode() in value for value in pending)

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", pages_topics)  # Kafka is back
    reader = TopicReader(pages_topics, "page.views")
    try:
        relay = Relay(engine)
        wait_for(lambda: relay.publish_pending() == 0 and _unpublished(engine) == 0, 60)
        event = reader.wait_for(lambda e: e.data["page"] == f"/partner/{slug}")
        assert set(event.data) == {"page", "country", "referrer_host", "viewed_at"}
    finally:
        reader.close()


def _unpublished(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(outbox.c.id).where(outbox.c.published_at.is_(None))).all())


@pytest.mark.parametrize(
    "referrer, expected",
    [
        ("https://news.example.com/article?id=1", "news.example.com"),
        ("http://localhost/partners", None),
        (None, None),
    ],
)
def test_only_the_referring_host_is_kept(app, referrer, expected):
    client = app.test_client()
    headers = {"Referer": referrer} if referrer else {}
    assert client.get("/events", headers=headers).status_code == 200
    queue = app.extensions["nmd_pages_views"].queue
    with queue._lock:
        views = list(queue._views)
    if views:  # the writer thread may already have taken it to the outbox
        assert views[-1]["referrer_host"] == expected
    else:
        engine = app.extensions["nmd_pages"].engine
        with engine.connect() as conn:
            value = conn.execute(select(outbox.c.value).order_by(outbox.c.id.desc())).scalars().first()
        assert (expected or "null").encode() in value
