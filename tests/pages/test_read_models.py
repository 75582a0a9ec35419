"""Through the real broker: partner and story events appear on the pages, unpublishing hides a story until it is
published again, withdrawals remove them, and a replay from the beginning of the topics rebuilds the same read
models."""

from __future__ import annotations

import datetime as dt

from nmd_pages import directory, story_wall, subscribers
from nmd_pages.rebuild import rebuild
from sqlalchemy import delete, select

from tests.event_data import partner_profile, story_data
from tests.pages.conftest import unique
from tests.waiting import wait_for

NOW = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)


def _rows(engine, ids):
    """The read-model rows of this test's entities (the shared topics hold other tests' events too)."""
    with engine.connect() as conn:
        partners = (
            conn.execute(
                select(directory.partners)
                .where(directory.partners.c.partner_id.in_(ids))
                .order_by(directory.partners.c.partner_id)
            )
            .mappings()
            .all()
        )
        stories = (
            conn.execute(
                select(story_wall.stories)
                .where(story_wall.stories.c.story_id.in_(ids))
                .order_by(story_wall.stories.c.story_id)
            )
            .mappings()
            .all()
        )
        subs = (
            conn.execute(
                select(subscribers.confirmed_subscribers.c.subscriber_id).where(
                    subscribers.confirmed_subscribers.c.subscriber_id.in_(ids)
                )
            )
            .scalars()
            .all()
        )
    return [dict(r) for r in partners], [dict(r) for r in stories], sorted(subs)


def _body(client, path):
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


def test_events_appear_and_withdrawals_remove_them_and_a_replay_rebuilds(app, engine, run_worker, upstream):
    client = app.test_client()
    partner_id, story_id, other_story = unique("p"), unique("s"), unique("s")
    partner_slug, story_slug = unique("school"), unique("listened")
    sub_a, sub_b = unique("sub"), unique("sub")
    run_worker()

    upstream.send(
        "partner.approved",
        partner_id,
        partner_profile(partner_id, partner_slug, f"Hillside {partner_slug}") | {"approved_at": NOW},
    )
    upstream.send(
        "story.published",
        story_id,
        story_data(story_id, story_slug, f"She listened {story_slug}", themes=["networking", "role_model"]),
    )
    upstream.send(
        "story.published",
        other_story,
        story_data(other_story, unique("x"), "Newsletter only", usage=["newsletter"]),
    )
    upstream.send(
        "subscriber.confirmed",
        sub_a,
        {"subscriber_id": sub_a, "interests": [], "consent_version": "v1", "confirmed_at": NOW},
    )
    upstream.send(
        "subscriber.confirmed",
        sub_b,
        {"subscriber_id": sub_b, "interests": [], "consent_version": "v1", "confirmed_at": NOW},
    )

    wait_for(lambda: f"Hillside {partner_slug}" in _body(client, "/partners")[1], 60, message="partner not listed")
    status, profile = _body(client, f"/partner/{partner_slug}")
    assert status == 200 and "Every pupil meets a mentor." in profile
    wait_for(lambda: f"She listened {story_slug}" in _body(client, "/stories")[1], 60, message="story not on wall")
    status, page = _body(client, f"/story/{story_slug}")
    assert status == 200 and "My mentor listened." in page and "<script>" not in page
    assert f'href="/stories/report/{story_id}"' in page
    assert f"/story/{story_slug}" in _body(client, "/stories?theme=networking")[1]
    assert f"/story/{story_slug}" not in _body(client, "/stories?theme=accountability")[1]
    wait_for(lambda: len(_rows(engine, [sub_a, sub_b])[2]) == 2, 60, message="subscribers not counted")
    assert _rows(engine, [other_story])[1] == []  # not allowed on the story wall

    # A redelivered confirmation counts once; an update replaces the profile; featuring marks the story.
    upstream.send(
        "subscriber.confirmed",
        sub_a,
        {"subscriber_id": sub_a, "interests": [], "consent_version": "v1", "confirmed_at": NOW},
    )
    upstream.send(
        "partner.updated",
        partner_id,
        partner_profile(partner_id, partner_slug, f"Hillside Academy {partner_slug}") | {"updated_at": NOW},
    )
    upstream.send("story.featured", story_id, {"story_id": story_id, "featured": True, "changed_at": NOW})
    wait_for(lambda: f"Hillside Academy {partner_slug}" in _body(client, f"/partner/{partner_slug}")[1], 60)
    wait_for(lambda: _rows(engine, [story_id])[1][0]["featured"], 60, message="story not featured")
    assert len(_rows(engine, [sub_a, sub_b])[2]) == 2

    # Unpublishing takes the story off for now; publishing it again brings it back, no longer featured.
    upstream.send(
        "story.unpublished", story_id, {"story_id": story_id, "reason": "reports", "unpublished_at": NOW}
    )
    wait_for(lambda: _body(client, f"/story/{story_slug}")[0] == 404, 60, message="unpublished story still shown")
    assert story_slug not in _body(client, "/stories")[1] and story_slug not in _body(client, "/")[1]
    upstream.send(
        "story.published",
        story_id,
        story_data(story_id, story_slug, f"She listened {story_slug}", themes=["networking", "role_model"]),
    )
    wait_for(lambda: f"She listened {story_slug}" in _body(client, "/stories")[1], 60, message="story not back")
    assert _body(client, f"/story/{story_slug}")[0] == 200
    assert _rows(engine, [story_id])[1][0]["featured"] is False

    # Withdrawals remove; an unsubscribe stops counting.
    upstream.send("partner.withdrawn", partner_id, {"partner_id": partner_id, "withdrawn_at": NOW})
    upstream.send("story.withdrawn", story_id, {"story_id": story_id, "withdrawn_at": NOW})
    upstream.send(
        "subscriber.unsubscribed",
        sub_b,
        {"subscriber_id": sub_b, "method": "link", "issue_id": None, "unsubscribed_at": NOW},
    )
    wait_for(lambda: _body(client, f"/partner/{partner_slug}")[0] == 404, 60, message="partner still shown")
    wait_for(lambda: _body(client, f"/story/{story_slug}")[0] == 404, 60, message="story still shown")
    assert partner_slug not in _body(client, "/partners")[1]
    assert story_slug not in _body(client, "/stories")[1]
    wait_for(lambda: _rows(engine, [sub_a, sub_b])[2] == [sub_a], 60, message="unsubscribe not applied")

    # A second partner stays, so the replay has something to rebuild as well as something to leave out.
    kept_id, kept_slug = unique("p"), unique("college")
    upstream.send(
        "partner.approved",
        kept_id,
        partner_profile(kept_id, kept_slug, f"Kept {kept_slug}", type="college") | {"approved_at": NOW},
    )
    ids = [partner_id, story_id, other_story, sub_a, sub_b, kept_id]
    wait_for(lambda: len(_rows(engine, ids)[0]) == 1, 60, message="second partner not listed")
    built_by_worker = _rows(engine, ids)

    # Replay from scratch: empty the read models, rebuild from offset 0, get the same rows.
    with engine.begin() as conn:
        for table in (directory.partners, story_wall.stories, subscribers.confirmed_subscribers):
            conn.execute(delete(table))
    assert _rows(engine, ids) == ([], [], [])
    assert rebuild(engine) > 0
    assert _rows(engine, ids) == built_by_worker
    assert f"Kept {kept_slug}" in _body(client, "/partners")[1]
    assert _body(client, f"/partner/{partner_slug}")[0] == 404
