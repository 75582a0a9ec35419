"""Bad input gets a clear 4xx with a flat field map, never a 500; browsers get the styled page."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from nmd_runtime.web import flatten_errors, form_errors


def test_validation_errors_are_a_flat_field_map(client: Any) -> None:
    response = client.post("/api/items", json={"name": "", "email": "nope", "address": {}, "colour": "red"})
    assert response.status_code == 422
    body = response.get_json()
    assert set(body["errors"]) == {"name", "email", "address.city", "colour"}
    assert all(isinstance(m, list) and m and isinstance(m[0], str) for m in body["errors"].values())
    assert body["message"]
    assert "json" not in body["errors"]


def test_a_valid_body_passes(client: Any) -> None:
    response = client.post("/api/items", json={"name": "Kit", "email": "kit@example.org"})
    assert response.status_code == 201
    assert response.get_json()["name"] == "Kit"


def test_malformed_json_is_a_400_naming_the_problem(client: Any) -> None:
    response = client.post("/api/items", data='{"name": "x",', content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert "not valid JSON" in body["message"]
    assert "line 1" in body["message"]
    assert "_json" in body["errors"]


def test_json_that_is_not_an_object_is_a_422(client: Any) -> None:
    response = client.post("/api/items", json=[1, 2])
    assert response.status_code == 422
    assert "_schema" in response.get_json()["errors"]


def test_a_body_over_the_limit_is_a_413(client: Any) -> None:
    response = client.post("/api/items", data="x" * (1024 * 1024 + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["message"]


def test_a_large_form_post_to_a_page_gets_the_html_413(client: Any) -> None:
    response = client.post("/demo/subscribe", data={"email": "x" * (1024 * 1024 + 10)})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "too large" in response.get_data(as_text=True)


def test_json_error_gives_a_field_map(client: Any) -> None:
    response = client.post("/api/items", json={"name": "taken", "email": "a@example.org"})
    assert response.status_code == 409
    assert response.get_json()["errors"] == {"name": ["an item with this name already exists"]}


def test_a_validation_error_escaping_a_view_is_a_422(client: Any) -> None:
    response = client.post("/api/items/manual", json={"name": "x"})
    assert response.status_code == 422
    assert "email" in response.get_json()["errors"]


def test_404_and_405_are_json_on_api_paths(client: Any) -> None:
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["message"]
    wrong_method = client.get("/api/items")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["code"] == 405
    assert "POST" in wrong_method.headers["Allow"]


def test_404_is_a_styled_page_for_browsers(client: Any) -> None:
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "/assets/site.css" in html and "National Mentoring Day" in html


def test_404_is_json_for_clients_that_ask_for_json(client: Any) -> None:
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.is_json


def test_form_errors_keep_one_message_per_field() -> None:
    error = ma.ValidationError({"email": ["Not a valid email.", "Too long."], "address": {"city": ["Required."]}})
    assert form_errors(error) == {"email": "Not a valid email.", "address.city": "Required."}
    assert form_errors(ma.ValidationError("Whole form is wrong.")) == {"_schema": "Whole form is wrong."}


def test_flatten_strips_webargs_locations_only_when_asked() -> None:
    messages = {"json": {"name": ["Missing."]}, "query": {"page": ["Bad."]}}
    assert flatten_errors(messages, strip_locations=True) == {"name": ["Missing."], "page": ["Bad."]}
    assert flatten_errors({"json": ["x"]}) == {"json": ["x"]}


def test_openapi_document_and_docs(client: Any) -> None:
    spec = client.get("/demo/openapi.json").get_json()
    assert spec["openapi"] == "3.0.3"
    assert "/api/items" in spec["paths"]
    assert client.get("/openapi.json").get_json() == spec
    assert client.get("/demo/docs").status_code == 200
    assert client.get("/docs").headers["Location"].endswith("/demo/docs")


def test_an_unexpected_error_is_a_logged_500_without_details(app: Any, caplog: Any) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/api/items/boom")
    def boom() -> None:
        raise RuntimeError("database password is hunter2")

    response = app.test_client().get("/api/items/boom")
    assert response.status_code == 500
    assert "hunter2" not in response.get_data(as_text=True)
    assert response.get_json()["message"]
    assert any("hunter2" in (record.exc_text or "") or record.exc_info for record in caplog.records)
