"""Emailed links: signed, bound to one purpose, expiring, and carrying no readable address."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from itsdangerous import Signer, TimestampSigner
from nmd_runtime.tokens import BadLink, make_token, read_token


def test_a_token_reads_back_for_its_purpose() -> None:
    token = make_token("confirm", {"subscriber": "7f3c", "list": 2})
    assert read_token("confirm", token, max_age=3600) == {"subscriber": "7f3c", "list": 2}


def test_another_purpose_is_refused_as_invalid() -> None:
    token = make_token("unsubscribe", "7f3c")
    with pytest.raises(BadLink) as caught:
        read_token("withdraw", token, max_age=None)
    assert not caught.value.expired


def test_a_tampered_token_is_invalid() -> None:
    token = make_token("withdraw", "story-1")
    with pytest.raises(BadLink) as caught:
        read_token("withdraw", token[:-2] + ("AA" if not token.endswith("AA") else "BB"), max_age=None)
    assert not caught.value.expired
    with pytest.raises(BadLink):
        read_token("withdraw", "not a token at all", max_age=None)


def test_an_old_token_is_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sign as if two days ago, then read now: deterministic, no sleeping.
    two_days_ago = int(time.time()) - 2 * 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: two_days_ago)
    token = make_token("confirm", "sub-1")
    monkeypatch.undo()

    with pytest.raises(BadLink) as caught:
        read_token("confirm", token, max_age=24 * 3600)
    assert caught.value.expired
    assert read_token("confirm", token, max_age=3 * 24 * 3600) == "sub-1"
    assert read_token("confirm", token, max_age=None) == "sub-1"


def test_tokens_refuse_email_addresses_and_stay_opaque() -> None:
    with pytest.raises(ValueError):
        make_token("confirm", "someone@example.org")
    with pytest.raises(ValueError):
        make_token("manage", {"email": "someone@example.org"})
    token = make_token("manage", {"partner": "p-123"})
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"@" not in decoded


def test_a_bulk_link_reads_back_for_its_purpose_only_and_never_expires() -> None:
    from nmd_runtime.tokens import LinkSigner

    link = LinkSigner("newsletter-manage", "secret")
    token = link.make("sub-1:issue-9")
    assert link.read(token) == "sub-1:issue-9"
    # itsdangerous reads it too: the same format as its Signer, so either side may change.
    reference = Signer("secret", salt="newsletter-manage", key_derivation="hmac", digest_method=hashlib.sha256)
    assert reference.unsign(token) == b"sub-1:issue-9"
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "sub-2:issue-9" + token[13:]):
        with pytest.raises(BadLink):
            link.read(forged)
    with pytest.raises(BadLink):
        LinkSigner("unsubscribe", "secret").read(token)
    with pytest.raises(BadLink):
        LinkSigner("newsletter-manage", "another secret").read(token)
    with pytest.raises(ValueError):
        link.make("ann@example.org")
