"""An under-18's story can never appear with a name or a photo, whatever the form says."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from nmd_runtime.tables import outbox
from nmd_stories import publishing
from nmd_stories.tables import stories
from sqlalchemy import select, update

from tests.stories.conftest import engine, story_form, story_json
from tests.stories.pictures import jpeg_with_exif, upload


def _publish(app: Flask, story_id: str) -> dict:
    with engine(app).begin() as conn:
        publishing.publish(conn, story_id, datetime.now(UTC))
        value = conn.execute(
            select(outbox.c.value).where(outbox.c.key == story_id).order_by(outbox.c.id.desc()).limit(1)
        ).scalar_one()
    return json.loads(value)["data"]


def _nothing_named(data: dict) -> None:
    assert data["credit"] is None and data["photo_url"] is None
    assert "Amira" not in json.dumps(data)


def test_api_under_18_with_a_name_and_a_photo_is_published_anonymous_and_without_it(
    app: Flask, client: FlaskClient, media_dir: Path
) -> None:
    key = upload(client, jpeg_with_exif())
    answer = client.post("/api/stories", json=story_json(under_18=True, credit="full_name", photo_key=key))
    assert answer.status_code == 201
    story_id = answer.json["story_id"]
    assert [p for p in media_dir.rglob("*") if p.is_file() and ".meta" not in p.parts] == []
    _nothing_named(_publish(app, story_id))
    _nothing_named(client.get(f"/api/stories/{story_id}").json)


def test_form_under_18_with_a_photo_file_keeps_no_photo(app: Flask, client: FlaskClient, media_dir: Path) -> None:
    form = story_form(under_18="yes", credit="first_name") | {
        "photo": (io.BytesIO(jpeg_with_exif()), "me.jpg", "image/jpeg")
    }
    assert client.post("/stories/share", data=form, content_type="multipart/form-data").status_code == 200
    with engine(app).connect() as conn:
        row = conn.execute(select(stories)).mappings().one()
    assert (row["under_18"], row["credit"], row["photo_key"]) == (True, "anonymous", None)
    assert not media_dir.exists() or not any(p.is_file() for p in media_dir.rglob("*"))
    _nothing_named(_publish(app, row["id"]))


def test_even_a_tampered_row_publishes_no_name_or_photo_for_an_under_18(app: Flask, client: FlaskClient) -> None:
    story_id = client.post("/api/stories", json=story_json(under_18=True)).json["story_id"]
    with engine(app).begin() as conn:
        conn.execute(
            update(stories)
            .where(stories.c.id == story_id)
            .values(credit="full_name", photo_key="stories/photos/someone.jpg")
        )
    _nothing_named(_publish(app, story_id))


def test_credit_choices() -> None:
    base = {"under_18": False, "display_name": "  Amira   Khan ", "credit": "full_name"}
    assert publishing.public_credit(base) == "Amira Khan"
    assert publishing.public_credit(base | {"credit": "first_name"}) == "Amira"
    assert publishing.public_credit(base | {"credit": "anonymous"}) is None
    assert publishing.public_credit(base | {"under_18": True}) is None
