"""Static publishing to S3 (moto's server mode, real S3 HTTP) and to a folder; withdrawn pages are deleted."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import boto3
import pytest
from moto.server import ThreadedMotoServer
from nmd_pages import publishing
from nmd_pages.publishing import FolderTarget, S3Target, StaticPublisher, publish

from tests.event_data import partner_profile, story_data
from tests.pages.conftest import apply, unique
from tests.waiting import wait_for

NOW = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }.items():
        monkeypatch.setenv(name, value)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="eu-west-2")
    client.create_bucket(Bucket="nmd-site", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    yield client
    server.stop()


def _content(engine):
    partner_id, partner_slug = unique("p"), unique("partner")
    story_id, story_slug = unique("s"), unique("story")
    apply(
        engine,
        "partner.approved",
        partner_id,
        partner_profile(partner_id, partner_slug, "Static School") | {"approved_at": NOW},
    )
    apply(engine, "story.published", story_id, story_data(story_id, story_slug, "A static story"))
    return partner_slug, story_id, story_slug


def test_the_site_goes_to_s3_with_types_and_cache_headers_and_withdrawn_pages_leave(app, engine, s3):
    partner_slug, story_id, story_slug = _content(engine)
    target = S3Target("nmd-site", "live", client=s3)
    count, written, deleted = publish(app, engine, target)
    assert (written, deleted) == (count, 0)

    home = s3.get_object(Bucket="nmd-site", Key="live/index.html")
    assert home["ContentType"] == "text/html; charset=utf-8"
    assert home["CacheControl"] == publishing.HTML_CACHE
    assert b"data-countdown" in home["Body"].read()
    story = s3.get_object(Bucket="nmd-site", Key=f"live/story/{story_slug}/index.html")
    assert b"A static story" in story["Body"].read()
    assert s3.head_object(Bucket="nmd-site", Key=f"live/partner/{partner_slug}/index.html")["ContentLength"] > 0
    ics = s3.head_object(Bucket="nmd-site", Key="live/calendar.ics")
    assert ics["ContentType"].startswith("text/calendar")
    css = s3.head_object(Bucket="nmd-site", Key="live/pages/static/pages.css")
    assert css["ContentType"].startswith("text/css") and css["CacheControl"] == publishing.ASSET_CACHE
    assert s3.head_object(Bucket="nmd-site", Key="live/pages/static/countdown.js")["ContentType"].startswith(
        "text/javascript"
    )

    # Nothing changed: nothing uploaded. A withdrawal: the story's page is deleted from the bucket.
    assert publish(app, engine, target)[1:] == (0, 0)
    apply(engine, "story.withdrawn", story_id, {"story_id": story_id, "withdrawn_at": NOW})
    _, written, deleted = publish(app, engine, target)
    assert deleted == 1 and written >= 1  # the wall and the home page changed too
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="nmd-site", Prefix="live/")["Contents"]}
    assert f"live/story/{story_slug}/index.html" not in keys
    assert b"A static story" not in s3.get_object(Bucket="nmd-site", Key="live/stories/index.html")["Body"].read()


def test_the_worker_job_publishes_to_a_folder_after_changes_settle(app, engine, tmp_path):
    partner_slug, story_id, story_slug = _content(engine)
    target = FolderTarget(tmp_path / "site")
    publisher = StaticPublisher(engine, lambda: app, target, debounce=0.3, max_delay=5, poll=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        story_file = tmp_path / "site" / "story" / story_slug / "index.html"
        # The counter moves once a publish has finished, after its files are written.
        wait_for(
            lambda: publisher.publishes >= 1 and story_file.exists(), 30, message="first publish did not happen"
        )
        first = publisher.publishes
        apply(engine, "story.withdrawn", story_id, {"story_id": story_id, "withdrawn_at": NOW})
        wait_for(lambda: publisher.publishes > first, 30, message="no publish after the change")
        assert not story_file.exists(), "withdrawn story still published"
        assert publisher.publishes == first + 1  # one change, one publish
        assert (tmp_path / "site" / "partner" / partner_slug / "index.html").exists()
        assert (tmp_path / "site" / "index.html").read_bytes() == app.test_client().get("/").get_data()
    finally:
        stop.set()
        thread.join(timeout=10)


def test_publishing_counts_no_page_views(app, engine, tmp_path):
    from nmd_runtime.tables import outbox
    from sqlalchemy import func, select

    count = publish(app, engine, FolderTarget(tmp_path / "site"))[0]
    assert count >= 10
    queue = app.extensions["nmd_pages_views"].queue
    queue.flush()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0
    app.test_client().get("/")  # whereas a visit is counted
    queue.flush()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 1
