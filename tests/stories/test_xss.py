"""Every payload of xss_corpus.txt, typed into a story, comes out inert: in story.published's body_html and in
every page of ours that shows it (the share form kept after an error, the moderation queue and story page, the
withdraw page)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from nmd_runtime.tables import outbox
from nmd_stories import author_emails, publishing, story_text
from nmd_stories.tables import stories
from sqlalchemy import select

from tests.stories.conftest import engine, story_form
from tests.stories.inert import body_html_problems, page_problems

CORPUS = [line for line in (Path(__file__).with_name("xss_corpus.txt")).read_text("utf-8").splitlines() if line]
PADDING = " That is what I typed into my story about my mentor, who helped me through college."
HARMLESS = "My mentor and me"


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 50 and len(set(CORPUS)) == len(CORPUS)


def test_body_html_keeps_only_paragraphs_and_shows_the_text() -> None:
    problems = {
        payload: body_html_problems(story_text.body_html(payload + PADDING), payload) for payload in CORPUS
    }
    assert {p: found for p, found in problems.items() if found} == {}


def _typed(payload: str) -> dict[str, str]:
    return {
        "title": payload[:120],
        "story": payload + PADDING,
        "display_name": payload[:100],
        "partner_name": payload[:200],
    }


def _submitted(app: Flask, client: FlaskClient, payload: str) -> str:
    assert client.post("/stories/share", data=story_form(**_typed(payload))).status_code == 200
    with engine(app).connect() as conn:
        return conn.execute(select(stories.c.id).order_by(stories.c.submitted_at.desc()).limit(1)).scalar_one()


def _published_body(app: Flask, story_id: str) -> str:
    with engine(app).begin() as conn:
        publishing.publish(conn, story_id, datetime.now(UTC))
        value = conn.execute(
            select(outbox.c.value).where(outbox.c.key == story_id).order_by(outbox.c.id.desc()).limit(1)
        ).scalar_one()
    event = json.loads(value)
    assert event["type"] == "story.published"
    return event["data"]["body_html"]


def test_payloads_are_inert_in_story_published_and_in_our_pages(
    app: Flask, client: FlaskClient, moderator: tuple[FlaskClient, str]
) -> None:
    staff, _ = moderator
    # Twice, so that the baseline is flagged as a duplicate as every payload's story is (they share the padding).
    _submitted(app, client, HARMLESS)
    baseline_id = _submitted(app, client, HARMLESS)
    baselines = {
        "share form": client.post("/stories/share", data=story_form(**_typed(HARMLESS), contact_email="")),
        "staff story": staff.get(f"/stories/staff/{baseline_id}"),
        "staff queue": staff.get("/stories/staff/?status=all"),
        "withdraw": client.get(urlsplit(author_emails.withdraw_url(baseline_id)).path),
    }
    baselines = {name: response.get_data(as_text=True) for name, response in baselines.items()}
    problems: dict[str, list[str]] = {}
    for payload in CORPUS:
        story_id = _submitted(app, client, payload)
        pages = {
            "share form": client.post("/stories/share", data=story_form(**_typed(payload), contact_email="")),
            "staff story": staff.get(f"/stories/staff/{story_id}"),
            "staff queue": staff.get("/stories/staff/?status=all"),
            "withdraw": client.get(urlsplit(author_emails.withdraw_url(story_id)).path),
        }
        found = body_html_problems(_published_body(app, story_id), payload)
        for name, response in pages.items():
            html = response.get_data(as_text=True)
            found += [f"{name}: {problem}" for problem in page_problems(html, baselines[name])]
        if found:
            problems[payload] = found
    assert problems == {}
