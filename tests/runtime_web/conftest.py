"""A tiny service built with create_service_app, exercising every shared web behaviour the services rely on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask_smorest
import marshmallow as ma
import pytest
from flask import Flask, render_template_string, request
from flask.views import MethodView
from marshmallow import fields, validate
from nmd_runtime import staff, web

PAGE = """{% extends "nmd/layout.html" %}{% import "nmd/forms.html" as forms %}
{% block title %}Demo{% endblock %}
{% block content %}<h1>Demo</h1>
<form method="post">{{ forms.honeypot() }}
{{ forms.text_input("email", "Email address", values.email, errors.email, type="email", hint="Never shared") }}
</form>{% endblock %}
{% block footer_extra %}<p class="page-views">42 views</p>{% endblock %}"""


class AddressSchema(ma.Schema):
    city = fields.String(required=True, validate=validate.Length(min=1))


class ItemSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    email = fields.Email(required=True)
    address = fields.Nested(AddressSchema)


class Failing:
    """A ready check a test can switch off and on."""

    check_name = "broker"

    def __init__(self) -> None:
        self.ok = True

    def __call__(self) -> None:
        if not self.ok:
            raise ConnectionError("postgresql://user:secret@db/x unreachable")


def build_app(staff_database_url: str, broker: Callable[[], None]) -> Flask:
    app, api = web.create_service_app("demo", title="Demo service", import_name=__name__, ready_checks=[broker])
    app.config.update(TESTING=True, STAFF_DATABASE_URL=staff_database_url)
    items = flask_smorest.Blueprint("items", __name__, url_prefix="/api/items")

    @items.route("", methods=["POST"])
    @items.arguments(ItemSchema)
    @items.response(201, ItemSchema)
    def create_item(data: dict[str, Any]) -> dict[str, Any]:
        if data["name"] == "taken":
            web.json_error(409, "name", "an item with this name already exists")
        return data

    @items.route("/manual", methods=["POST"])
    def manual() -> dict[str, Any]:
        # Loads by hand and lets the ValidationError escape: must still be a 422.
        return ItemSchema().load(request.get_json())  # type: ignore[no-any-return]

    @items.route("/staff")
    class StaffItems(MethodView):
        @staff.staff_required("editor")
        def get(self) -> dict[str, str]:
            return {"ok": "editor"}

        @staff.staff_required("editor")
        def post(self) -> dict[str, str]:
            return {"ok": "posted"}

    api.register_blueprint(items)
    app.register_blueprint(staff.staff_blueprint)

    @app.get("/demo/")
    def page() -> str:
        return render_template_string(PAGE, values={}, errors={})

    @app.post("/demo/subscribe")
    @web.rate_limit(3, 60)
    def subscribe() -> tuple[str, int]:
        if web.honeypot_tripped(request.form):
            return "thanks", 200  # looks the same to the bot; nothing stored
        return "stored", 201

    @app.route("/demo/staff/", methods=["GET", "POST"])
    @staff.staff_required("moderator")
    def moderation() -> str:
        return "moderation queue"

    @app.route("/demo/staff/admin-only")
    @staff.staff_required("admin")
    def admin_only() -> str:
        return "admin"

    @staff.staff_required("partnerships")
    class Review(MethodView):
        def get(self) -> str:
            return "review"

    app.add_url_rule("/demo/staff/review", view_func=Review.as_view("review"))
    return app


@pytest.fixture
def broker() -> Failing:
    return Failing()


@pytest.fixture
def staff_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'staff.db'}"


@pytest.fixture
def app(staff_url: str, broker: Failing) -> Flask:
    return build_app(staff_url, broker)


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()
