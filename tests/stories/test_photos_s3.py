"""Photos on S3 (moto's server, real HTTP): presigned POST, EXIF stripped, erased on withdrawal."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from nmd_stories import author_emails, publishing
from PIL import Image

from tests.media.conftest import aws_env, moto_endpoint, s3_bucket  # noqa: F401 - fixtures shared with media tests
from tests.stories.conftest import engine, story_json
from tests.stories.pictures import CAMERA, jpeg_with_exif


@pytest.fixture
def s3_media(s3_bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    monkeypatch.setenv("MEDIA_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", s3_bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_endpoint)
    return s3_bucket


def _keys(endpoint: str, bucket: str) -> list[str]:
    listing = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_presigned_photo_is_stripped_published_and_erased(
    app: Flask,
    client: FlaskClient,
    s3_media: str,
    moto_endpoint: str,  # noqa: F811
) -> None:
    form = client.post("/api/stories/photo-uploads", json={"content_type": "image/jpeg"}).json
    files = {"file": ("me.jpg", jpeg_with_exif(), "image/jpeg")}
    assert requests.post(form["url"], data=form["fields"], files=files, timeout=30).status_code in (200, 201, 204)
    answer = client.post("/api/stories", json=story_json(photo_key=form["key"]))
    assert answer.status_code == 201, answer.json
    story_id = answer.json["story_id"]

    [photo_key] = _keys(moto_endpoint, s3_media)
    assert photo_key.startswith("stories/photos/")  # the upload itself is gone
    body = boto3.client("s3", endpoint_url=moto_endpoint).get_object(Bucket=s3_media, Key=photo_key)["Body"].read()
    assert CAMERA.encode() not in body
    with Image.open(io.BytesIO(body)) as image:
        assert dict(image.getexif()) == {}

    with engine(app).begin() as conn:
        story = publishing.publish(conn, story_id, datetime.now(UTC))
    assert publishing.public_photo_url(story) == f"{moto_endpoint}/{s3_media}/{photo_key}"

    link = urlsplit(author_emails.withdraw_url(story_id)).path
    assert client.post(link).status_code == 200
    assert _keys(moto_endpoint, s3_media) == []
