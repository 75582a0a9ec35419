"""Staff review: the queue and its filters, approve (with the welcome email and badge), reject with a reason, edit
the listing, withdraw; and who may do it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from nmd_partners import lifecycle
from nmd_runtime.staff import sign_in_test_client
from sqlalchemy import Engine

from tests.partners.conftest import PUBLIC, approve, of_type, register, verify


@pytest.fixture
def staff(app: Flask) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, sign_in_test_client(client, "partnerships", username="pat")


@pytest.fixture
def verified(client: Any, engine: Engine) -> str:
    partner_id = register(client)
    verify(client, engine, partner_id)
    return partner_id


def test_approval_publishes_the_public_profile_and_sends_the_badge(
    staff: tuple[FlaskClient, str], engine: Engine, verified: str
) -> None:
    client, csrf = staff
    response = client.post(f"/partners/staff/{verified}/approve", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert "Approved" in client.get(response.location).get_data(as_text=True)

    [approved] = of_type(engine, "partner.approved")
    assert approved.subject == verified
    profile = approved.data
    assert profile["slug"] == "riverside-academy"
    assert profile["profile_url"] == f"{PUBLIC}/partner/riverside-academy"
    assert profile["name"] == "Riverside Academy" and profile["type"] == "school" and profile["country"] == "GB"
    assert profile["website"] == "https://www.riverside-academy.example.org/"
    assert profile["approved_at"]
    assert not {"contact_name", "contact_email", "contact_phone"} & set(profile)

    welcome = [e for e in of_type(engine, "email.requested") if e.data["template"] == "partner_approved"]
    assert len(welcome) == 1
    context = welcome[0].data["context"]
    assert context["profile_url"] == profile["profile_url"]
    assert context["badge_url"] == f"{PUBLIC}/partners/badges/riverside-academy.png"
    assert f'href="{profile["profile_url"]}"' in context["badge_html"]
    assert "/partners/badges/riverside-academy.svg" in context["badge_html"]
    assert context["manage_url"].startswith(f"{PUBLIC}/partners/manage/")
    for key in ("organisation_name", "contact_name"):  # what the newsletter's template renders
        assert context[key]

    # Approving twice is refused, and publishes nothing more.
    again = client.post(f"/api/partners/staff/applications/{verified}/approve", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409
    assert len(of_type(engine, "partner.approved")) == 1


def test_an_unverified_application_cannot_be_approved(app: Flask, client: Any, engine: Engine) -> None:
    partner_id = register(client)
    response = approve(app, partner_id)
    assert response.status_code == 409
    assert "confirmed" in response.get_json()["message"]
    assert of_type(engine, "partner.approved") == []


def test_reject_needs_a_reason_and_tells_the_applicant(
    staff: tuple[FlaskClient, str], engine: Engine, verified: str
) -> None:
    client, csrf = staff
    missing = client.post(f"/partners/staff/{verified}/reject", data={"csrf_token": csrf, "reason": " "})
    assert missing.status_code == 422
    assert 'id="f-reason-error"' in missing.get_data(as_text=True)
    assert of_type(engine, "partner.rejected") == []

    reason = "We could not find this organisation at the address given."
    done = client.post(f"/partners/staff/{verified}/reject", data={"csrf_token": csrf, "reason": reason})
    assert done.status_code == 303
    [rejected] = of_type(engine, "partner.rejected")
    assert rejected.data["reason"] == reason
    [email] = [e for e in of_type(engine, "email.requested") if e.data["template"] == "partner_rejected"]
    assert email.data["context"]["reason"] == reason
    assert email.data["context"]["organisation_name"] == "Riverside Academy"
    # A rejected application cannot then be approved.
    assert client.post(f"/partners/staff/{verified}/approve", data={"csrf_token": csrf}).status_code == 409


def test_reject_through_the_json_api(staff: tuple[FlaskClient, str], engine: Engine, verified: str) -> None:
    client, csrf = staff
    url = f"/api/partners/staff/applications/{verified}/reject"
    assert client.post(url, json={}, headers={"X-CSRF-Token": csrf}).status_code == 422
    response = client.post(url, json={"reason": "Not an organisation."}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert response.get_json()["reviewed_by"] == "pat"


def test_the_queue_filters_by_status_country_and_type(
    staff: tuple[FlaskClient, str], client: Any, engine: Engine
) -> None:
    school = register(client)
    verify(client, engine, school)
    charity = register(
        client,
        name="Helping Hands",
        type="charity",
        country="IE",
        website="https://hh.example.org",
        contact_email="hh@example.org",
    )
    verify(client, engine, charity)
    register(
        client,
        name="Unverified Ltd",
        type="business",
        website="https://unverified.example.org",
        contact_email="u@example.org",
    )
    staff_client, _csrf = staff

    page = staff_client.get("/partners/staff/").get_data(as_text=True)  # default: waiting for review
    assert "Riverside Academy" in page and "Helping Hands" in page and "Unverified Ltd" not in page
    page = staff_client.get("/partners/staff/?status=pending_review&country=IE").get_data(as_text=True)
    assert "Helping Hands" in page and "Riverside Academy" not in page
    page = staff_client.get("/partners/staff/?status=all&type=business").get_data(as_text=True)
    assert "Unverified Ltd" in page and "Helping Hands" not in page
    assert staff_client.get("/partners/staff/?country=ZZ").status_code == 200  # a bad filter is shown, not a 500

    api = staff_client.get("/api/partners/staff/applications?status=pending_review&type=charity").get_json()
    assert [item["name"] for item in api["items"]] == ["Helping Hands"]
    assert api["items"][0]["contact_email"] == "hh@example.org"
    assert staff_client.get("/api/partners/staff/applications?status=nope").status_code == 422


def test_edit_the_listing_of_an_approved_partner(
    app: Flask, staff: tuple[FlaskClient, str], engine: Engine, verified: str
) -> None:
    approve(app, verified)
    client, csrf = staff
    form = client.get(f"/partners/staff/{verified}/edit").get_data(as_text=True)
    assert 'value="Riverside Academy"' in form and 'name="csrf_token"' in form

    bad = client.post(
        f"/partners/staff/{verified}/edit",
        data={
            "csrf_token": csrf,
            "name": "",
            "type": "school",
            "website": "https://riverside-academy.example.org",
            "country": "GB",
            "size_band": "250-999",
            "pledge": "A pledge long enough.",
        },
    )
    assert bad.status_code == 422
    assert 'id="f-name-error"' in bad.get_data(as_text=True)

    response = client.post(
        f"/partners/staff/{verified}/edit",
        data={
            "csrf_token": csrf,
            "name": "Riverside Academy Trust",
            "type": "school",
            "website": "https://riverside-academy.example.org",
            "country": "GB",
            "region": "Kent",
            "size_band": "1000+",
            "pledge": "Mentoring for every sixth former, all day.",
        },
    )
    assert response.status_code == 303
    [updated] = of_type(engine, "partner.updated")
    assert updated.data["name"] == "Riverside Academy Trust"
    assert updated.data["size_band"] == "1000+"
    assert updated.data["slug"] == "riverside-academy"  # links keep working after a rename

    # The JSON equivalent, partial.
    patched = client.patch(
        f"/api/partners/staff/applications/{verified}", json={"region": "Medway"}, headers={"X-CSRF-Token": csrf}
    )
    assert patched.status_code == 200 and patched.get_json()["region"] == "Medway"
    assert len(of_type(engine, "partner.updated")) == 2
    # Saving without a change publishes nothing.
    client.patch(
        f"/api/partners/staff/applications/{verified}", json={"region": "Medway"}, headers={"X-CSRF-Token": csrf}
    )
    assert len(of_type(engine, "partner.updated")) == 2


def test_editing_a_pending_application_publishes_nothing(
    staff: tuple[FlaskClient, str], engine: Engine, verified: str
) -> None:
    client, csrf = staff
    response = client.patch(
        f"/api/partners/staff/applications/{verified}",
        json={"name": "Riverside School"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200
    assert of_type(engine, "partner.updated") == []


def test_staff_withdraw_removes_the_partner(
    app: Flask, staff: tuple[FlaskClient, str], engine: Engine, verified: str
) -> None:
    approve(app, verified)
    client, csrf = staff
    response = client.post(f"/partners/staff/{verified}/withdraw", data={"csrf_token": csrf})
    assert response.status_code == 303
    [withdrawn] = of_type(engine, "partner.withdrawn")
    assert withdrawn.subject == verified
    detail = client.get(f"/api/partners/staff/applications/{verified}").get_json()
    assert detail["status"] == "withdrawn" and detail["withdrawn_by"] == "staff"
    assert detail["contact_email"] is None and detail["contact_name"] is None
    assert client.get("/api/partners/riverside-academy").status_code == 404


def test_the_detail_page_offers_the_actions_with_csrf_tokens(
    staff: tuple[FlaskClient, str], verified: str
) -> None:
    client, csrf = staff
    html = client.get(f"/partners/staff/{verified}").get_data(as_text=True)
    for action in ("approve", "reject", "withdraw"):
        form = re.search(
            rf'<form method="post" action="/partners/staff/{verified}/{action}".*?</form>', html, re.S
        )
        assert form, action
        assert f'name="csrf_token" value="{csrf}"' in form.group(0)
    assert "ada@riverside-academy.example.org" in html


# --- who may review ---------------------------------------------------------------------------------------


def test_a_moderator_only_account_cannot_approve(app: Flask, engine: Engine, verified: str) -> None:
    client = app.test_client()
    csrf = sign_in_test_client(client, "moderator", username="mo")
    page = client.post(f"/partners/staff/{verified}/approve", data={"csrf_token": csrf})
    assert page.status_code == 403
    api = client.post(f"/api/partners/staff/applications/{verified}/approve", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403
    assert "partnerships" in api.get_json()["message"]
    assert client.get("/partners/staff/").status_code == 403
    assert of_type(engine, "partner.approved") == []
    with engine.connect() as conn:
        assert lifecycle.get(conn, verified)["status"] == "pending_review"


def test_an_admin_may_approve(app: Flask, engine: Engine, verified: str) -> None:
    assert approve(app, verified, roles=("admin",)).status_code == 200
    assert len(of_type(engine, "partner.approved")) == 1


def test_a_staff_post_without_the_csrf_token_is_refused(
    staff: tuple[FlaskClient, str], engine: Engine, verified: str
) -> None:
    client, _csrf = staff
    assert client.post(f"/partners/staff/{verified}/approve").status_code == 400
    assert client.post(f"/api/partners/staff/applications/{verified}/approve").status_code == 400
    assert client.post(f"/partners/staff/{verified}/approve", data={"csrf_token": "forged"}).status_code == 400
    assert of_type(engine, "partner.approved") == []


def test_unknown_applications_are_404(staff: tuple[FlaskClient, str]) -> None:
    client, csrf = staff
    assert client.get("/partners/staff/not-a-uuid").status_code == 404
    assert client.get("/partners/staff/00000000-0000-4000-8000-000000000000").status_code == 404
    assert (
        client.post(
            "/api/partners/staff/applications/00000000-0000-4000-8000-000000000000/approve",
            headers={"X-CSRF-Token": csrf},
        ).status_code
        == 404
    )
