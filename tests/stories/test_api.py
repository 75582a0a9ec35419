"""The public side: submission errors, the published-stories API, and visitor reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from nmd_runtime.tables import outbox
from nmd_stories import publishing
from nmd_stories.tables import stories
from sqlalchemy import func, select

from tests.stories.conftest import engine, story_form, story_json


def _counts(app: Flask) -> tuple[int, int]:
    with engine(app).connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(stories)).scalar_one(),
            conn.execute(select(func.count()).select_from(outbox)).scalar_one(),
        )


def _events(app: Flask, story_id: str) -> list[tuple[str, dict]]:
    """The story's events in the outbox, oldest first: (type, data)."""
    with engine(app).connect() as conn:
        query = select(outbox.c.value).where(outbox.c.key == story_id).order_by(outbox.c.id)
        return [(event["type"], event["data"]) for event in map(json.loads, conn.execute(query).scalars())]


def _published(app: Flask, client: FlaskClient, **changes: object) -> str:
    story_id = client.post("/api/stories", json=story_json(**changes)).json["story_id"]
    with engine(app).begin() as conn:
        publishing.publish(conn, story_id, datetime.now(UTC))
    return str(story_id)


def test_bad_json_gets_a_field_map_and_stores_nothing(app: Flask, client: FlaskClient) -> None:
    bad = story_json(
        story="Too short.",
        themes=["cooking"],
        usage=[],
        contact_email="not-an-email",
        credit="first_name",
        display_name="",
        country="Britain",
    )
    bad["consent"] = False
    answer = client.post("/api/stories", json=bad)
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"story", "themes.0", "usage", "contact_email", "consent", "country"}
    assert _counts(app) == (0, 0)
    unnamed = client.post("/api/stories", json=story_json(credit="first_name", display_name=""))
    assert unnamed.status_code == 422 and set(unnamed.json["errors"]) == {"display_name"}
    assert client.post("/api/stories", data="{", content_type="application/json").status_code == 400
    assert _counts(app) == (0, 0)


def test_the_form_shows_errors_beside_fields_and_keeps_the_input(app: Flask, client: FlaskClient) -> None:
    page = client.post("/stories/share", data=story_form(contact_email="nope", themes=[]))
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="f-contact_email-error"' in html and 'id="f-themes-error"' in html
    assert 'value="The mentor who believed in me"' in html and "I met my mentor in my first year" in html
    assert _counts(app) == (0, 0)


def test_a_bot_filling_the_honeypot_is_thanked_and_ignored(app: Flask, client: FlaskClient) -> None:
    assert client.post("/stories/share", data=story_form(website_url_confirm="http://spam")).status_code == 200
    assert client.post("/api/stories", json=story_json(website_url_confirm="http://spam")).status_code == 201
    assert _counts(app) == (0, 0)


def test_only_published_stories_are_listed_with_filters_and_pages(app: Flask, client: FlaskClient) -> None:
    mentor = _published(app, client, role="mentor", themes=["networking"], country="IE", title="A")
    mentee = _published(app, client, role="mentee", themes=["role_model", "networking"], title="B")
    waiting = client.post("/api/stories", json=story_json(title="C")).json["story_id"]
    everything = client.get("/api/stories").json
    assert everything["total"] == 2 and {s["story_id"] for s in everything["items"]} == {mentor, mentee}
    assert "contact_email" not in everything["items"][0]
    assert [s["story_id"] for s in client.get("/api/stories?role=mentor").json["items"]] == [mentor]
    assert [s["story_id"] for s in client.get("/api/stories?theme=role_model").json["items"]] == [mentee]
    assert [s["story_id"] for s in client.get("/api/stories?country=IE").json["items"]] == [mentor]
    page = client.get("/api/stories?per_page=1&page=2").json
    assert (page["total"], len(page["items"]), page["page"]) == (2, 1, 2)
    assert client.get("/api/stories?theme=cooking").status_code == 422
    assert client.get(f"/api/stories/{waiting}").status_code == 404
    assert client.get(f"/api/stories/{mentee}").json["themes"] == ["networking", "role_model"]


def test_enough_reports_hide_a_story_until_a_moderator_publishes_it_again(
    app: Flask, client: FlaskClient, moderator: tuple[FlaskClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORY_REPORT_THRESHOLD", "2")
    staff, csrf = moderator
    story_id = _published(app, client)
    assert client.post(f"/api/stories/{story_id}/reports", json={"reason": "spam"}).status_code == 202
    assert client.get(f"/api/stories/{story_id}").status_code == 200
    assert client.post(f"/api/stories/{story_id}/reports", json={"reason": "rude"}).status_code == 422
    form = client.post(f"/stories/report/{story_id}", data={"reason": "personal_data"})
    assert form.status_code == 200 and "Thank you" in form.get_data(as_text=True)
    assert client.get(f"/api/stories/{story_id}").status_code == 404
    kind, hidden = _events(app, story_id)[-1]
    assert (kind, set(hidden), hidden["reason"]) == (
        "story.unpublished",
        {"story_id", "reason", "unpublished_at"},
        "reports",
    )
    queue = staff.get("/stories/staff/?status=hidden&flag=reported").get_data(as_text=True)
    assert f"/stories/staff/{story_id}" in queue
    # Already off the wall: another report, or a moderator unpublishing it, is not announced again.
    assert client.post(f"/api/stories/{story_id}/reports", json={"reason": "spam"}).status_code == 202
    assert staff.post(f"/stories/staff/{story_id}/unpublish", data={"csrf_token": csrf}).status_code == 303
    assert [kind for kind, _ in _events(app, story_id)].count("story.unpublished") == 1
    assert staff.post(f"/stories/staff/{story_id}/publish", data={"csrf_token": csrf}).status_code == 303
    assert client.get(f"/api/stories/{story_id}").status_code == 200
    assert _events(app, story_id)[-1][0] == "story.published"
    assert "/stories/staff/" + story_id not in staff.get("/stories/staff/?status=all&flag=reported").get_data(
        as_text=True
    )
    assert client.post("/api/stories/no-such-story/reports", json={"reason": "spam"}).status_code == 404


def test_a_moderator_edits_and_unpublishes(
    app: Flask, client: FlaskClient, moderator: tuple[FlaskClient, str]
) -> None:
    staff, csrf = moderator
    story_id = _published(app, client)
    edit = {"csrf_token": csrf, "title": "A better title", "story": "x" * 60, "themes": ["accountability"]}
    assert staff.post(f"/stories/staff/{story_id}/edit", data=edit).status_code == 303
    shown = client.get(f"/api/stories/{story_id}").json
    assert (shown["title"], shown["themes"], shown["body_html"]) == (
        "A better title",
        ["accountability"],
        "<p>" + "x" * 60 + "</p>",
    )
    too_short = staff.post(f"/stories/staff/{story_id}/edit", data=edit | {"story": "short"})
    assert too_short.status_code == 422 and 'id="f-story-error"' in too_short.get_data(as_text=True)
    assert staff.post(f"/stories/staff/{story_id}/unpublish", data={"csrf_token": csrf}).status_code == 303
    assert client.get(f"/api/stories/{story_id}").status_code == 404
    kind, unpublished = _events(app, story_id)[-1]
    assert (kind, unpublished["story_id"], unpublished["reason"]) == ("story.unpublished", story_id, "moderator")
    assert (
        staff.post(f"/stories/staff/{story_id}/feature", data={"csrf_token": csrf, "featured": "yes"}).status_code
        == 409
    )
