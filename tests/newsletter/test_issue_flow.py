"""Done-when, through the real broker: subscribe → confirm → an issue reaches every confirmed subscriber exactly
once; a one-click unsubscribe and a bounce take people out of the next issue; a forged webhook is refused."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import urlsplit

from nmd_newsletter.tables import subscribers
from nmd_runtime.staff import sign_in_test_client
from sqlalchemy import select

from tests.fakes.sendgrid_api import FakeSendGrid
from tests.kafka_events import TopicReader
from tests.waiting import wait_for


def mailed(fake: FakeSendGrid, email: str, phrase: str) -> str:
    """The text of the one email to `email` whose subject contains phrase."""
    for message in list(fake.messages):
        for person in message["personalizations"]:
            if person["to"][0]["email"] == email and phrase in message["subject"]:
                return message["content"][0]["value"]
    raise AssertionError(f"no '{phrase}' email to {email}")


def issue_counts(fake: FakeSendGrid, issue_id: str) -> Counter:
    counts: Counter = Counter()
    for message in list(fake.messages):
        if (message.get("custom_args") or {}).get("issue_id") == issue_id:
            counts.update(p["to"][0]["email"] for p in message["personalizations"])
    return counts


def send_issue(client, csrf: str, subject: str) -> str:
    created = client.post(
        "/api/newsletter/issues",
        json={"subject": subject, "body_markdown": "# Hello\n\nNews."},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201, created.json
    issue_id = created.json["issue_id"]
    scheduled = client.post(
        f"/api/newsletter/issues/{issue_id}/schedule",
        json={"send_at": datetime.now(UTC).isoformat()},
        headers={"X-CSRF-Token": csrf},
    )
    assert scheduled.status_code == 200, scheduled.json
    wait_for(
        lambda: client.get(f"/api/newsletter/issues/{issue_id}").json["status"] == "sent",
        timeout=90,
        message=lambda: str(client.get(f"/api/newsletter/issues/{issue_id}").json),
    )
    return issue_id


def status_of(engine, email: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(subscribers.c.status).where(subscribers.c.email == email)).scalar()


def test_subscribe_confirm_issue_unsubscribe_bounce(
    app, engine, fake_sendgrid, served, worker, newsletter_topics
) -> None:
    run = uuid.uuid4().hex[:6]
    people = [f"{name}-{run}@example.org" for name in ("ann", "bob", "cat", "dan")]
    events = TopicReader(newsletter_topics, "subscribers.events")
    worker()
    client = app.test_client()
    for email in people:
        answer = client.post(
            "/api/subscribers",
            json={"email": email, "name": email[:3].title(), "interests": ["mentoring_stories"], "consent": True},
        )
        assert answer.status_code == 202
    confirm_paths = {}
    for email in people[:3]:
        text = wait_for(lambda e=email: mailed(fake_sendgrid, e, "confirm"), timeout=60)
        confirm_paths[email] = re.search(r"https://mentoring\.example(/newsletter/confirm/\S+)", text).group(1)
        page = client.post(confirm_paths[email])
        assert page.status_code == 200 and "You are subscribed" in page.text
    for email in people[:3]:
        wait_for(lambda e=email: mailed(fake_sendgrid, e, "Welcome"), timeout=60)

    editor = app.test_client()
    csrf = sign_in_test_client(editor, "editor")
    first = send_issue(editor, csrf, f"October news {run}")
    assert issue_counts(fake_sendgrid, first) == Counter({people[0]: 1, people[1]: 1, people[2]: 1})

    message = next(m for m in fake_sendgrid.messages if (m.get("custom_args") or {}).get("issue_id") == first)
    assert message["headers"]["List-Id"].endswith("<news.nationalmentoringday.org.uk>")
    assert message["from"]["email"] == "news@nationalmentoringday.org.uk"
    assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    ann = next(p for p in message["personalizations"] if p["to"][0]["email"] == people[0])
    unsubscribe_url = ann["headers"]["List-Unsubscribe"].strip("<>")
    assert (
        unsubscribe_url
        == f"https://mentoring.example/newsletter/unsubscribe/{ann['substitutions']['%link_token%']}"
    )
    for body in message["content"]:  # the visible links, completed by SendGrid with each recipient's token
        assert "https://mentoring.example/newsletter/unsubscribe/%link_token%" in body["value"]
        assert "https://mentoring.example/newsletter/preferences/%link_token%" in body["value"]
    assert people[0] not in unsubscribe_url

    # RFC 8058 one-click: a bare POST, no cookie, no login; answered in place, no redirect, no cookie set.
    one_click = app.test_client(use_cookies=False).post(
        urlsplit(unsubscribe_url).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200 and "Location" not in one_click.headers
    assert "Set-Cookie" not in one_click.headers
    assert status_of(engine, people[0]) == "unsubscribed"
    ann_id = ann["custom_args"]["subscriber_id"]
    unsubscribed = events.wait_for(lambda e: e.type == "subscriber.unsubscribed" and e.subject == ann_id)
    assert unsubscribed.data["method"] == "one_click" and unsubscribed.data["issue_id"] == first
    assert not any("@" in json.dumps(e.data) for e in events.events)

    bob = next(p for p in message["personalizations"] if p["to"][0]["email"] == people[1])
    bounce = {
        "email": people[1],
        "event": "bounce",
        "type": "bounce",
        "reason": "550 5.1.1 no such user",
        "timestamp": int(time.time()),
        "sg_event_id": uuid.uuid4().hex,
        "issue_id": first,
        "subscriber_id": bob["custom_args"]["subscriber_id"],
    }
    answer = fake_sendgrid.post_events([bounce])
    assert answer.status_code == 200 and answer.json()["new"] == 1
    assert fake_sendgrid.post_events([bounce]).json()["new"] == 0  # SendGrid retried: de-duplicated
    wait_for(lambda: status_of(engine, people[1]) == "suppressed", timeout=60)
    wait_for(lambda: editor.get(f"/api/newsletter/issues/{first}").json["bounced"] == 1, timeout=30)

    second = send_issue(editor, csrf, f"November news {run}")
    assert issue_counts(fake_sendgrid, second) == Counter({people[2]: 1})
    assert issue_counts(fake_sendgrid, first) == Counter({people[0]: 1, people[1]: 1, people[2]: 1})
    assert not issue_counts(fake_sendgrid, second)[people[3]]  # never confirmed: never mailed an issue
    events.close()


def test_forged_or_unsigned_webhooks_are_refused(app, engine, fake_sendgrid, served) -> None:
    import requests

    body = json.dumps(
        [
            {
                "email": "x@example.org",
                "event": "spamreport",
                "sg_event_id": uuid.uuid4().hex,
                "timestamp": int(time.time()),
            }
        ]
    )
    forger = FakeSendGrid()  # a key pair of its own: a valid signature, but not SendGrid's
    url = f"{served}/webhooks/sendgrid"
    forged = requests.post(url, data=body, headers=forger.signed_headers(body), timeout=10)
    assert forged.status_code == 403
    unsigned = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert unsigned.status_code == 401
    tampered = requests.post(
        url, data=body.replace("spamreport", "delivered"), headers=fake_sendgrid.signed_headers(body), timeout=10
    )
    assert tampered.status_code == 403
    stale_time = str(int(time.time()) - 3600)
    stale = requests.post(url, data=body, headers=fake_sendgrid.signed_headers(body, stale_time), timeout=10)
    assert stale.status_code == 403
    genuine = requests.post(url, data=body, headers=fake_sendgrid.signed_headers(body), timeout=10)
    assert genuine.status_code == 200 and genuine.json() == {"received": 1, "new": 1}
