"""Staff pages: guarded, and an editor can compose, preview (with the automatic sections) and test-send an
issue."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

from nmd_contracts.envelope import new_event
from nmd_newsletter import sections
from nmd_runtime.staff import sign_in_test_client, staff_routes

from tests.event_data import partner_profile, story_data


def test_every_staff_route_refuses_anonymous_and_other_roles(app) -> None:
    rules = staff_routes(app)
    assert {r.rule for r in rules} >= {
        "/newsletter/staff/",
        "/newsletter/staff/issues/<issue_id>",
        "/api/newsletter/issues",
    }
    anonymous, moderator = app.test_client(), app.test_client()
    csrf = sign_in_test_client(moderator, "moderator")
    for rule in rules:
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "pause" if m.group(1) == "action" else "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = anonymous.open(path, method=method)
            expected = 401 if path.startswith("/api/") else 302
            assert answer.status_code == expected, (method, path, answer.status_code)
            assert moderator.open(path, method=method, headers={"X-CSRF-Token": csrf}).status_code == 403


def feed_sections(engine) -> None:
    now = datetime.now(UTC)
    story = story_data(
        "s1", "my-first-mentor", "My first mentor", usage=["story_wall", "newsletter"], published_at=now
    )
    partner = partner_profile("p1", "leeds-learning-trust", "Leeds Learning Trust")
    events = [
        new_event("story.published", "s1", story, source="/stories"),
        new_event(
            "story.featured", "s1", {"story_id": "s1", "featured": True, "changed_at": now}, source="/stories"
        ),
        new_event("partner.approved", "p1", partner | {"approved_at": now}, source="/partners"),
    ]
    with engine.begin() as conn:
        for event in events:
            sections.HANDLERS[event.type](conn, event)


def test_editor_composes_previews_and_test_sends(app, engine, fake_sendgrid) -> None:
    editor = app.test_client()
    csrf = sign_in_test_client(editor, "editor")
    invalid = editor.post(
        "/newsletter/staff/issues", data={"csrf_token": csrf, "subject": "", "body_markdown": ""}
    )
    assert invalid.status_code == 422 and 'id="f-subject-error"' in invalid.text
    created = editor.post(
        "/newsletter/staff/issues",
        data={
            "csrf_token": csrf,
            "subject": "Ten days to go",
            "body_markdown": "Thank **a mentor** <script>x</script>",
        },
    )
    assert created.status_code == 303
    issue_path = created.headers["Location"]
    feed_sections(engine)
    page = editor.get(issue_path)
    assert page.status_code == 200 and "<progress" in page.text and "Ten days to go" in page.text
    html = editor.get(f"{issue_path}/preview.html").text
    assert "<strong>a mentor</strong>" in html and "<script>" not in html
    assert "https://mentoring.example/story/my-first-mentor" in html and "Leeds Learning Trust" in html
    text = editor.get(f"{issue_path}/preview.txt").text
    assert "day" in text and "Unsubscribe: https://mentoring.example/newsletter/unsubscribe/%link_token%" in text
    assert editor.post(f"{issue_path}/pause", data={"csrf_token": csrf}).status_code == 409
    assert editor.post(f"{issue_path}/schedule", data={"csrf_token": csrf, "send_at": "soon"}).status_code == 422
    address = f"editor-{uuid.uuid4().hex[:6]}@example.org"
    assert editor.post(f"{issue_path}/test", data={"csrf_token": csrf, "email": address}).status_code == 303
    assert fake_sendgrid.count(address) == 1
    assert fake_sendgrid.messages[-1]["subject"] == "[TEST] Ten days to go"
    assert editor.post(f"{issue_path}/cancel", data={"csrf_token": csrf}).status_code == 303
    assert "cancelled" in editor.get(issue_path).text


def test_days_to_go_counts_to_the_next_27_october() -> None:
    assert sections.days_to_go(date(2026, 10, 20)) == 7
    assert sections.days_to_go(date(2026, 10, 27)) == 0
    assert sections.days_to_go(date(2026, 10, 28)) == 364
