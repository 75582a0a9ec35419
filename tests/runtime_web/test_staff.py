"""Staff sign-in: roles, redirects, CSRF, the login flow on SQLite and PostgreSQL, and the nmd-staff command."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from nmd_runtime import staff
from nmd_runtime.staff import sign_in_test_client, staff_routes, staff_store

PASSWORD = "correct horse battery staple"


def test_anonymous_browser_is_sent_to_sign_in_with_next(client: Any) -> None:
    response = client.get("/demo/staff/?page=2")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/staff/login"
    assert parse_qs(location.query)["next"] == ["/demo/staff/?page=2"]


def test_anonymous_api_call_is_a_401(client: Any) -> None:
    response = client.get("/api/items/staff")
    assert response.status_code == 401
    assert response.get_json()["message"]


def test_a_role_is_needed(client: Any) -> None:
    sign_in_test_client(client, "editor")
    assert client.get("/demo/staff/").status_code == 403
    assert client.get("/api/items/staff").status_code == 200


def test_admin_has_every_role(client: Any) -> None:
    sign_in_test_client(client, "admin")
    assert client.get("/demo/staff/").status_code == 200
    assert client.get("/demo/staff/review").status_code == 200
    assert client.get("/api/items/staff").get_json() == {"ok": "editor"}


def test_only_admin_reaches_admin_routes(client: Any) -> None:
    sign_in_test_client(client, "moderator", "partnerships", "editor")
    assert client.get("/demo/staff/admin-only").status_code == 403


def test_every_staff_route_refuses_anonymous_visitors(app: Flask) -> None:
    routes = staff_routes(app)
    rules = {rule.rule for rule in routes}
    assert {"/demo/staff/", "/demo/staff/admin-only", "/demo/staff/review", "/api/items/staff", "/staff/"} <= rules
    assert "/demo/" not in rules and "/staff/login" not in rules
    client = app.test_client()
    for rule in routes:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(rule.rule, method=method)
            assert response.status_code in (302, 401), (method, rule.rule, response.status_code)


def test_staff_form_posts_need_the_csrf_token(client: Any) -> None:
    token = sign_in_test_client(client, "moderator")
    assert client.post("/demo/staff/").status_code == 400
    assert client.post("/demo/staff/", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/demo/staff/", data={"csrf_token": token}).status_code == 200
    assert client.post("/demo/staff/", headers={"X-CSRF-Token": token}).status_code == 200


def test_staff_api_calls_need_the_csrf_header(client: Any) -> None:
    token = sign_in_test_client(client, "editor")
    refused = client.post("/api/items/staff", json={})
    assert refused.status_code == 400
    assert "csrf_token" in refused.get_json()["errors"]
    assert client.post("/api/items/staff", json={}, headers={"X-CSRF-Token": token}).status_code == 200


def test_public_posts_need_no_token(client: Any) -> None:
    assert client.post("/demo/subscribe", data={"email": "a@example.org"}).status_code == 201


def test_a_session_ends_twelve_hours_after_sign_in(client: Any) -> None:
    sign_in_test_client(client, "moderator")
    with client.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - 12 * 3600 - 1
    assert client.get("/demo/staff/").status_code == 302


def _csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _login_flow(app: Flask) -> None:
    staff_store(app.config["STAFF_DATABASE_URL"]).add("Mod.Erator", PASSWORD, ["moderator"])
    client = app.test_client()

    form = client.get("/staff/login?next=/demo/staff/")
    assert form.status_code == 200
    token = _csrf_from(form.get_data(as_text=True))

    assert client.post("/staff/login", data={"username": "mod.erator", "password": PASSWORD}).status_code == 400

    wrong = client.post("/staff/login", data={"username": "mod.erator", "password": "nope", "csrf_token": token})
    assert "wrong user name or password" in wrong.get_data(as_text=True)
    unknown = client.post("/staff/login", data={"username": "nobody", "password": "nope", "csrf_token": token})
    assert "wrong user name or password" in unknown.get_data(as_text=True)
    assert client.get("/demo/staff/").status_code == 302

    signed_in = client.post(
        "/staff/login",
        data={"username": "mod.erator", "password": PASSWORD, "csrf_token": token, "next": "/demo/staff/"},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/demo/staff/"
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith("nmd_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert client.get("/demo/staff/").status_code == 200

    home = client.get("/staff/").get_data(as_text=True)
    assert "/stories/staff/" in home and "/staff/page-views" in home
    assert "/partners/staff/" not in home  # a moderator is not in partnerships

    fresh_token = _csrf_from(home)
    assert fresh_token != token  # rotated at sign-in
    assert client.post("/staff/logout", data={"csrf_token": fresh_token}).status_code == 303
    assert client.get("/demo/staff/").status_code == 302


def test_login_flow_on_sqlite(app: Flask) -> None:
    _login_flow(app)


def test_login_flow_on_postgresql(app: Flask, database_url: str) -> None:
    app.config["STAFF_DATABASE_URL"] = database_url
    _login_flow(app)


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_next_must_be_a_local_path(app: Flask, target: str) -> None:
    staff_store(app.config["STAFF_DATABASE_URL"]).add("ed", PASSWORD, ["editor"])
    client = app.test_client()
    token = _csrf_from(client.get("/staff/login").get_data(as_text=True))
    response = client.post(
        "/staff/login", data={"username": "ed", "password": PASSWORD, "csrf_token": token, "next": target}
    )
    assert response.headers["Location"] == "/staff/"


def test_store_rules(staff_url: str) -> None:
    store = staff_store(staff_url)
    store.add("alex", PASSWORD, ["editor", "moderator"])
    with pytest.raises(staff.StaffError):
        store.add("alex", PASSWORD, ["editor"])
    with pytest.raises(staff.StaffError):
        store.add("sam", PASSWORD, ["superuser"])
    with pytest.raises(staff.StaffError):
        store.add("sam", "short", ["editor"])
    member = store.verify("ALEX", PASSWORD)
    assert member is not None and member.roles == {"editor", "moderator"}
    store.set_password("alex", PASSWORD + "!")
    assert store.verify("alex", PASSWORD) is None
    store.set_disabled("alex", True)
    assert store.verify("alex", PASSWORD + "!") is None
    assert [m.username for m in store.list()] == ["alex"]
    assert store.remove("alex") and not store.remove("alex")
    assert "scrypt" in staff.generate_password_hash("x" * 12, method="scrypt")


def test_the_nmd_staff_command(staff_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        staff.main(
            ["--database-url", staff_url, "add", "kim", "--role", "editor", "--role", "admin", "--generate"]
        )
        == 0
    )
    password = re.search(r"password \(shown once\): (\S+)", capsys.readouterr().out)
    assert password is not None
    assert staff_store(staff_url).verify("kim", password.group(1)) is not None

    assert staff.main(["--database-url", staff_url, "set-password", "kim", "--password", PASSWORD]) == 0
    assert staff_store(staff_url).verify("kim", PASSWORD) is not None
    assert staff.main(["--database-url", staff_url, "list"]) == 0
    assert "kim\tadmin,editor" in capsys.readouterr().out
    assert staff.main(["--database-url", staff_url, "remove", "kim"]) == 0
    assert staff.main(["--database-url", staff_url, "remove", "kim"]) == 1
