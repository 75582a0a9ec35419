"""The media store: presigned uploads to moto's S3 server over real HTTP, and the local store's signed form target.

moto does not enforce presigned POST policies (docs: library-facts), so these tests prove what protects us:
verify_upload refuses (and deletes) a too-large file and an SVG whatever it was labelled.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from flask import Flask
from nmd_runtime import media
from nmd_runtime.media import (
    IMAGE_TYPES,
    LocalMediaStore,
    MediaRefused,
    S3MediaStore,
    media_blueprint,
    media_store,
    sniff_image_type,
)
from nmd_runtime.web import create_service_app

from tests.media.conftest import SVG, jpeg_bytes, oversized_png, png_bytes, webp_bytes

MAX = 2_000_000
PREFIX = "tests/logos"


# --- checks shared by every store --------------------------------------------------------------------------------


def test_magic_numbers() -> None:
    assert sniff_image_type(png_bytes()) == "image/png"
    assert sniff_image_type(jpeg_bytes()) == "image/jpeg"
    assert sniff_image_type(webp_bytes()) == "image/webp"
    assert sniff_image_type(SVG) is None
    assert sniff_image_type(b"GIF89a....") is None
    assert sniff_image_type(b"") is None


def test_svg_can_never_be_allowed(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path, "http://localhost/test/media")
    with pytest.raises(ValueError, match="allowed_types"):
        store.presign_upload(PREFIX, allowed_types={"image/png", "image/svg+xml"}, max_bytes=MAX)


@pytest.mark.parametrize("key", ["../etc/passwd", "a/../../b", "/abs", ".hidden", "a/.meta/x", "a b", ""])
def test_keys_cannot_escape_the_folder(tmp_path: Path, key: str) -> None:
    store = LocalMediaStore(tmp_path, "http://localhost/test/media")
    with pytest.raises(MediaRefused):
        store.verify_upload(key, allowed_types=IMAGE_TYPES, max_bytes=MAX)


# --- S3 through moto's server ------------------------------------------------------------------------------------


@pytest.fixture
def s3_store(moto_endpoint: str, s3_bucket: str) -> S3MediaStore:
    return S3MediaStore(s3_bucket, endpoint_url=moto_endpoint)


def _post(upload: media.Upload, data: bytes, content_type: str, filename: str = "logo.png") -> requests.Response:
    fields = dict(upload.fields)
    fields.setdefault("Content-Type", content_type)
    return requests.post(upload.url, data=fields, files={"file": (filename, data, content_type)}, timeout=30)


def _exists(store: S3MediaStore, key: str) -> bool:
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=key)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def test_s3_presigned_post_policy_pins_key_type_and_size(s3_store: S3MediaStore) -> None:
    upload = s3_store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX, content_type="image/png")
    assert upload.key.startswith(PREFIX + "/")
    assert upload.fields["key"] == upload.key
    assert upload.fields["Content-Type"] == "image/png"
    import base64
    import json

    policy = json.loads(base64.b64decode(upload.fields["policy"]))
    assert ["content-length-range", 1, MAX] in policy["conditions"]
    assert {"Content-Type": "image/png"} in policy["conditions"]


@pytest.mark.parametrize(
    "maker, content_type", [(png_bytes, "image/png"), (jpeg_bytes, "image/jpeg"), (webp_bytes, "image/webp")]
)
def test_s3_valid_image_is_accepted(s3_store: S3MediaStore, maker, content_type: str) -> None:  # type: ignore[no-untyped-def]
    data = maker()
    upload = s3_store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    response = _post(upload, data, content_type)
    assert response.status_code in (200, 201, 204), response.text

    verified = s3_store.verify_upload(upload.key, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    assert verified.content_type == content_type
    assert verified.size == len(data)
    assert verified.url == f"{s3_store.public_base_url}/{upload.key}"
    assert s3_store.get(upload.key) == data


def test_s3_three_megabytes_is_refused_and_deleted(s3_store: S3MediaStore) -> None:
    upload = s3_store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX, content_type="image/png")
    response = _post(upload, oversized_png(), "image/png")
    # Real S3 answers 400 EntityTooLarge; moto accepts it, so our check must catch it.
    if response.status_code >= 400:
        assert not _exists(s3_store, upload.key)
        return
    assert _exists(s3_store, upload.key)
    with pytest.raises(MediaRefused, match="too large") as refused:
        s3_store.verify_upload(upload.key, allowed_types=IMAGE_TYPES, max_bytes=MAX, field="logo")
    assert refused.value.field == "logo"
    assert not _exists(s3_store, upload.key)


@pytest.mark.parametrize("label", ["image/svg+xml", "image/png"])
def test_s3_svg_is_refused_and_deleted_whatever_its_label(s3_store: S3MediaStore, label: str) -> None:
    upload = s3_store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    response = _post(upload, SVG, label, filename="logo.svg")
    if response.status_code >= 400:
        assert not _exists(s3_store, upload.key)
        return
    with pytest.raises(MediaRefused):
        s3_store.verify_upload(upload.key, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    assert not _exists(s3_store, upload.key)


def test_s3_jpeg_labelled_png_is_refused(s3_store: S3MediaStore) -> None:
    upload = s3_store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    assert _post(upload, jpeg_bytes(), "image/png").status_code < 300
    with pytest.raises(MediaRefused, match="labelled"):
        s3_store.verify_upload(upload.key, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    assert not _exists(s3_store, upload.key)


def test_s3_missing_upload_is_refused(s3_store: S3MediaStore) -> None:
    with pytest.raises(MediaRefused, match="No file"):
        s3_store.verify_upload(f"{PREFIX}/never-uploaded", allowed_types=IMAGE_TYPES, max_bytes=MAX)


def test_s3_put_delete_and_accept(s3_store: S3MediaStore) -> None:
    verified = s3_store.accept(PREFIX, png_bytes(), allowed_types=IMAGE_TYPES, max_bytes=MAX)
    assert verified.key.endswith(".png")
    assert s3_store.get(verified.key) == png_bytes()
    s3_store.delete(verified.key)
    assert s3_store.get(verified.key) is None
    s3_store.delete(verified.key)  # deleting twice is fine
    with pytest.raises(MediaRefused):
        s3_store.accept(PREFIX, SVG, allowed_types=IMAGE_TYPES, max_bytes=MAX, declared_type="image/png")


def test_media_store_chooses_s3_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, s3_bucket: str
) -> None:
    monkeypatch.setenv("MEDIA_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", s3_bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("S3_PUBLIC_BASE_URL", "https://media.example.org")
    store = media_store("partners")
    assert isinstance(store, S3MediaStore)
    assert store.bucket == s3_bucket
    assert store.public_url("a/b.png") == "https://media.example.org/a/b.png"


# --- the local store, through a service app ----------------------------------------------------------------------


@pytest.fixture
def local_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("NMD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MEDIA_BACKEND", "local")
    monkeypatch.delenv("MEDIA_DIR", raising=False)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost:8080")
    app, _api = create_service_app("mediatest", title="media test", import_name=__name__)
    app.register_blueprint(media_blueprint("mediatest"))
    app.config["TESTING"] = True
    return app


def _local_post(client, upload: media.Upload, data: bytes, content_type: str, filename: str = "logo.png"):  # type: ignore[no-untyped-def]
    import io

    path = upload.url.removeprefix("http://localhost:8080")
    fields = dict(upload.fields)
    fields.setdefault("Content-Type", content_type)
    form = {**fields, "file": (io.BytesIO(data), filename, content_type)}
    return client.post(path, data=form, content_type="multipart/form-data")


def test_local_store_is_the_default(local_app: Flask, tmp_path: Path) -> None:
    store = media_store("mediatest")
    assert isinstance(store, LocalMediaStore)
    assert store.folder == tmp_path / "media" / "mediatest"
    assert store.public_url("a/b.png") == "http://localhost:8080/mediatest/media/a/b.png"


def test_local_valid_png_is_accepted_and_served(local_app: Flask) -> None:
    store = media_store("mediatest")
    upload = store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    assert upload.url.startswith("http://localhost:8080/mediatest/media?policy=")
    client = local_app.test_client()
    response = _local_post(client, upload, png_bytes(), "image/png")
    assert response.status_code == 204, response.get_data(as_text=True)

    verified = store.verify_upload(upload.key, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    assert verified.content_type == "image/png"
    assert verified.url == f"http://localhost:8080/mediatest/media/{upload.key}"
    served = client.get(f"/mediatest/media/{upload.key}")
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.data == png_bytes()
    assert "sandbox" in served.headers["Content-Security-Policy"]


def test_local_three_megabytes_is_refused_on_receipt(local_app: Flask) -> None:
    store = media_store("mediatest")
    upload = store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    response = _local_post(local_app.test_client(), upload, oversized_png(), "image/png")
    assert response.status_code == 413
    assert store.head(upload.key) is None


@pytest.mark.parametrize("label", ["image/svg+xml", "image/png"])
def test_local_svg_is_refused_on_receipt(local_app: Flask, label: str) -> None:
    store = media_store("mediatest")
    upload = store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX)
    response = _local_post(local_app.test_client(), upload, SVG, label, filename="logo.svg")
    assert response.status_code == 415
    assert "file" in response.get_json()["errors"]
    assert store.head(upload.key) is None


def test_local_verify_refuses_and_deletes_what_got_past(local_app: Flask) -> None:
    """A file put there some other way (or by an older version) is still checked, and removed when it fails."""
    store = media_store("mediatest")
    for data, label in [(oversized_png(), "image/png"), (SVG, "image/png"), (SVG, "image/svg+xml")]:
        key = media.new_key(PREFIX)
        store.put(key, data, label)
        assert store.head(key) is not None
        with pytest.raises(MediaRefused):
            store.verify_upload(key, allowed_types=IMAGE_TYPES, max_bytes=MAX)
        assert store.head(key) is None
        assert store.get(key) is None


def test_local_policy_is_signed_and_pins_the_key(local_app: Flask) -> None:
    store = media_store("mediatest")
    client = local_app.test_client()
    upload = store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX)

    tampered = media.Upload(upload.url[:-3] + "xyz", upload.fields, upload.key)
    assert _local_post(client, tampered, png_bytes(), "image/png").status_code == 403

    other_key = media.Upload(upload.url, {**upload.fields, "key": f"{PREFIX}/chosen-by-me"}, upload.key)
    assert _local_post(client, other_key, png_bytes(), "image/png").status_code == 403
    assert store.head(f"{PREFIX}/chosen-by-me") is None


def test_local_expired_policy_is_refused(local_app: Flask) -> None:
    store = media_store("mediatest")
    upload = store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX, expires=-1)
    response = _local_post(local_app.test_client(), upload, png_bytes(), "image/png")
    assert response.status_code == 403
    assert "expired" in response.get_json()["message"]


def test_local_pinned_content_type_is_enforced(local_app: Flask) -> None:
    store = media_store("mediatest")
    upload = store.presign_upload(PREFIX, allowed_types=IMAGE_TYPES, max_bytes=MAX, content_type="image/jpeg")
    response = _local_post(local_app.test_client(), upload, png_bytes(), "image/png")
    assert response.status_code == 415
    assert store.head(upload.key) is None


def test_local_file_of_unknown_type_is_never_served_as_a_page(local_app: Flask) -> None:
    store = media_store("mediatest")
    key = media.new_key(PREFIX)
    store.put(key, b"<html><script>alert(1)</script></html>", "text/html")
    served = local_app.test_client().get(f"/mediatest/media/{key}")
    assert served.mimetype == "application/octet-stream"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert local_app.test_client().get("/mediatest/media/../secret").status_code == 404
