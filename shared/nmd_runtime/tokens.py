"""Signed, expiring tokens for the links we email: confirm, unsubscribe, preferences, manage, withdraw.

Rule: sign an opaque id, never an email address or a name. itsdangerous signs but does not encrypt; anyone holding
a link can base64-decode its payload, and links end up in mail logs, browser history and proxies. `make_token`
refuses any string containing "@" as a guard against the easy mistake.

Each purpose is its own salt, so an unsubscribe token can never be replayed as a confirm or withdraw token.
Every service shares SECRET_KEY, so a token made by a worker can be read by any web process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from functools import cache

from itsdangerous import BadData, BadSignature, SignatureExpired, Signer, URLSafeTimedSerializer

from nmd_runtime import settings

TokenValue = str | int | Mapping[str, object]

# Suggested lifetimes in seconds; unsubscribe links must keep working for as long as the email is kept.
CONFIRM_MAX_AGE = 7 * 24 * 3600
MANAGE_MAX_AGE = 30 * 24 * 3600
UNSUBSCRIBE_MAX_AGE: int | None = None


class BadLink(Exception):
    """The link was tampered with, made for another purpose, or is too old (`expired`)."""

    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


def _serializer(purpose: str, secret_key: str | None) -> URLSafeTimedSerializer:
    if not purpose:
        raise ValueError("a token needs a purpose")
    return URLSafeTimedSerializer(secret_key or settings.env("SECRET_KEY"), salt=purpose)


def _refuse_emails(value: object) -> None:
    if isinstance(value, str) and "@" in value:
        raise ValueError("tokens carry opaque ids, not email addresses (their payload is readable)")
    if isinstance(value, Mapping):
        for item in value.values():
            _refuse_emails(item)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            _refuse_emails(item)


def make_token(purpose: str, value: TokenValue, *, secret_key: str | None = None) -> str:
    _refuse_emails(value)
    return _serializer(purpose, secret_key).dumps(value)


def read_token(purpose: str, token: str, max_age: int | None, *, secret_key: str | None = None) -> TokenValue:
    """The signed value, or BadLink; `max_age=None` means the link never expires."""
    try:
        return _serializer(purpose, secret_key).loads(token, max_age=max_age)  # type: ignore[no-any-return]
    except SignatureExpired as error:
        raise BadLink("this link has expired", expired=True) from error
    except (BadData, UnicodeError, ValueError) as error:
        raise BadLink("this link is not valid", expired=False) from error


class LinkSigner:
    """Never-expiring links signed in bulk (a newsletter signs one per recipient, a million per large issue).

    The token is "<value>.<signature>" in itsdangerous's Signer format (HMAC-SHA256 under a key derived from
    SECRET_KEY and the purpose), so itsdangerous reads it; the derived key is computed once, which makes a link
    about a microsecond instead of the tens that a fresh Signer costs."""

    def __init__(self, purpose: str, secret_key: str | None = None) -> None:
        if not purpose:
            raise ValueError("a link needs a purpose")
        self.signer = Signer(
            secret_key or settings.env("SECRET_KEY"),
            salt=purpose,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )
        self.key = self.signer.derive_key()

    def make(self, value: str) -> str:
        _refuse_emails(value)
        mac = hmac.digest(self.key, value.encode(), "sha256")
        return f"{value}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    def read(self, token: str) -> str:
        try:
            return self.signer.unsign(token).decode()
        except (BadSignature, UnicodeError) as error:
            raise BadLink("this link is not valid", expired=False) from error


def link_signer(purpose: str) -> LinkSigner:
    """The signer for `purpose` under the current SECRET_KEY, made once per key."""
    return _link_signer(purpose, settings.env("SECRET_KEY"))


@cache
def _link_signer(purpose: str, secret_key: str) -> LinkSigner:
    return LinkSigner(purpose, secret_key)
