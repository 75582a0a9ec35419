"""Every staff route refuses anonymous visitors and staff without the moderator role (a walk of the URL map)."""

from __future__ import annotations

import re

from flask import Flask
from nmd_runtime.staff import sign_in_test_client, staff_routes

STORY_ID = "00000000-0000-4000-8000-000000000000"


def _staff_rules(app: Flask) -> list:
    return [
        rule for rule in app.url_map.iter_rules() if rule.rule.startswith(("/stories/staff", "/api/stories/staff"))
    ]


def _url(rule) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"<[^>]+>", STORY_ID, rule.rule)


def test_every_staff_url_is_guarded(app: Flask) -> None:
    rules = _staff_rules(app)
    assert len(rules) >= 8
    guarded = {rule.rule for rule in staff_routes(app)}
    assert {rule.rule for rule in rules} <= guarded
    # And nothing outside /stories/staff is a staff route by accident (they would be mis-routed by the gateway).
    assert {rule.rule for rule in staff_routes(app)} <= {rule.rule for rule in rules}


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask) -> None:
    client = app.test_client()
    for rule in _staff_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule), method=method)
            assert response.status_code == 302, (method, rule.rule, response.status_code)
            assert response.location.startswith("/staff/login?next=")
            api = client.open(_url(rule), method=method, headers={"Accept": "application/json"})
            assert api.status_code == 401, (method, rule.rule)


def test_staff_without_the_moderator_role_are_refused(app: Flask) -> None:
    client = app.test_client()
    csrf = sign_in_test_client(client, "editor", "partnerships")
    for rule in _staff_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule), method=method, data={"csrf_token": csrf})
            assert response.status_code == 403, (method, rule.rule, response.status_code)


def test_a_moderator_post_without_the_csrf_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    sign_in_test_client(client, "moderator")
    assert client.post(f"/stories/staff/{STORY_ID}/publish").status_code == 400
