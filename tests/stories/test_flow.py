"""A story's whole life through the real broker: submit, redact, publish, unpublish, publish again, feature,
withdraw; and a rejection."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from nmd_stories.tables import stories
from sqlalchemy import select

from tests.kafka_events import TopicReader
from tests.stories.conftest import STORY, engine, story_form

PUBLIC_FIELDS = {
    "story_id",
    "slug",
    "title",
    "body_html",
    "credit",
    "role",
    "themes",
    "partner_name",
    "country",
    "photo_url",
    "usage",
    "published_at",
}
CHILD_EMAIL = "jo.bloggs@example.com"
CHILD_PHONE = "07700 900123"


def _only_story_id(app: Flask, title: str) -> str:
    with engine(app).connect() as conn:
        return conn.execute(select(stories.c.id).where(stories.c.title == title)).scalar_one()


def _mail(mails: TopicReader, template: str, story_id: str) -> dict:
    event = mails.wait_for(lambda e: e.subject == f"{template}:{story_id}")
    assert event.type == "email.requested"
    return event.data


def test_submit_redact_publish_feature_withdraw(
    app: Flask, client: FlaskClient, moderator: tuple[FlaskClient, str], running_worker: None, stories_topics: str
) -> None:
    staff, csrf = moderator
    events, mails = (
        TopicReader(stories_topics, "stories.events"),
        TopicReader(stories_topics, "notifications.email"),
    )
    try:
        text = f"{STORY}\n\nYou can reach Jo on {CHILD_PHONE} or at {CHILD_EMAIL} if you want to know more."
        page = client.post("/stories/share", data=story_form(story=text))
        assert page.status_code == 200 and b"Thank you for your story" in page.data
        story_id = _only_story_id(app, "The mentor who believed in me")

        submitted = events.wait_for(lambda e: e.subject == story_id and e.type == "story.submitted")
        assert set(submitted.data) == {"story_id", "submitted_at", "role", "country", "themes"}
        acknowledgement = _mail(mails, "story_acknowledgement", story_id)
        assert acknowledgement["to"] == "amira.khan@example.org"
        assert set(acknowledgement["context"]) == {"title", "author_name", "withdraw_url"}

        # The moderator sees the personal data flagged and redacts it in one click.
        review = staff.get(f"/stories/staff/{story_id}").get_data(as_text=True)
        assert CHILD_EMAIL in review and "Redact personal data" in review
        assert staff.post(f"/stories/staff/{story_id}/redact", data={"csrf_token": csrf}).status_code == 303
        review = staff.get(f"/stories/staff/{story_id}").get_data(as_text=True)
        assert "Redact personal data" not in review and "[phone number removed]" in review

        assert staff.post(f"/stories/staff/{story_id}/publish", data={"csrf_token": csrf}).status_code == 303
        published = events.wait_for(lambda e: e.subject == story_id and e.type == "story.published")
        assert set(published.data) == PUBLIC_FIELDS
        message = json.dumps(published.data)
        for private in ("amira.khan@example.org", CHILD_EMAIL, CHILD_PHONE, "consent", "under_18"):
            assert private not in message
        assert published.data["credit"] == "Amira Khan"
        assert "[email removed]" in published.data["body_html"]
        assert published.data["body_html"].startswith("<p>I met my mentor")
        told = _mail(mails, "story_published", story_id)
        assert set(told["context"]) == {"title", "author_name", "story_url", "withdraw_url"}
        assert told["context"]["story_url"].endswith(f"/story/{published.data['slug']}")
        assert client.get(f"/api/stories/{story_id}").json["title"] == "The mentor who believed in me"

        # Taken off the wall and put back: nothing erased, the same public story announced again.
        assert staff.post(f"/stories/staff/{story_id}/unpublish", data={"csrf_token": csrf}).status_code == 303
        unpublished = events.wait_for(lambda e: e.subject == story_id and e.type == "story.unpublished")
        assert (set(unpublished.data), unpublished.data["reason"]) == (
            {"story_id", "unpublished_at", "reason"},
            "moderator",
        )
        assert staff.post(f"/stories/staff/{story_id}/publish", data={"csrf_token": csrf}).status_code == 303
        back = events.wait_for(lambda e: e.type == "story.published" and e.subject == story_id and e != published)
        assert back.data == published.data

        form = {"csrf_token": csrf, "featured": "yes"}
        assert staff.post(f"/stories/staff/{story_id}/feature", data=form).status_code == 303
        featured = events.wait_for(lambda e: e.subject == story_id and e.type == "story.featured")
        assert featured.data["featured"] is True

        # The author withdraws with the link from the acknowledgement: a page asks first, the POST acts.
        link = urlsplit(acknowledgement["context"]["withdraw_url"]).path
        assert "The mentor who believed in me" in client.get(link).get_data(as_text=True)
        assert client.post(link).status_code == 200
        withdrawn = events.wait_for(lambda e: e.subject == story_id and e.type == "story.withdrawn")
        assert set(withdrawn.data) == {"story_id", "withdrawn_at"}
        assert client.get(f"/api/stories/{story_id}").status_code == 404
        assert "erased" in staff.get(f"/stories/staff/{story_id}").get_data(as_text=True)
        assert "(erased)" in staff.get("/stories/staff/?status=withdrawn").get_data(as_text=True)
        with engine(app).connect() as conn:
            row = conn.execute(select(stories).where(stories.c.id == story_id)).mappings().one()
        assert (row["status"], row["title"], row["body"], row["contact_email"]) == ("withdrawn", None, None, None)
        assert [e.type for e in events.of(story_id)] == [
            "story.submitted",
            "story.published",
            "story.unpublished",
            "story.published",
            "story.featured",
            "story.withdrawn",
        ]
    finally:
        events.close()
        mails.close()


def test_rejection_tells_the_author_why(
    app: Flask, client: FlaskClient, moderator: tuple[FlaskClient, str], running_worker: None, stories_topics: str
) -> None:
    staff, csrf = moderator
    events, mails = (
        TopicReader(stories_topics, "stories.events"),
        TopicReader(stories_topics, "notifications.email"),
    )
    try:
        assert client.post("/stories/share", data=story_form(title="Not for the wall")).status_code == 200
        story_id = _only_story_id(app, "Not for the wall")
        empty = staff.post(f"/stories/staff/{story_id}/reject", data={"csrf_token": csrf, "reason": " "})
        assert empty.status_code == 422 and "field__error" in empty.get_data(as_text=True)
        form = {"csrf_token": csrf, "reason": "It names a pupil and their school."}
        assert staff.post(f"/stories/staff/{story_id}/reject", data=form).status_code == 303
        rejected = events.wait_for(lambda e: e.subject == story_id and e.type == "story.rejected")
        assert rejected.data["reason"] == "It names a pupil and their school."
        mail = _mail(mails, "story_rejected", story_id)
        assert mail["context"] == {
            "title": "Not for the wall",
            "author_name": "Amira Khan",
            "reason": "It names a pupil and their school.",
        }
        assert staff.post(f"/stories/staff/{story_id}/publish", data={"csrf_token": csrf}).status_code == 409
    finally:
        events.close()
        mails.close()
