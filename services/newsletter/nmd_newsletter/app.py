"""The newsletter web app: subscribing pages and API, staff issue pages and API, and SendGrid's webhook."""

from __future__ import annotations

from typing import Any

from flask import Flask
from nmd_runtime import settings as runtime_settings
from nmd_runtime.database import make_engine, migrate
from nmd_runtime.tables import metadata as runtime_metadata
from nmd_runtime.web import create_service_app

from nmd_newsletter import SERVICE, issues, sections, subscribing, tables, transactional, webhook

# Imported for their tables, which live beside their features on the shared metadata.
_FEATURE_TABLES = (sections, transactional, webhook)


def create_engine_and_migrate(database_url: str | None = None) -> Any:
    engine = make_engine(database_url or runtime_settings.database_url(SERVICE))
    migrate(engine, runtime_metadata, tables.metadata)
    return engine


def create_app(database_url: str | None = None, **overrides: Any) -> Flask:
    engine = create_engine_and_migrate(database_url)
    # SendGrid posts webhook events in batches of up to a few MB.
    app, api = create_service_app(
        SERVICE, title="Newsletter", import_name=__name__, database=engine, max_content_length=8 * 1024 * 1024
    )
    app.config.update(overrides)
    app.extensions["nmd_newsletter_engine"] = engine
    app.register_blueprint(subscribing.pages)
    app.register_blueprint(issues.pages)
    app.register_blueprint(webhook.blueprint)
    api.register_blueprint(subscribing.api)
    api.register_blueprint(issues.api)
    return app
