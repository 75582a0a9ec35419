"""The directory API (approved partners only, paginated, filters and search) and the partner badge."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from nmd_partners import badge, lifecycle
from PIL import Image
from sqlalchemy import Engine

from tests.partners.conftest import PUBLIC, approve, register, verify


def approved_partner(app: Flask, client: Any, engine: Engine, name: str, **fields: Any) -> str:
    slug = lifecycle.slugify(name)
    partner_id = register(
        client,
        name=name,
        website=f"https://{slug}.example.org",
        contact_email=f"contact@{slug}.example.org",
        **fields,
    )
    verify(client, engine, partner_id)
    assert approve(app, partner_id).status_code == 200
    return partner_id


@pytest.fixture
def directory(app: Flask, client: Any, engine: Engine) -> None:
    approved_partner(app, client, engine, "Riverside Academy", type="school", country="GB")
    approved_partner(app, client, engine, "Hillside College", type="college", country="GB")
    approved_partner(app, client, engine, "Dublin Mentors", type="charity", country="IE")
    approved_partner(app, client, engine, "Acme 100% Mentoring_Ltd", type="business", country="GB")
    pending = register(
        client, name="Pending School", website="https://pending.example.org", contact_email="p@example.org"
    )
    verify(client, engine, pending)


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_only_approved_partners_are_listed_by_name(client: Any, directory: None) -> None:
    body = client.get("/api/partners").get_json()
    assert [item["name"] for item in body["items"]] == [
        "Acme 100% Mentoring_Ltd",
        "Dublin Mentors",
        "Hillside College",
        "Riverside Academy",
    ]
    assert body["total"] == 4 and body["page"] == 1
    item = body["items"][-1]
    assert item["profile_url"] == f"{PUBLIC}/partner/riverside-academy"
    assert item["badge_url"] == f"{PUBLIC}/partners/badges/riverside-academy.svg"
    assert not {"contact_email", "contact_name", "contact_phone", "status"} & set(item)


def test_filters_and_search(client: Any, directory: None) -> None:
    assert names(client.get("/api/partners?country=IE")) == ["Dublin Mentors"]
    assert names(client.get("/api/partners?country=gb&type=college")) == ["Hillside College"]
    assert names(client.get("/api/partners?q=SIDE")) == ["Hillside College", "Riverside Academy"]
    # LIKE wildcards in a search are literal characters.
    assert names(client.get("/api/partners?q=100%25")) == ["Acme 100% Mentoring_Ltd"]
    assert names(client.get("/api/partners?q=_")) == ["Acme 100% Mentoring_Ltd"]
    assert names(client.get("/api/partners?q=pending")) == []


def test_pagination(client: Any, directory: None) -> None:
    first = client.get("/api/partners?page_size=3").get_json()
    second = client.get("/api/partners?page_size=3&page=2").get_json()
    assert len(first["items"]) == 3 and len(second["items"]) == 1
    assert first["total"] == second["total"] == 4
    assert client.get("/api/partners?page=99").get_json()["items"] == []


@pytest.mark.parametrize("query", ["country=XX", "type=pub", "page=0", "page_size=101", "page=abc"])
def test_bad_queries_are_422(client: Any, query: str) -> None:
    assert client.get(f"/api/partners?{query}").status_code == 422


def test_one_public_profile(client: Any, directory: None) -> None:
    profile = client.get("/api/partners/riverside-academy").get_json()
    assert profile["name"] == "Riverside Academy"
    assert client.get("/api/partners/pending-school").status_code == 404
    assert client.get("/api/partners/NOT%20A%20SLUG").status_code == 404


def test_the_badge_image_and_snippet(client: Any, directory: None) -> None:
    svg = client.get("/partners/badges/riverside-academy.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "Riverside Academy" in svg.get_data(as_text=True)
    assert "sandbox" in svg.headers["Content-Security-Policy"]

    png = client.get("/partners/badges/riverside-academy.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert Image.open(io.BytesIO(png.data)).size == (badge.WIDTH, badge.HEIGHT)

    snippet = client.get("/api/partners/riverside-academy/badge").get_json()
    assert snippet["html"].startswith(f'<a href="{PUBLIC}/partner/riverside-academy"')
    assert f'src="{PUBLIC}/partners/badges/riverside-academy.svg"' in snippet["html"]
    assert client.get("/partners/badges/pending-school.svg").status_code == 404
    assert client.get("/api/partners/pending-school/badge").status_code == 404


def test_the_badge_escapes_the_name() -> None:
    drawn = badge.svg('<script>alert("x")</script> & Sons')
    assert "<script>" not in drawn
    assert "&lt;script&gt;" in drawn
    html = lifecycle.links.badge_html("a-b", 'Evil" onload="x')
    assert 'onload="x' not in html


def test_long_names_fit_on_two_lines() -> None:
    lines = badge.name_lines("The Very Long Named Association of Mentoring Organisations of Greater Manchester")
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert badge.png("x" * 200)[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_event_pledge_is_cut_to_the_contract(app: Flask, client: Any, engine: Engine) -> None:
    from tests.partners.conftest import of_type

    long_pledge = ("We will run mentoring sessions for every pupil in year ten and eleven. " * 14)[:1000].strip()
    partner_id = approved_partner(app, client, engine, "Long Pledge School", pledge=long_pledge)
    [approved] = [e for e in of_type(engine, "partner.approved") if e.subject == partner_id]
    assert len(approved.data["pledge"]) <= lifecycle.PUBLIC_PLEDGE_MAX
    assert approved.data["pledge"].endswith("…")
    # The directory API has the whole pledge.
    assert client.get("/api/partners/long-pledge-school").get_json()["pledge"] == long_pledge
