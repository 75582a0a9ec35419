"""email.requested through the real broker: rendered from its template, sent once per idempotency key."""

from __future__ import annotations

import uuid

from nmd_contracts.envelope import new_event, to_kafka
from nmd_newsletter.mail import FileBackend
from nmd_newsletter.transactional import compose, transactional_sends
from nmd_runtime import kafka
from sqlalchemy import select

from tests.waiting import wait_for


def send_command(data: dict) -> None:
    producer = kafka.producer()
    try:
        key, value, headers = to_kafka(
            new_event("email.requested", data["idempotency_key"], data, source="/tests")
        )
        producer.send("notifications.email", key=key, value=value, headers=headers).get(timeout=30)
    finally:
        producer.close()


def verification(to: str, key: str) -> dict:
    return {
        "template": "partner_verification",
        "to": to,
        "to_name": "Ada Lovelace",
        "idempotency_key": key,
        "context": {
            "organisation_name": "Analytical & Co",
            "contact_name": "Ada",
            "verify_url": "https://mentoring.example/partners/verify/abc",
        },
    }


def test_a_command_delivered_twice_is_mailed_once(newsletter_env, fake_sendgrid, engine, worker) -> None:
    to, key = f"ada-{uuid.uuid4().hex[:6]}@example.org", f"partner_verification:{uuid.uuid4()}"
    worker(roles="mailer,settle")
    send_command(verification(to, key))
    send_command(verification(to, key))  # a producer retry: a new event id, the same idempotency key
    wait_for(lambda: fake_sendgrid.count(to) == 1, timeout=60)
    with engine.connect() as conn:
        wait_for(
            lambda: (
                conn.execute(
                    select(transactional_sends.c.status).where(transactional_sends.c.idempotency_key == key)
                ).scalar()
                == "sent"
            ),
            timeout=30,
        )
        conn.commit()
    sent = [m for m in fake_sendgrid.messages if m["personalizations"][0]["to"][0]["email"] == to]
    assert len(sent) == 1
    message = sent[0]
    assert message["from"]["email"] == "hello@nationalmentoringday.org.uk"
    assert message["personalizations"][0]["custom_args"] == {"idempotency_key": key}
    text, html = (block["value"] for block in message["content"])
    assert "https://mentoring.example/partners/verify/abc" in text and "Analytical &amp; Co" in html
    # A third delivery after the send is recorded changes nothing either.
    send_command(verification(to, key))
    send_command(verification(f"other-{to}", f"partner_verification:{uuid.uuid4()}"))
    wait_for(lambda: fake_sendgrid.count(f"other-{to}") == 1, timeout=60)
    assert fake_sendgrid.count(to) == 1


def test_file_backend_writes_one_findable_eml_and_is_idempotent(tmp_path) -> None:
    backend = FileBackend(tmp_path)
    mail = compose(verification("Ada@Example.org", "partner_verification:p1"))
    backend.send(mail)
    backend.send(mail)
    files = list((tmp_path / "ada@example.org").glob("*.eml"))
    assert len(files) == 1 and files[0].name.startswith("partner_verification-")
    content = files[0].read_text()
    assert "Subject: Please confirm your email for Analytical & Co" in content
    assert "multipart/alternative" in content and "text/html" in content
