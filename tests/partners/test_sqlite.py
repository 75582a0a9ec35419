"""The one-machine default: the same flow on a SQLite file (naive datetimes come back as UTC)."""

from __future__ import annotations

from pathlib import Path

from nmd_partners.app import create_app, make_engine
from nmd_runtime.staff import sign_in_test_client

from tests.partners.conftest import approve, of_type, register, verify


def test_register_verify_approve_on_sqlite(partners_env: Path) -> None:
    engine = make_engine(f"sqlite:///{partners_env / 'partners.db'}")
    app = create_app(engine=engine)
    app.config.update(TESTING=True, RATE_LIMITS_ENABLED=False)
    client = app.test_client()
    partner_id = register(client)
    verify(client, engine, partner_id)
    assert approve(app, partner_id).status_code == 200

    listed = client.get("/api/partners").get_json()["items"]
    assert [item["slug"] for item in listed] == ["riverside-academy"]
    assert listed[0]["approved_at"].endswith("+00:00")
    assert [e.type for e in of_type(engine, "partner.approved")] == ["partner.approved"]

    staff = app.test_client()
    sign_in_test_client(staff, "partnerships")
    assert "Riverside Academy" in staff.get("/partners/staff/?status=approved").get_data(as_text=True)
    assert staff.get(f"/partners/staff/{partner_id}").status_code == 200
    assert client.get("/readyz").status_code == 200
    engine.dispose()
