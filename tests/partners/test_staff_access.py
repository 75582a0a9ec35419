"""Every staff route refuses anonymous visitors and staff without the partnerships role: a walk of the URL map."""

from __future__ import annotations

import re

from flask import Flask
from nmd_runtime.staff import sign_in_test_client, staff_routes
from werkzeug.routing import Rule

PARTNER_ID = "00000000-0000-4000-8000-000000000000"
STAFF_PREFIXES = ("/partners/staff", "/api/partners/staff")


def _staff_rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(STAFF_PREFIXES)]


def _url(rule: Rule) -> str:
    return re.sub(r"<[^>]+>", PARTNER_ID, rule.rule)


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def test_every_staff_url_is_guarded(app: Flask) -> None:
    rules = _staff_rules(app)
    # queue, detail, approve, reject, withdraw, edit (HTML); list, detail, approve, reject, withdraw (JSON)
    assert len(rules) >= 11
    guarded = {rule.rule for rule in staff_routes(app)}
    assert {rule.rule for rule in rules} <= guarded
    # Nothing outside the staff prefixes is a staff route by accident (the gateway routes by prefix).
    assert guarded <= {rule.rule for rule in rules}
    # And no public route can reach a staff view under another address.
    staff_endpoints = {rule.endpoint for rule in rules}
    assert all(
        rule.rule.startswith(STAFF_PREFIXES)
        for rule in app.url_map.iter_rules()
        if rule.endpoint in staff_endpoints
    )


def test_anonymous_visitors_are_refused_everywhere(app: Flask) -> None:
    client = app.test_client()
    walked = 0
    for rule in _staff_rules(app):
        for method in _methods(rule):
            walked += 1
            page = client.open(_url(rule), method=method)
            if rule.rule.startswith("/api/"):
                assert page.status_code == 401, (method, rule.rule, page.status_code)
            else:
                assert page.status_code == 302, (method, rule.rule, page.status_code)
                assert page.location.startswith("/staff/login?next=")
            api = client.open(_url(rule), method=method, headers={"Accept": "application/json"})
            assert api.status_code == 401, (method, rule.rule)
    assert walked >= 13


def test_staff_without_the_partnerships_role_are_refused(app: Flask) -> None:
    for roles in (("moderator",), ("editor",), ("moderator", "editor")):
        client = app.test_client()
        csrf = sign_in_test_client(client, *roles)
        for rule in _staff_rules(app):
            for method in _methods(rule):
                response = client.open(
                    _url(rule), method=method, data={"csrf_token": csrf}, headers={"X-CSRF-Token": csrf}
                )
                assert response.status_code == 403, (roles, method, rule.rule, response.status_code)


def test_partnerships_and_admin_get_in(app: Flask) -> None:
    for role in ("partnerships", "admin"):
        client = app.test_client()
        sign_in_test_client(client, role)
        assert client.get("/partners/staff/").status_code == 200
        assert client.get("/api/partners/staff/applications").status_code == 200
