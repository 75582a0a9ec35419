"""The automatic sections' read models on SQLite (the `make run` default), fed events as a consumer receives them:
through the envelope's JSON, so timestamps arrive as RFC 3339 strings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmd_contracts.envelope import from_json, new_event, to_json
from nmd_newsletter import sections
from nmd_newsletter.app import create_engine_and_migrate
from sqlalchemy import Engine

from tests.event_data import partner_profile, story_data

STORY_ID, PARTNER_ID = "story-1", "partner-1"


@pytest.fixture
def engine(tmp_path, monkeypatch) -> Iterator[Engine]:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://mentoring.example")
    engine = create_engine_and_migrate(f"sqlite:///{tmp_path / 'newsletter.db'}")
    yield engine
    engine.dispose()


def consume(engine: Engine, event_type: str, subject: str, data: dict[str, Any]) -> None:
    event = from_json(to_json(new_event(event_type, subject, data, source="/tests")))
    with engine.begin() as conn:
        sections.HANDLERS[event.type](conn, event)


def publish(engine: Engine, at: datetime) -> None:
    story = story_data(
        STORY_ID, "learning-to-listen", "Learning to listen", usage=["story_wall", "newsletter"], published_at=at
    )
    consume(engine, "story.published", STORY_ID, story)


def feature(engine: Engine, featured: bool, at: datetime) -> None:
    consume(engine, "story.featured", STORY_ID, {"story_id": STORY_ID, "featured": featured, "changed_at": at})


def featured_titles(engine: Engine, since: datetime | None = None) -> list[str]:
    with engine.connect() as conn:
        return [story["title"] for story in sections.sections(conn, since)["stories"]]


def test_a_featured_story_is_stored_and_filtered_by_time_on_sqlite(engine: Engine) -> None:
    now = datetime.now(UTC)
    publish(engine, now)
    assert featured_titles(engine) == []
    feature(engine, True, now)
    assert featured_titles(engine) == ["Learning to listen"]
    assert featured_titles(engine, since=now - timedelta(minutes=1)) == ["Learning to listen"]
    assert featured_titles(engine, since=now + timedelta(minutes=1)) == []
    feature(engine, False, now + timedelta(seconds=1))
    assert featured_titles(engine) == []


def test_an_approved_partner_is_stored_on_sqlite(engine: Engine) -> None:
    now = datetime.now(UTC)
    partner = partner_profile(PARTNER_ID, "leeds-learning-trust", "Leeds Learning Trust") | {"approved_at": now}
    consume(engine, "partner.approved", PARTNER_ID, partner)
    with engine.connect() as conn:
        assert [p["name"] for p in sections.sections(conn, now - timedelta(minutes=1))["partners"]] == [
            "Leeds Learning Trust"
        ]
        assert sections.sections(conn, now + timedelta(minutes=1))["partners"] == []


def test_an_unpublished_story_leaves_the_sections_and_comes_back_unfeatured(engine: Engine) -> None:
    now = datetime.now(UTC)
    publish(engine, now)
    feature(engine, True, now)
    unpublished = {"story_id": STORY_ID, "reason": "moderator", "unpublished_at": now + timedelta(seconds=1)}
    consume(engine, "story.unpublished", STORY_ID, unpublished)
    assert featured_titles(engine) == []
    # Published again: on the wall, but featured only when staff feature it again.
    publish(engine, now + timedelta(seconds=2))
    assert featured_titles(engine) == []
    feature(engine, True, now + timedelta(seconds=3))
    assert featured_titles(engine) == ["Learning to listen"]


def test_a_timestamp_without_an_offset_is_refused() -> None:
    assert sections.instant("2026-10-27T09:00:00Z") == datetime(2026, 10, 27, 9, tzinfo=UTC)
    with pytest.raises(ValueError):
        sections.instant("2026-10-27T09:00:00")
