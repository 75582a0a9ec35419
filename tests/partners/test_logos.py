"""Logo upload: a presigned form from the service, the file posted straight to the store (moto's S3 server over
real HTTP, or the local store's signed form target), then checked when the key is used. PNG, JPEG and WebP up to
2 MB only: a 3 MB file and an SVG (whatever its label) are refused, and deleted when they got into the store."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from flask import Flask
from nmd_partners import lifecycle
from sqlalchemy import Engine

from tests.media.conftest import aws_env, moto_endpoint, oversized_png, s3_bucket  # noqa: F401 - fixtures
from tests.partners.conftest import PUBLIC, SVG, approve, of_type, png_bytes, registration, verify


def presign(client: Any, **body: Any) -> dict[str, Any]:
    response = client.post("/api/partners/logo-uploads", json=body)
    assert response.status_code == 201, response.get_json()
    form = response.get_json()
    assert form["key"].startswith("partners/logos/")
    assert form["max_bytes"] == 2_000_000
    assert set(form["allowed_types"]) <= {"image/png", "image/jpeg", "image/webp"}
    return form


def local_upload(client: Any, form: dict[str, Any], data: bytes, content_type: str) -> Any:
    fields = dict(form["fields"])
    fields.setdefault("Content-Type", content_type)
    return client.post(
        form["url"].removeprefix(PUBLIC),
        content_type="multipart/form-data",
        data={**fields, "file": (io.BytesIO(data), "logo", content_type)},
    )


def register_with_logo(client: Any, key: str) -> Any:
    return client.post("/api/partners", json=registration(logo_key=key))


# --- the local store --------------------------------------------------------------------------------------


def test_local_logo_upload_is_used_and_served(app: Flask, client: Any, engine: Engine) -> None:
    form = presign(client)
    assert form["url"].startswith(f"{PUBLIC}/partners/media?policy=")
    assert local_upload(client, form, png_bytes(), "image/png").status_code == 204
    response = register_with_logo(client, form["key"])
    assert response.status_code == 201
    partner_id = response.get_json()["id"]
    verify(client, engine, partner_id)
    approve(app, partner_id)
    [approved] = of_type(engine, "partner.approved")
    assert approved.data["logo_url"] == f"{PUBLIC}/partners/media/{form['key']}"
    served = client.get(f"/partners/media/{form['key']}")
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == png_bytes()


def test_local_three_megabytes_is_refused(client: Any, engine: Engine) -> None:
    form = presign(client)
    assert local_upload(client, form, oversized_png(), "image/png").status_code == 413
    response = register_with_logo(client, form["key"])
    assert response.status_code == 422
    assert "logo_key" in response.get_json()["errors"]
    assert of_type(engine, "partner.registered") == []


@pytest.mark.parametrize("label", ["image/svg+xml", "image/png"])
def test_local_svg_is_refused(client: Any, label: str) -> None:
    form = presign(client)
    assert local_upload(client, form, SVG, label).status_code == 415
    assert register_with_logo(client, form["key"]).status_code == 422


def test_a_bad_file_that_reached_the_store_is_refused_and_deleted(client: Any, partners_env: Path) -> None:
    from nmd_runtime import media

    store = media.media_store("partners")
    for data in (SVG, oversized_png()):
        key = media.new_key(lifecycle.LOGO_PREFIX)
        store.put(key, data, "image/png")
        response = register_with_logo(client, key)
        assert response.status_code == 422
        assert "logo_key" in response.get_json()["errors"]
        assert store.head(key) is None


def test_only_our_own_logo_keys_are_accepted(client: Any, partners_env: Path) -> None:
    from nmd_runtime import media

    media.media_store("partners").put("stories/photos/abc.png", png_bytes(), "image/png")
    assert register_with_logo(client, "stories/photos/abc.png").status_code == 422
    assert register_with_logo(client, "../../etc/passwd").status_code == 422


def test_a_pinned_content_type_is_part_of_the_form(client: Any) -> None:
    form = presign(client, content_type="image/jpeg")
    assert form["fields"]["Content-Type"] == "image/jpeg"
    assert local_upload(client, form, png_bytes(), "image/png").status_code == 415
    assert client.post("/api/partners/logo-uploads", json={"content_type": "image/svg+xml"}).status_code == 422


def test_a_logo_upload_can_be_used_once(client: Any) -> None:
    form = presign(client)
    local_upload(client, form, png_bytes(), "image/png")
    assert register_with_logo(client, form["key"]).status_code == 201
    again = client.post(
        "/api/partners",
        json=registration(
            logo_key=form["key"], website="https://second.example.org", contact_email="second@example.org"
        ),
    )
    assert again.status_code == 422


# --- the HTML form ----------------------------------------------------------------------------------------


def html_form(**overrides: Any) -> dict[str, Any]:
    data = registration(**overrides)
    data["listing_consent"] = data["accept_terms"] = "yes"
    return data


def test_the_form_takes_a_logo_file(client: Any, engine: Engine) -> None:
    response = client.post(
        "/partners/register",
        content_type="multipart/form-data",
        data={**html_form(), "logo": (io.BytesIO(png_bytes()), "logo.png", "image/png")},
    )
    assert response.status_code == 303
    [registered] = of_type(engine, "partner.registered")
    with engine.connect() as conn:
        key = lifecycle.get(conn, registered.subject)["logo_key"]
    assert key.startswith("partners/logos/") and key.endswith(".png")


@pytest.mark.parametrize(
    "data, label", [(oversized_png(), "image/png"), (SVG, "image/svg+xml"), (SVG, "image/png")]
)
def test_the_form_shows_a_refused_logo_beside_its_field(
    client: Any, engine: Engine, data: bytes, label: str
) -> None:
    response = client.post(
        "/partners/register",
        content_type="multipart/form-data",
        data={**html_form(), "logo": (io.BytesIO(data), "logo", label)},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-logo-error"' in html
    assert 'value="Riverside Academy"' in html  # the rest is kept
    assert of_type(engine, "partner.registered") == []


def test_an_accepted_logo_survives_a_form_with_other_mistakes(client: Any, engine: Engine) -> None:
    first = client.post(
        "/partners/register",
        content_type="multipart/form-data",
        data={**html_form(country="XX"), "logo": (io.BytesIO(png_bytes()), "logo.png", "image/png")},
    )
    assert first.status_code == 422
    html = first.get_data(as_text=True)
    assert "Your logo has been received" in html
    key = html.split('name="logo_key" value="')[1].split('"')[0]
    second = client.post("/partners/register", data={**html_form(), "logo_key": key})
    assert second.status_code == 303
    [registered] = of_type(engine, "partner.registered")
    with engine.connect() as conn:
        assert lifecycle.get(conn, registered.subject)["logo_key"] == key


# --- S3, through moto's server ----------------------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, s3_bucket: str, partners_env: Path) -> Any:  # noqa: F811
    monkeypatch.setenv("MEDIA_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", s3_bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("S3_PUBLIC_BASE_URL", f"{moto_endpoint}/{s3_bucket}")
    return boto3.client("s3", endpoint_url=moto_endpoint), s3_bucket


def s3_upload(form: dict[str, Any], data: bytes, content_type: str) -> requests.Response:
    fields = dict(form["fields"])
    fields.setdefault("Content-Type", content_type)
    return requests.post(form["url"], data=fields, files={"file": ("logo", data, content_type)}, timeout=30)


def s3_keys(s3: Any) -> set[str]:
    client, bucket = s3
    return {item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_s3_logo_upload_is_used(
    s3: Any,
    app: Flask,
    client: Any,
    engine: Engine,
    moto_endpoint: str,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    form = presign(client)
    assert form["url"].startswith(moto_endpoint)
    assert "policy" in form["fields"] and "x-amz-signature" in form["fields"]
    assert s3_upload(form, png_bytes(), "image/png").status_code in (200, 201, 204)
    response = register_with_logo(client, form["key"])
    assert response.status_code == 201
    partner_id = response.get_json()["id"]
    verify(client, engine, partner_id)
    approve(app, partner_id)
    [approved] = of_type(engine, "partner.approved")
    assert approved.data["logo_url"] == f"{moto_endpoint}/{s3_bucket}/{form['key']}"
    assert form["key"] in s3_keys(s3)
    # /partners/media/<key> sends a browser on to the bucket.
    assert client.get(f"/partners/media/{form['key']}").location == approved.data["logo_url"]


def test_s3_three_megabytes_is_refused_and_deleted(s3: Any, client: Any, engine: Engine) -> None:
    form = presign(client, content_type="image/png")
    uploaded = s3_upload(form, oversized_png(), "image/png")
    # Real S3 refuses it (content-length-range); moto lets it in, so our check has to catch it.
    response = register_with_logo(client, form["key"])
    assert response.status_code == 422
    assert "logo_key" in response.get_json()["errors"]
    assert form["key"] not in s3_keys(s3)
    assert uploaded.status_code < 300 or uploaded.status_code == 400
    assert of_type(engine, "partner.registered") == []


@pytest.mark.parametrize("label", ["image/svg+xml", "image/png"])
def test_s3_svg_is_refused_and_deleted(s3: Any, client: Any, label: str) -> None:
    form = presign(client)
    s3_upload(form, SVG, label)
    response = register_with_logo(client, form["key"])
    assert response.status_code == 422
    assert form["key"] not in s3_keys(s3)


def test_s3_withdrawal_deletes_the_logo(s3: Any, app: Flask, client: Any, engine: Engine) -> None:
    form = presign(client)
    s3_upload(form, png_bytes(), "image/png")
    partner_id = register_with_logo(client, form["key"]).get_json()["id"]
    assert form["key"] in s3_keys(s3)
    lifecycle.withdraw(engine, partner_id, by="partner")
    assert form["key"] not in s3_keys(s3)
