"""Public forms: rate limits per client address, and the honeypot."""

from __future__ import annotations

from typing import Any

from flask import Flask
from nmd_runtime.web import HONEYPOT_FIELD, SlidingWindow, honeypot_tripped


def test_the_fourth_post_in_a_minute_is_a_429(client: Any) -> None:
    for _ in range(3):
        assert client.post("/demo/subscribe", data={"email": "a@example.org"}).status_code == 201
    refused = client.post(
        "/demo/subscribe", data={"email": "a@example.org"}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "try again" in refused.get_json()["message"]
    page = client.post("/demo/subscribe", data={"email": "a@example.org"})
    assert page.status_code == 429 and page.mimetype == "text/html"


def test_clients_behind_the_gateway_are_counted_apart(client: Any) -> None:
    for _ in range(3):
        client.post("/demo/subscribe", headers={"X-Forwarded-For": "198.51.100.7"})
    assert client.post("/demo/subscribe", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    assert client.post("/demo/subscribe", headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 201
    # A forged left-hand entry does not buy a fresh bucket: the gateway's own (right-hand) entry counts.
    forged = client.post("/demo/subscribe", headers={"X-Forwarded-For": "10.0.0.1, 198.51.100.7"})
    assert forged.status_code == 429


def test_rate_limits_can_be_turned_off_per_app(app: Flask) -> None:
    app.config["RATE_LIMITS_ENABLED"] = False
    client = app.test_client()
    assert all(client.post("/demo/subscribe").status_code == 201 for _ in range(10))


def test_the_window_slides() -> None:
    window = SlidingWindow()
    assert window.hit("k", 2, 10, now=0.0) is None
    assert window.hit("k", 2, 10, now=5.0) is None
    assert window.hit("k", 2, 10, now=6.0) == 4
    assert window.hit("k", 2, 10, now=10.5) is None  # the hit at 0 has left the window
    assert window.hit("other", 2, 10, now=10.5) is None


def test_the_honeypot() -> None:
    assert honeypot_tripped({HONEYPOT_FIELD: "http://spam.example"})
    assert not honeypot_tripped({HONEYPOT_FIELD: "  "})
    assert not honeypot_tripped({"email": "a@example.org"})
    assert not honeypot_tripped(None)


def test_a_tripped_honeypot_looks_like_success_but_stores_nothing(client: Any) -> None:
    response = client.post("/demo/subscribe", data={"email": "a@example.org", HONEYPOT_FIELD: "x"})
    assert response.status_code == 200 and response.get_data(as_text=True) == "thanks"


def test_the_honeypot_field_is_hidden_from_people(client: Any) -> None:
    html = client.get("/demo/").get_data(as_text=True)
    field = html[html.index('class="hp-field"') - 20 : html.index(HONEYPOT_FIELD) + 200]
    assert 'aria-hidden="true"' in field and 'tabindex="-1"' in field and 'autocomplete="off"' in field
