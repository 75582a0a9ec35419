"""Photos: presigned upload, verification, EXIF stripped before anything is kept or published."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from nmd_stories import photos
from PIL import Image

from tests.stories.conftest import story_json
from tests.stories.pictures import CAMERA, GPS_IFD, jpeg_with_exif, upload


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and ".meta" not in p.parts]


def test_without_metadata_drops_exif_and_turns_the_picture_upright() -> None:
    original = jpeg_with_exif((64, 48))
    assert CAMERA.encode() in original
    clean = photos.without_metadata(original, "image/jpeg")
    assert CAMERA.encode() not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert dict(image.getexif()) == {} and not image.getexif().get_ifd(GPS_IFD)
        assert image.size == (48, 64)  # orientation 6 applied before the tag went
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)


def test_a_story_photo_is_kept_only_without_its_metadata(app: Flask, client: FlaskClient, media_dir: Path) -> None:
    key = upload(client, jpeg_with_exif())
    answer = client.post("/api/stories", json=story_json(photo_key=key))
    assert answer.status_code == 201, answer.json
    story = client.get(f"/api/stories/{answer.json['story_id']}")
    assert story.status_code == 404  # not published yet
    kept = _files(media_dir)
    assert len(kept) == 1 and "stories/photos/" in kept[0].as_posix()  # the upload itself was deleted
    assert CAMERA.encode() not in kept[0].read_bytes()
    with Image.open(kept[0]) as image:
        assert dict(image.getexif()) == {}


def test_a_file_that_is_not_the_image_it_claims_is_refused_and_deleted(
    client: FlaskClient, media_dir: Path
) -> None:
    key = upload(client, jpeg_with_exif())
    stored = next(p for p in _files(media_dir) if key.split("/")[-1] in p.name)
    stored.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>")  # as a lax S3 would keep it
    answer = client.post("/api/stories", json=story_json(photo_key=key))
    assert answer.status_code == 422 and "photo_key" in answer.json["errors"]
    assert _files(media_dir) == []
    assert client.get("/api/stories").json["total"] == 0


def test_someone_elses_key_is_refused(client: FlaskClient) -> None:
    answer = client.post("/api/stories", json=story_json(photo_key="stories/photos/abc.jpg"))
    assert answer.status_code == 422 and "photo_key" in answer.json["errors"]


def test_the_form_takes_a_photo_without_javascript(client: FlaskClient, media_dir: Path) -> None:
    from tests.stories.conftest import story_form

    form = story_form() | {"photo": (io.BytesIO(jpeg_with_exif()), "me.jpg", "image/jpeg")}
    assert client.post("/stories/share", data=form, content_type="multipart/form-data").status_code == 200
    kept = _files(media_dir)
    assert len(kept) == 1 and CAMERA.encode() not in kept[0].read_bytes()
    refused = story_form() | {"photo": (io.BytesIO(b"GIF89a not allowed"), "me.gif", "image/gif")}
    page = client.post("/stories/share", data=refused, content_type="multipart/form-data")
    assert page.status_code == 422 and 'id="f-photo-error"' in page.get_data(as_text=True)
