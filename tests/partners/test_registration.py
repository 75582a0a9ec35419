"""Registration: the JSON API and the HTML form, validation, duplicates, the honeypot and the rate limit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from nmd_partners import lifecycle
from nmd_partners.schemas import TERMS_VERSION
from nmd_partners.tables import partners
from nmd_runtime.web import HONEYPOT_FIELD
from sqlalchemy import Engine, select

from tests.partners.conftest import PUBLIC, approve, of_type, register, registration, verify


def stored(engine: Engine, partner_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(partners).where(partners.c.id == partner_id)).mappings().one())


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(partners.c.id)).all())


def form_data(**overrides: Any) -> dict[str, Any]:
    data = registration(**overrides)
    for box in ("listing_consent", "accept_terms"):
        if data.get(box) is True:
            data[box] = "yes"
        elif box in data and not data[box]:
            del data[box]
    data.setdefault("terms_version", TERMS_VERSION)
    return {k: v for k, v in data.items() if v is not None}


def field_errors(html: str) -> dict[str, str]:
    """{field: message} as shown beside each field (id f-<field>-error)."""
    return {
        m.group(1): re.sub(r"<[^>]+>", "", m.group(2)).replace("Error: ", "").strip()
        for m in re.finditer(r'id="f-([a-z_]+)-error">(.*?)</p>', html, re.S)
    }


# --- JSON API ---------------------------------------------------------------------------------------------


def test_registration_stores_the_application_and_emits_events(client: Any, engine: Engine) -> None:
    response = client.post("/api/partners", json=registration(), headers={"X-Correlation-ID": "reg-test-1"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "pending_verification"
    row = stored(engine, body["id"])
    assert row["status"] == "pending_verification"
    assert row["slug"] == "riverside-academy"
    assert row["website_domain"] == "riverside-academy.example.org"
    assert row["contact_email"] == "ada@riverside-academy.example.org"
    # Consent and terms: stored with the wording's version and the time.
    assert row["listing_consent"] is True and row["listing_consent_at"] is not None
    assert row["terms_version"] == TERMS_VERSION and row["terms_accepted_at"] is not None

    [registered] = of_type(engine, "partner.registered")
    assert registered.subject == body["id"]
    assert registered.correlationid == "reg-test-1"
    assert registered.data["name"] == "Riverside Academy" and registered.data["country"] == "GB"
    # No personal data on partners.events: it is kept forever.
    assert "ada" not in str(registered.data).lower()

    [email] = of_type(engine, "email.requested")
    assert email.data["template"] == "partner_verification"
    assert email.data["to"] == "ada@riverside-academy.example.org"
    context = email.data["context"]
    assert context["organisation_name"] == "Riverside Academy" and context["contact_name"] == "Ada Lovelace"
    assert context["verify_url"].startswith(f"{PUBLIC}/partners/verify/")
    assert email.subject == email.data["idempotency_key"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"type": "pub"}, "type"),
        ({"website": "not a website"}, "website"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"country": "XX"}, "country"),
        ({"country": "GBR"}, "country"),
        ({"size_band": "huge"}, "size_band"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"pledge": "x" * 1001}, "pledge"),
        ({"pledge": ""}, "pledge"),
        ({"listing_consent": False}, "listing_consent"),
        ({"accept_terms": False}, "accept_terms"),
        ({"terms_version": "1999-01-01"}, "terms_version"),
        ({"name": "Bad\x00Name"}, "name"),
        ({"unexpected": "field"}, "unexpected"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: Any, engine: Engine, changes: dict[str, Any], field: str
) -> None:
    response = client.post("/api/partners", json=registration(**changes))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count(engine) == 0
    assert of_type(engine, "partner.registered") == []


def test_missing_fields_are_each_named(client: Any) -> None:
    errors = client.post("/api/partners", json={}).get_json()["errors"]
    for field in (
        "name",
        "type",
        "website",
        "country",
        "size_band",
        "pledge",
        "contact_name",
        "contact_email",
        "listing_consent",
        "accept_terms",
    ):
        assert field in errors, field
    for optional in ("region", "contact_phone", "logo_key"):
        assert optional not in errors


def test_a_bare_domain_is_read_as_https(client: Any, engine: Engine) -> None:
    partner_id = register(client, website="riverside.example.org", region="", contact_phone="")
    row = stored(engine, partner_id)
    assert row["website"] == "https://riverside.example.org"
    assert row["region"] is None and row["contact_phone"] is None


def test_the_pledge_may_be_a_thousand_characters(client: Any, engine: Engine) -> None:
    partner_id = register(client, pledge="a" * 1000)
    assert len(stored(engine, partner_id)["pledge"]) == 1000


# --- duplicates -------------------------------------------------------------------------------------------


def test_the_same_contact_email_is_a_409_saying_what_to_do(client: Any, engine: Engine) -> None:
    register(client)
    again = client.post(
        "/api/partners",
        json=registration(
            website="https://another.example.org", contact_email="ADA@Riverside-Academy.example.org"
        ),
    )
    assert again.status_code == 409
    body = again.get_json()
    assert "contact_email" in body["errors"]
    assert "/partners/verify/resend" in body["message"]
    assert count(engine) == 1


@pytest.mark.parametrize(
    "website",
    [
        "http://riverside-academy.example.org",
        "https://RIVERSIDE-ACADEMY.example.org/about",
        "riverside-academy.example.org:443/x",
    ],
)
def test_the_same_website_domain_is_a_409(client: Any, engine: Engine, website: str) -> None:
    verify(client, engine, register(client))
    again = client.post("/api/partners", json=registration(website=website, contact_email="other@example.org"))
    assert again.status_code == 409
    assert "website" in again.get_json()["errors"]


def test_a_duplicate_of_an_approved_partner_points_to_the_manage_link(
    client: Any, app: Flask, engine: Engine
) -> None:
    partner_id = register(client)
    verify(client, engine, partner_id)
    assert approve(app, partner_id).status_code == 200
    again = client.post("/api/partners", json=registration(contact_email="bob@example.org"))
    assert again.status_code == 409
    assert "manage link" in again.get_json()["message"]


def test_a_rejected_or_withdrawn_application_does_not_block_a_new_one(client: Any, engine: Engine) -> None:
    first = register(client)
    lifecycle.withdraw(engine, first, by="partner")
    second = register(client)
    assert second != first
    # The slug of the withdrawn one stays taken: links to it must not point at someone else.
    assert stored(engine, second)["slug"] == "riverside-academy-2"


def test_shared_platforms_are_told_apart_by_their_path(client: Any, engine: Engine) -> None:
    first = register(client, website="https://www.facebook.com/riversidegroup", contact_email="a@example.org")
    verify(client, engine, first)
    register(
        client, name="Hillside Group", website="https://facebook.com/hillsidegroup", contact_email="b@example.org"
    )
    clash = client.post(
        "/api/partners",
        json=registration(website="https://m.facebook.com/riversidegroup/about", contact_email="c@example.org"),
    )
    # m.facebook.com is its own host, so only facebook.com paths clash with facebook.com paths.
    assert clash.status_code == 201
    same = client.post(
        "/api/partners",
        json=registration(website="https://facebook.com/RiversideGroup/", contact_email="d@example.org"),
    )
    assert same.status_code == 409


def test_website_identity() -> None:
    assert lifecycle.website_identity("https://www.Example.org:8443/a/b") == "example.org"
    assert (
        lifecycle.website_identity("https://www.gov.uk/government/organisations/dfe/x")
        == "gov.uk/government/organisations/dfe"
    )
    assert lifecycle.website_identity("https://sub.example.org") == "sub.example.org"


# --- slugs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, slug",
    [
        ("St. Mary's C of E School", "st-marys-c-of-e-school"),
        ("Café Crème & Co", "cafe-creme-and-co"),
        ("北京大学", "organisation"),
        ("  --Weird__Name--  ", "weird-name"),
        ("Staff", "staff-2"),
    ],
)
def test_slugs_are_url_safe_and_unique(client: Any, engine: Engine, name: str, slug: str) -> None:
    partner_id = register(client, name=name)
    got = stored(engine, partner_id)["slug"]
    assert got == slug
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", got)


def test_the_same_name_gets_a_numbered_slug(client: Any, engine: Engine) -> None:
    first = register(client)
    second = register(client, website="https://riverside-two.example.org", contact_email="b@example.org")
    third = register(client, website="https://riverside-three.example.org", contact_email="c@example.org")
    assert [stored(engine, p)["slug"] for p in (first, second, third)] == [
        "riverside-academy",
        "riverside-academy-2",
        "riverside-academy-3",
    ]


# --- bots -------------------------------------------------------------------------------------------------


def test_the_honeypot_looks_like_success_and_stores_nothing(client: Any, engine: Engine) -> None:
    response = client.post("/api/partners", json=registration(**{HONEYPOT_FIELD: "http://spam.example"}))
    assert response.status_code == 201
    assert response.get_json()["status"] == "pending_verification"
    form = client.post("/partners/register", data=form_data(**{HONEYPOT_FIELD: "spam"}))
    assert form.status_code == 303 and form.location.endswith("/partners/register/sent")
    assert count(engine) == 0
    assert of_type(engine, "email.requested") == []


def test_registrations_are_rate_limited_per_address(app: Flask, engine: Engine) -> None:
    app.config["RATE_LIMITS_ENABLED"] = True
    client = app.test_client()
    codes = [
        client.post("/api/partners", json={}, headers={"X-Forwarded-For": "198.51.100.9"}).status_code
        for _ in range(11)
    ]
    assert codes[:10] == [422] * 10
    assert codes[10] == 429
    # Another address is not held back.
    assert client.post("/api/partners", json={}, headers={"X-Forwarded-For": "198.51.100.10"}).status_code == 422
    page = [
        client.post("/partners/register", data={}, headers={"X-Forwarded-For": "198.51.100.11"}).status_code
        for _ in range(11)
    ]
    assert page[-1] == 429


# --- the HTML form ----------------------------------------------------------------------------------------


def test_the_form_page_has_every_field_and_no_session_cookie(client: Any) -> None:
    response = client.get("/partners/register")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in (
        "name",
        "type",
        "website",
        "country",
        "region",
        "size_band",
        "pledge",
        "contact_name",
        "contact_email",
        "contact_phone",
        "logo",
        "listing_consent",
        "accept_terms",
        "terms_version",
        HONEYPOT_FIELD,
    ):
        assert f'name="{name}"' in html, name
    assert 'enctype="multipart/form-data"' in html
    assert "<script" not in html.split("</head>")[1]  # the form needs no script
    assert "Set-Cookie" not in response.headers


def test_the_form_registers_and_redirects(client: Any, engine: Engine) -> None:
    response = client.post("/partners/register", data=form_data())
    assert response.status_code == 303
    assert response.location.endswith("/partners/register/sent")
    assert count(engine) == 1
    assert "Check your email" in client.get("/partners/register/sent").get_data(as_text=True)


def test_form_errors_are_shown_beside_their_fields_and_values_kept(client: Any, engine: Engine) -> None:
    data = form_data(country="XX", contact_email="nope", accept_terms=False)
    response = client.post("/partners/register", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = field_errors(html)
    assert set(errors) == {"country", "contact_email", "accept_terms"}
    assert "email address" in errors["contact_email"].lower()
    # What was typed is still there.
    assert 'value="Riverside Academy"' in html
    assert 'value="nope"' in html
    assert "Every sixth former will meet a mentor" in html
    assert '<option value="school" selected>' in html
    assert 'id="f-listing_consent" name="listing_consent" value="yes" checked' in html
    # The error summary links to each field.
    assert 'href="#f-country"' in html
    assert count(engine) == 0


def test_a_duplicate_through_the_form_is_shown_with_what_to_do(client: Any, engine: Engine) -> None:
    register(client)
    response = client.post("/partners/register", data=form_data(website="https://elsewhere.example.org"))
    assert response.status_code == 409
    errors = field_errors(response.get_data(as_text=True))
    assert "resend" in errors["contact_email"]
    assert count(engine) == 1


def test_an_unconfirmed_application_for_the_website_is_replaced_by_a_new_one(client: Any, engine: Engine) -> None:
    """A typing mistake in the email address must not lock the website out: the new application replaces it."""
    typo = register(client, contact_email="ada@riverside-acadmey.example.org")
    fixed = register(client, contact_email="ada@riverside-academy.example.org")
    assert stored(engine, typo)["status"] == "withdrawn"
    assert stored(engine, typo)["withdrawn_by"] == "superseded"
    assert stored(engine, typo)["contact_email"] is None
    assert stored(engine, fixed)["status"] == "pending_verification"
    assert [e.subject for e in of_type(engine, "partner.withdrawn")] == [typo]


def test_a_confirmed_application_is_not_replaced(client: Any, engine: Engine) -> None:
    first = register(client)
    verify(client, engine, first)
    again = client.post("/api/partners", json=registration(contact_email="someone.else@example.org"))
    assert again.status_code == 409
    assert "partnerships team" in again.get_json()["message"]
    assert stored(engine, first)["status"] == "pending_review"


def test_unconfirmed_applications_lapse_after_thirty_days(client: Any, engine: Engine) -> None:
    from datetime import timedelta

    partner_id = register(client)
    assert lifecycle.lapse_unverified(engine) == 0  # the link went out just now
    assert lifecycle.lapse_unverified(engine, older_than=timedelta(0)) == 1
    row = stored(engine, partner_id)
    assert row["status"] == "withdrawn" and row["withdrawn_by"] == "lapsed"
    assert row["contact_email"] is None and row["contact_name"] is None
    assert [e.subject for e in of_type(engine, "partner.withdrawn")] == [partner_id]
    # The address and the website are free again.
    register(client)


def test_terms_changed_while_the_form_was_open(client: Any, engine: Engine) -> None:
    response = client.post("/partners/register", data=form_data(terms_version="2020-01-01"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "terms have changed" in field_errors(html)["accept_terms"]
    assert f'name="terms_version" value="{TERMS_VERSION}"' in html
    assert 'name="accept_terms" value="yes" checked' not in html
    assert count(engine) == 0
