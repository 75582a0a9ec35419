"""The partners web app: `gunicorn 'nmd_partners.app:create_app()'`.

Serves /partners/... (pages, staff review, badges, local media) and /api/partners... (JSON), with the OpenAPI
document at /partners/openapi.json (and /openapi.json), docs at /partners/docs, and /healthz, /readyz, /metrics.
"""

from __future__ import annotations

from flask import Flask, request
from nmd_runtime import database, media, settings
from nmd_runtime.tables import metadata as runtime_metadata
from nmd_runtime.web import create_service_app
from sqlalchemy import Engine

from nmd_partners import SERVICE, api, staff_views, tables, views

# Endpoints whose forms may carry a logo: their body limit is raised before anything reads the form (the staff
# CSRF check does, for staff forms), so a too-large logo gets a message beside its field.
FORM_WITH_LOGO = {"partners_pages.register", "partners_pages.manage", "partners_staff.edit"}


def make_engine(database_url: str | None = None) -> Engine:
    engine = database.make_engine(database_url or settings.database_url(SERVICE))
    database.migrate(engine, tables.metadata, runtime_metadata)
    return engine


def create_app(database_url: str | None = None, *, engine: Engine | None = None) -> Flask:
    engine = engine or make_engine(database_url)
    app, smorest_api = create_service_app(
        SERVICE, title="National Mentoring Day partners", import_name=__name__, database=engine
    )
    app.extensions["partners_engine"] = engine
    app.config["API_SPEC_OPTIONS"] = {"info": {"description": api.__doc__}}
    app.before_request_funcs.setdefault(None, []).insert(0, _raise_form_limit)
    api.register_api(smorest_api)
    app.register_blueprint(views.pages)
    app.register_blueprint(staff_views.review)
    app.register_blueprint(media.media_blueprint(SERVICE))
    return app


def _raise_form_limit() -> None:
    if request.endpoint in FORM_WITH_LOGO and request.method == "POST":
        request.max_content_length = views.FORM_BODY_LIMIT
