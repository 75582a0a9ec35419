"""The email.requested commands we send render with the newsletter mailer's templates (which refuse a missing
context key): the contract between this service and the mailer, checked from this side."""

from __future__ import annotations

from typing import Any

from flask import Flask
from nmd_newsletter.rendering import render_email
from nmd_runtime.staff import sign_in_test_client
from sqlalchemy import Engine

from tests.partners.conftest import approve, of_type, register, verify


def test_every_partner_email_renders(app: Flask, client: Any, engine: Engine) -> None:
    approved = register(client)
    verify(client, engine, approved)
    approve(app, approved)
    rejected = register(client, name="Nope Ltd", website="https://nope.example.org", contact_email="n@example.org")
    verify(client, engine, rejected)
    staff = app.test_client()
    csrf = sign_in_test_client(staff, "partnerships")
    staff.post(f"/partners/staff/{rejected}/reject", data={"csrf_token": csrf, "reason": "Not eligible, sorry."})

    commands = of_type(engine, "email.requested")
    assert sorted({c.data["template"] for c in commands}) == [
        "partner_approved",
        "partner_rejected",
        "partner_verification",
    ]
    for command in commands:
        subject, html, text = render_email(command.data["template"], command.data["context"])
        name = command.data["context"]["organisation_name"]
        assert name in subject or "partner application" in subject
        assert name in text
        if command.data["template"] == "partner_approved":
            assert command.data["context"]["profile_url"] in text
            assert "&lt;a href=" in html  # the badge snippet is shown as code, not rendered
