"""schemathesis against the service's own OpenAPI document: no 5xx, and every answer matches the document.

Run twice: as an anonymous client (every public operation in depth, the staff ones refused), and as a signed-in
partnerships member with a CSRF token (the staff operations in depth), on a database holding a few applications.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import strategies as st
from nmd_partners import lifecycle, links
from nmd_runtime.staff import sign_in_test_client
from sqlalchemy import Engine

from tests.api_conformance import exercise, operations
from tests.partners.conftest import approve, register, verify

EXPECTED = {
    ("GET", "/api/partners"),
    ("POST", "/api/partners"),
    ("POST", "/api/partners/logo-uploads"),
    ("POST", "/api/partners/verification"),
    ("POST", "/api/partners/verification/resend"),
    ("GET", "/api/partners/{slug}"),
    ("GET", "/api/partners/{slug}/badge"),
    ("GET", "/api/partners/manage/{token}"),
    ("PATCH", "/api/partners/manage/{token}"),
    ("POST", "/api/partners/manage/{token}/withdraw"),
    ("GET", "/api/partners/staff/applications"),
    ("GET", "/api/partners/staff/applications/{partner_id}"),
    ("PATCH", "/api/partners/staff/applications/{partner_id}"),
    ("POST", "/api/partners/staff/applications/{partner_id}/approve"),
    ("POST", "/api/partners/staff/applications/{partner_id}/reject"),
    ("POST", "/api/partners/staff/applications/{partner_id}/withdraw"),
}


@pytest.fixture
def populated(app: Flask, client: Any, engine: Engine) -> dict[str, list[str]]:
    """A few applications, and path parameters that reach them (random ones mostly find nothing)."""
    approved = register(client)
    verify(client, engine, approved)
    approve(app, approved)
    waiting = register(
        client,
        name="Hillside College",
        website="https://hillside.example.org",
        contact_email="h@example.org",
        type="college",
    )
    verify(client, engine, waiting)
    unverified = register(
        client,
        name="Dublin Mentors",
        website="https://dublin.example.org",
        contact_email="d@example.org",
        country="IE",
    )
    ids = [approved, waiting, unverified]
    with engine.connect() as conn:
        found = [lifecycle.get(conn, partner_id) for partner_id in ids]
    return {
        "partner_id": ids,
        "slug": [p["slug"] for p in found],
        "token": [links.manage_token(p["id"], p["manage_nonce"]) for p in found],
    }


def _strategy(operation: Any, known: dict[str, list[str]]) -> Any:
    """Cases of the operation, half of them with a path parameter that exists."""
    strategy = operation.as_strategy()
    names = [name for name in known if "{" + name + "}" in operation.path]
    if not names:
        return strategy

    def use(pair: tuple[schemathesis.Case, str | None]) -> schemathesis.Case:
        case, value = pair
        if value is not None:
            case.path_parameters = {**(case.path_parameters or {}), names[0]: value}
        return case

    return st.tuples(strategy, st.one_of(st.none(), st.sampled_from(known[names[0]]))).map(use)


def _staff_session(app: Flask) -> Session:
    """A partnerships member's session cookie and CSRF header."""
    client = app.test_client()
    csrf = sign_in_test_client(client, "partnerships")
    cookie = client.get_cookie("nmd_session")
    assert cookie is not None
    return Session({"X-CSRF-Token": csrf}, {"nmd_session": cookie.value})


@dataclass
class Session:
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


def _run(
    app: Flask, known: dict[str, list[str]], session: Session, only_staff: bool, max_examples: int
) -> Counter[tuple[str, int]]:
    seen: Counter[tuple[str, int]] = Counter()
    for operation in operations(app, "/partners/openapi.json", EXPECTED):
        if only_staff and not operation.path.startswith("/api/partners/staff"):
            continue
        statuses = exercise(
            operation,
            max_examples=max_examples,
            strategy=_strategy(operation, known),
            headers=session.headers,
            cookies=session.cookies,
        )
        seen.update({(operation.path, status): count for status, count in statuses.items()})
    return seen


def test_anonymous_callers_get_no_5xx_and_nothing_off_schema(app: Flask, populated: dict[str, list[str]]) -> None:
    seen = _run(app, populated, Session(), only_staff=False, max_examples=40)
    # The run reached past validation: registrations were made, and known partners were found.
    assert seen[("/api/partners", 201)] > 0
    assert seen[("/api/partners/{slug}", 200)] > 0
    assert seen[("/api/partners/staff/applications", 401)] > 0


def test_staff_callers_get_no_5xx_and_nothing_off_schema(app: Flask, populated: dict[str, list[str]]) -> None:
    seen = _run(app, populated, _staff_session(app), only_staff=True, max_examples=40)
    assert seen[("/api/partners/staff/applications", 200)] > 0
    assert seen[("/api/partners/staff/applications/{partner_id}", 200)] > 0


def test_the_document_is_served_with_interactive_docs(client: Any) -> None:
    document = client.get("/partners/openapi.json").get_json()
    assert document["info"]["title"] == "National Mentoring Day partners"
    assert client.get("/openapi.json").get_json() == document
    assert client.get("/partners/docs").status_code == 200
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200
