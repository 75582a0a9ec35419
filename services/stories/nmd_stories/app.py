"""The stories web app: `gunicorn 'nmd_stories.app:create_app()'`."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from nmd_runtime import database, media, settings
from nmd_runtime import tables as runtime_tables
from nmd_runtime.web import create_service_app

from nmd_stories import moderation, reports, story_wall, submission, withdrawal
from nmd_stories.tables import metadata


def create_app(database_url: str | None = None, **overrides: Any) -> Flask:
    engine = database.make_engine(database_url or settings.database_url("stories"))
    database.migrate(engine, runtime_tables.metadata, metadata)
    app, api = create_service_app(
        "stories",
        title="National Mentoring Day stories",
        import_name=__name__,
        database=engine,
        # The no-JavaScript share form carries its photo; each view sets its own limit below this.
        max_content_length=6 * 1024 * 1024,
    )
    app.config.update(overrides)
    app.extensions["nmd_stories"] = {"engine": engine}
    for blueprint in (
        submission.share,
        withdrawal.withdrawal,
        reports.report_form,
        moderation.moderation,
        media.media_blueprint("stories"),
    ):
        app.register_blueprint(blueprint)
    for blueprint in (submission.api, story_wall.wall, reports.reports_api):
        api.register_blueprint(blueprint)
    app.before_request(_body_limit)
    return app


def _body_limit() -> None:
    # Everything stays within the platform's 1 MB except the two routes that receive photos (they set their own).
    if request.path not in ("/stories/share", "/stories/media"):
        request.max_content_length = 1024 * 1024
