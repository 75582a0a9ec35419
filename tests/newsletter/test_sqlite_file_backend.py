"""The one-machine default: SQLite and the file backend. An issue lands as one .eml per subscriber, findable by
address, with its own unsubscribe link and the RFC 8058 headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from nmd_newsletter import dispatch, issues, sending
from nmd_newsletter.app import create_app
from nmd_newsletter.mail import make_backend

from tests.newsletter.conftest import add_confirmed, run_commands


def test_an_issue_on_sqlite_becomes_eml_files(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NMD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSLETTER_MAIL_BACKEND", "file")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://mentoring.example")
    app = create_app(f"sqlite:///{tmp_path / 'newsletter.db'}")
    engine = app.extensions["nmd_newsletter_engine"]
    add_confirmed(engine, 3)
    with engine.begin() as conn:
        issue_id = issues.create_issue(
            conn, {"subject": "Hello", "body_markdown": "Hi", "audience_interests": []}, "tester"
        )
        issues.schedule(conn, issue_id, datetime.now(UTC))
    assert dispatch.start_issue(engine, issue_id)
    run_commands(engine, set())
    files = sorted((tmp_path / "mail").glob(f"*/newsletter-{issue_id}.eml"))
    assert len(files) == 3
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["List-Unsubscribe"].startswith("<https://mentoring.example/newsletter/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and message["List-Id"]
    assert "%link_token%" not in files[0].read_text()
    token = message["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
    assert f"/newsletter/preferences/{token}" in message.get_body(("plain",)).get_content()
    # Sending the same batch again (the file backend settles by resending) writes nothing new.
    with engine.connect() as conn:
        recipients = dispatch.batch_recipients(conn, issue_id, 1)
        mail = sending.batch_mail(conn, issue_id, f"{issue_id}:1", recipients)
    make_backend().send(mail)
    assert sorted((tmp_path / "mail").glob("*/*.eml")) == files
    engine.dispose()
