"""Self-service with the signed manage link: update the listing, withdraw (which revokes the link)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from nmd_partners import links
from sqlalchemy import Engine

from tests.partners.conftest import approve, of_type, register, token_from, verify


@pytest.fixture
def approved(app: Flask, client: Any, engine: Engine) -> tuple[str, str]:
    """(partner id, manage token from the welcome email)."""
    partner_id = register(client)
    verify(client, engine, partner_id)
    assert approve(app, partner_id).status_code == 200
    [welcome] = [e for e in of_type(engine, "email.requested") if e.data["template"] == "partner_approved"]
    return partner_id, token_from(welcome.data["context"]["manage_url"], "manage")


def listing_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "Riverside Academy",
        "type": "school",
        "website": "https://www.riverside-academy.example.org/",
        "country": "GB",
        "region": "Kent",
        "size_band": "250-999",
        "pledge": "Every sixth former will meet a mentor from a local employer on the day.",
        "contact_name": "Ada Lovelace",
        "contact_phone": "",
    }
    return form | changes


def test_the_manage_page_shows_the_listing_and_the_badge(client: Any, approved: tuple[str, str]) -> None:
    _partner_id, token = approved
    response = client.get(f"/partners/manage/{token}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="Riverside Academy"' in html
    assert "/partners/badges/riverside-academy.svg" in html
    assert "Set-Cookie" not in response.headers


def test_the_partner_updates_the_listing(client: Any, engine: Engine, approved: tuple[str, str]) -> None:
    partner_id, token = approved
    response = client.post(
        f"/partners/manage/{token}", data=listing_form(pledge="A new, better pledge for the day.")
    )
    assert response.status_code == 303
    assert "saved" in client.get(response.location).get_data(as_text=True)
    [updated] = of_type(engine, "partner.updated")
    assert updated.subject == partner_id
    assert updated.data["pledge"] == "A new, better pledge for the day."
    assert updated.data["profile_url"].endswith("/partner/riverside-academy")

    # Changing only the contact's phone is private: no event.
    client.post(
        f"/partners/manage/{token}",
        data=listing_form(pledge="A new, better pledge for the day.", contact_phone="+44 1632 960000"),
    )
    assert len(of_type(engine, "partner.updated")) == 1


def test_form_errors_on_the_manage_page(client: Any, engine: Engine, approved: tuple[str, str]) -> None:
    _partner_id, token = approved
    response = client.post(f"/partners/manage/{token}", data=listing_form(website="", country="XX"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-website-error"' in html and 'id="f-country-error"' in html
    assert of_type(engine, "partner.updated") == []


def test_a_website_taken_by_another_partner_is_a_conflict(
    client: Any, engine: Engine, approved: tuple[str, str]
) -> None:
    _partner_id, token = approved
    register(client, name="Other", website="https://other.example.org", contact_email="o@example.org")
    response = client.patch(f"/api/partners/manage/{token}", json={"website": "http://www.other.example.org/x"})
    assert response.status_code == 409
    assert "website" in response.get_json()["errors"]


def test_the_json_api_reads_and_patches(client: Any, approved: tuple[str, str]) -> None:
    partner_id, token = approved
    got = client.get(f"/api/partners/manage/{token}").get_json()
    assert got["id"] == partner_id and got["status"] == "approved"
    assert "contact_email" not in got  # the link holder sees no address (links get forwarded)
    patched = client.patch(f"/api/partners/manage/{token}", json={"region": "Medway"})
    assert patched.status_code == 200 and patched.get_json()["region"] == "Medway"
    assert client.patch(f"/api/partners/manage/{token}", json={"country": "XX"}).status_code == 422


def test_withdrawal_removes_the_partner_and_revokes_the_link(
    client: Any, engine: Engine, approved: tuple[str, str]
) -> None:
    partner_id, token = approved
    confirm = client.get(f"/partners/manage/{token}/withdraw")
    assert confirm.status_code == 200
    assert re.search(
        rf'<form method="post" action="/partners/manage/{re.escape(token)}/withdraw"',
        confirm.get_data(as_text=True),
    )
    # Opening the confirmation page changed nothing.
    assert of_type(engine, "partner.withdrawn") == []

    done = client.post(f"/partners/manage/{token}/withdraw")
    assert done.status_code == 200
    [withdrawn] = of_type(engine, "partner.withdrawn")
    assert withdrawn.subject == partner_id and withdrawn.data == {
        "partner_id": partner_id,
        "withdrawn_at": withdrawn.data["withdrawn_at"],
    }

    assert client.get("/api/partners/riverside-academy").status_code == 404
    assert client.get("/partners/badges/riverside-academy.svg").status_code == 404
    assert client.get(f"/partners/manage/{token}").status_code == 410
    assert client.get(f"/api/partners/manage/{token}").status_code == 410
    # Withdrawing twice publishes nothing more.
    client.post(f"/api/partners/manage/{token}/withdraw")
    assert len(of_type(engine, "partner.withdrawn")) == 1


def test_withdrawing_through_the_json_api(client: Any, engine: Engine, approved: tuple[str, str]) -> None:
    partner_id, token = approved
    response = client.post(f"/api/partners/manage/{token}/withdraw")
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert [e.subject for e in of_type(engine, "partner.withdrawn")] == [partner_id]


def test_a_pending_applicant_may_withdraw_too(client: Any, engine: Engine) -> None:
    partner_id = register(client)
    [email] = of_type(engine, "email.requested")
    token = token_from(email.data["context"]["manage_url"], "manage")
    assert client.post(f"/api/partners/manage/{token}/withdraw").status_code == 200
    assert [e.subject for e in of_type(engine, "partner.withdrawn")] == [partner_id]


@pytest.mark.parametrize("token", ["nonsense", links.verify_token("x", "y")])
def test_bad_manage_links(client: Any, token: str) -> None:
    assert client.get(f"/partners/manage/{token}").status_code == 404
    assert client.post(f"/partners/manage/{token}/withdraw").status_code == 404
    assert client.patch(f"/api/partners/manage/{token}", json={}).status_code == 404


def test_a_new_logo_is_kept_when_the_rest_of_the_form_has_mistakes(
    client: Any, engine: Engine, approved: tuple[str, str]
) -> None:
    import io

    from tests.partners.conftest import png_bytes

    _partner_id, token = approved
    first = client.post(
        f"/partners/manage/{token}",
        content_type="multipart/form-data",
        data={**listing_form(country="XX"), "logo": (io.BytesIO(png_bytes()), "logo.png", "image/png")},
    )
    assert first.status_code == 422
    key = first.get_data(as_text=True).split('name="logo_key" value="')[1].split('"')[0]
    second = client.post(f"/partners/manage/{token}", data={**listing_form(), "logo_key": key})
    assert second.status_code == 303
    [updated] = of_type(engine, "partner.updated")
    assert updated.data["logo_url"].endswith(key)
