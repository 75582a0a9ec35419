"""The fake SendGrid enforces SendGrid's rules, and our SendGrid backend reads its answers right."""

from __future__ import annotations

import time

import pytest
from nmd_newsletter.mail import (
    Mail,
    OutcomeUnknown,
    Recipient,
    SendGridBackend,
    Throttled,
    deliver,
    sendgrid_payload,
)
from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient

from tests.fakes.sendgrid_api import FakeSendGrid

KEY = "SG.rules"


@pytest.fixture
def fake() -> FakeSendGrid:
    fake = FakeSendGrid(api_key=KEY).start()
    yield fake
    fake.stop()


def mail(count: int = 1, **changes: object) -> Mail:
    recipients = [
        Recipient(f"person{i}@example.org", custom_args={"subscriber_id": f"s{i}"}) for i in range(count)
    ]
    values = {
        "sender": "News <news@example.org>",
        "subject": "Hello",
        "text": "Hi",
        "html": "<p>Hi</p>",
        "recipients": recipients,
        "label": "test",
        "custom_args": {"issue_id": "i1", "batch_id": "b1"},
    }
    return Mail(**(values | changes))


def post(fake: FakeSendGrid, payload: dict, key: str = KEY) -> tuple[int, dict]:
    client = SendGridAPIClient(key, host=fake.url)
    try:
        response = client.client.mail.send.post(request_body=payload, timeout=5)
        return response.status_code, dict(response.headers)
    except http_errors.HTTPError as error:
        return error.status_code, error.to_dict


def test_accepts_a_valid_request_with_a_message_id_and_counts_each_recipient(fake: FakeSendGrid) -> None:
    status, headers = post(fake, sendgrid_payload(mail(3)))
    assert status == 202 and headers.get("X-Message-Id")
    assert [fake.count(f"person{i}@example.org") for i in range(3)] == [1, 1, 1]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda p: p.update(personalizations=[{"to": [{"email": f"a{i}@x.org"}]} for i in range(1001)]),
            "personalizations",
        ),
        (
            lambda p: p["personalizations"].append({"to": [{"email": "PERSON0@example.org"}]}),
            "personalizations.1.to",
        ),
        (lambda p: p.pop("from"), "from.email"),
        (lambda p: p.pop("subject"), "subject"),
        (lambda p: p.update(content=list(reversed(p["content"]))), "content.0.type"),
        (lambda p: p.update(custom_args={"issue_id": 7}), "custom_args"),
        (lambda p: p.pop("content"), "content"),
    ],
)
def test_refuses_what_sendgrid_refuses(fake: FakeSendGrid, change, field: str) -> None:
    payload = sendgrid_payload(mail(1))
    change(payload)
    status, body = post(fake, payload)
    assert status == 400
    assert body["errors"][0]["field"] == field and body["errors"][0]["message"]
    assert fake.stats.accepted_requests == 0


def test_at_most_1000_recipients_across_to_cc_and_bcc(fake: FakeSendGrid) -> None:
    payload = sendgrid_payload(mail(999))
    payload["personalizations"][0]["cc"] = [{"email": "c1@example.org"}, {"email": "c2@example.org"}]
    assert post(fake, payload)[0] == 400


def test_wrong_key_is_401(fake: FakeSendGrid) -> None:
    assert post(fake, sendgrid_payload(mail()), key="SG.wrong")[0] == 401


def test_429_is_waited_out_until_the_reset_time(fake: FakeSendGrid) -> None:
    fake.fail_next("429", count=1, reset_in=1.5)
    backend = SendGridBackend(KEY, fake.url, timeout=5)
    with pytest.raises(Throttled) as throttled:
        backend.send(mail())
    assert 0.4 <= throttled.value.wait_seconds <= 2.5
    fake.fail_next("429", count=1, reset_in=1.0)
    waits: list[float] = []
    deliver(backend, mail(), wait=lambda s: (waits.append(s), time.sleep(s)))
    assert len(waits) == 1 and fake.count("person0@example.org") == 1


def test_5xx_backs_off_and_retries(fake: FakeSendGrid) -> None:
    fake.fail_next("503", count=2)
    waits: list[float] = []
    deliver(SendGridBackend(KEY, fake.url, timeout=5), mail(), wait=waits.append)
    assert len(waits) == 2 and waits[1] > waits[0] * 0.6
    assert fake.count("person0@example.org") == 1


def test_a_hang_past_the_timeout_is_an_unknown_outcome(fake: FakeSendGrid) -> None:
    fake.fail_next("hang", count=1, hang_seconds=2.0, accept=True)
    with pytest.raises(OutcomeUnknown):
        SendGridBackend(KEY, fake.url, timeout=0.5).send(mail())
    # SendGrid took it anyway: exactly the window the processed events settle.
    assert _eventually(lambda: fake.count("person0@example.org") == 1)


def _eventually(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False
