"""Email verification: a signed link valid for 72 hours, a button to confirm, and a way to get a new link."""

from __future__ import annotations

import time
from typing import Any

import itsdangerous.timed
import pytest
from nmd_partners import links
from sqlalchemy import Engine

from tests.partners.conftest import of_type, register, token_from, verification_url


def _old_token(monkeypatch: pytest.MonkeyPatch, partner_id: str, hours: float) -> str:
    """A verification token signed `hours` ago."""
    with monkeypatch.context() as patch:
        patch.setattr(
            itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(time.time() - hours * 3600)
        )
        return links.verify_token(partner_id, "old")


def test_the_link_shows_a_button_and_the_button_confirms(client: Any, engine: Engine) -> None:
    partner_id = register(client)
    token = token_from(verification_url(engine, partner_id), "verify")
    page = client.get(f"/partners/verify/{token}")
    assert page.status_code == 200
    assert f'action="/partners/verify/{token}"' in page.get_data(as_text=True)
    # Opening the link (a mail scanner does) confirms nothing.
    assert of_type(engine, "partner.email_verified") == []

    done = client.post(f"/partners/verify/{token}")
    assert done.status_code == 200
    assert "confirmed" in done.get_data(as_text=True)
    [verified] = of_type(engine, "partner.email_verified")
    assert verified.subject == partner_id and verified.data["partner_id"] == partner_id

    # A second press is harmless: nothing new is published.
    again = client.post(f"/partners/verify/{token}")
    assert again.status_code == 200 and "already confirmed" in again.get_data(as_text=True)
    assert len(of_type(engine, "partner.email_verified")) == 1


def test_the_json_api_confirms_too(client: Any, engine: Engine) -> None:
    partner_id = register(client)
    token = token_from(verification_url(engine, partner_id), "verify")
    response = client.post("/api/partners/verification", json={"token": token})
    assert response.status_code == 200
    assert response.get_json()["status"] == "pending_review"


def test_a_link_is_good_for_72_hours(client: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    partner_id = register(client)
    fresh_enough = _old_token(monkeypatch, partner_id, 71.5)
    assert client.post("/api/partners/verification", json={"token": fresh_enough}).status_code == 200


def test_an_expired_link_offers_a_new_one(client: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    partner_id = register(client)
    expired = _old_token(monkeypatch, partner_id, 73)
    api = client.post("/api/partners/verification", json={"token": expired})
    assert api.status_code == 410
    page = client.get(f"/partners/verify/{expired}")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "expired" in html and f'value="{expired}"' in html
    assert of_type(engine, "partner.email_verified") == []

    # The page's button sends a fresh link, by the expired token alone.
    before = len(of_type(engine, "email.requested"))
    resent = client.post("/partners/verify/resend", data={"token": expired})
    assert resent.status_code == 200
    emails = of_type(engine, "email.requested")
    assert len(emails) == before + 1
    fresh = token_from(emails[-1].data["context"]["verify_url"], "verify")
    assert client.post(f"/partners/verify/{fresh}").status_code == 200


@pytest.mark.parametrize("token", ["nonsense", "a" * 300, "eyJwIjoiMSJ9.bad.sig"])
def test_a_bad_link_is_a_404(client: Any, token: str) -> None:
    assert client.get(f"/partners/verify/{token}").status_code == 404
    assert client.post(f"/partners/verify/{token}").status_code == 404
    assert client.post("/api/partners/verification", json={"token": token}).status_code == 404


def test_a_manage_token_is_not_a_verify_token(client: Any, engine: Engine) -> None:
    partner_id = register(client)
    manage = links.manage_token(partner_id, "whatever")
    assert client.post("/api/partners/verification", json={"token": manage}).status_code == 404


def test_resend_by_email_says_the_same_whether_or_not_it_exists(client: Any, engine: Engine) -> None:
    register(client)
    before = len(of_type(engine, "email.requested"))
    known = client.post("/api/partners/verification/resend", json={"email": "Ada@Riverside-Academy.example.org"})
    unknown = client.post("/api/partners/verification/resend", json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    emails = of_type(engine, "email.requested")
    assert len(emails) == before + 1
    # Each send has its own idempotency key, so the mailer sends the resend too.
    assert len({e.data["idempotency_key"] for e in emails}) == len(emails)


def test_resend_needs_an_email_or_a_token(client: Any) -> None:
    response = client.post("/api/partners/verification/resend", json={})
    assert response.status_code == 422
    assert "email" in response.get_json()["errors"]
    page = client.post("/partners/verify/resend", data={"email": "not an email"})
    assert page.status_code == 422
    assert 'id="f-email-error"' in page.get_data(as_text=True)


def test_no_resend_once_verified(client: Any, engine: Engine) -> None:
    partner_id = register(client)
    token = token_from(verification_url(engine, partner_id), "verify")
    client.post(f"/partners/verify/{token}")
    before = len(of_type(engine, "email.requested"))
    client.post("/api/partners/verification/resend", json={"email": "ada@riverside-academy.example.org"})
    assert len(of_type(engine, "email.requested")) == before
