"""Outbound email: one message shape for both streams, two backends (.eml files, SendGrid), and what a send can
end as.

A send ends in exactly one of: Accepted; Rejected (SendGrid refused the payload: retrying will not help);
Throttled or Unavailable (SendGrid certainly did not take it: safe to retry); OutcomeUnknown (the request left and
no answer came back: SendGrid may have taken it, so it must be settled, never simply retried).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import random
import re
import socket
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol

from nmd_runtime.settings import env, var_dir

from nmd_newsletter import settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None = None
    # Replaced in subject and bodies for this recipient only (their own unsubscribe link, say).
    substitutions: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    custom_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mail:
    sender: str  # "Name <address>"
    subject: str
    text: str
    html: str
    recipients: list[Recipient]
    # What this send is, for finding the .eml file: "partner_verification", "newsletter-<issue>"...
    label: str
    custom_args: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "label": self.label,
            "custom_args": self.custom_args,
            "headers": self.headers,
            "categories": self.categories,
            "recipients": [vars(r) for r in self.recipients],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mail:
        return cls(**(data | {"recipients": [Recipient(**r) for r in data["recipients"]]}))


@dataclass(frozen=True)
class Accepted:
    message_id: str


class SendFailed(Exception):
    pass


class Rejected(SendFailed):
    """Refused for good (a 4xx other than 429)."""


class Throttled(SendFailed):
    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"rate limited for {wait_seconds:.1f}s")
        self.wait_seconds = wait_seconds


class Unavailable(SendFailed):
    """Certainly not accepted (5xx answer, connection refused): retry with backoff."""


class OutcomeUnknown(SendFailed):
    """The request may have been accepted: settle it from the webhook's processed events."""


class Backend(Protocol):
    # True when sending the same Mail twice delivers it once (the file backend), so nothing needs settling.
    idempotent: bool

    def send(self, mail: Mail) -> Accepted: ...


# --- .eml files
# ---------------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")


def _apply(text: str, substitutions: dict[str, str]) -> str:
    for key, value in substitutions.items():
        text = text.replace(key, value)
    return text


class FileBackend:
    """One .eml per recipient under var/mail/<address>/<label>.eml, so a person (or a test) finds theirs.

    The name depends only on the address and what was sent, so sending again rewrites nothing: idempotent."""

    idempotent = True

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or var_dir() / "mail"

    def path_for(self, email: str, label: str) -> Path:
        return self.folder / _UNSAFE.sub("_", email.lower()) / f"{_UNSAFE.sub('_', label)}.eml"

    def send(self, mail: Mail) -> Accepted:
        message_id = hashlib.sha256(f"{mail.label}|{mail.subject}".encode()).hexdigest()[:22]
        for recipient in mail.recipients:
            path = self.path_for(recipient.email, mail.label)
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_bytes(bytes(self._message(mail, recipient)))
            os.replace(temporary, path)  # whole file or none, even if we die while writing
        return Accepted(message_id)

    def _message(self, mail: Mail, recipient: Recipient) -> EmailMessage:
        message = EmailMessage()
        message["From"] = mail.sender
        message["To"] = formataddr((recipient.name or "", recipient.email))
        message["Subject"] = _apply(mail.subject, recipient.substitutions)
        message["Message-ID"] = make_msgid(domain=parseaddr(mail.sender)[1].split("@")[-1] or "localhost")
        for name, value in (mail.headers | recipient.headers).items():
            message[name] = value
        for name, value in (mail.custom_args | recipient.custom_args).items():
            message[f"X-Custom-{name}"] = value
        message.set_content(_apply(mail.text, recipient.substitutions))
        message.add_alternative(_apply(mail.html, recipient.substitutions), subtype="html")
        return message


# --- SendGrid
# -----------------------------------------------------------------------------------------------------


def sendgrid_payload(mail: Mail) -> dict[str, Any]:
    """One v3 mail/send request: the shared content once, one personalization per recipient."""
    sender_name, sender_email = parseaddr(mail.sender)
    people = []
    for recipient in mail.recipients:
        person: dict[str, Any] = {
            "to": [{"email": recipient.email} | ({"name": recipient.name} if recipient.name else {})]
        }
        if recipient.substitutions:
            person["substitutions"] = recipient.substitutions
        if recipient.headers:
            person["headers"] = recipient.headers
        if recipient.custom_args:
            person["custom_args"] = recipient.custom_args
        people.append(person)
    payload: dict[str, Any] = {
        "personalizations": people,
        "from": {"email": sender_email} | ({"name": sender_name} if sender_name else {}),
        "subject": mail.subject,
        "content": [{"type": "text/plain", "value": mail.text}, {"type": "text/html", "value": mail.html}],
    }
    if mail.custom_args:
        payload["custom_args"] = mail.custom_args
    if mail.headers:
        payload["headers"] = mail.headers
    if mail.categories:
        payload["categories"] = mail.categories
    return payload


class SendGridBackend:
    idempotent = False

    def __init__(self, api_key: str | None = None, host: str | None = None, timeout: float | None = None) -> None:
        from sendgrid import SendGridAPIClient

        self.client = SendGridAPIClient(api_key or env("SENDGRID_API_KEY"), host=host or env("SENDGRID_HOST"))
        # The library has no timeout of its own: without one a hung connection blocks the sender for ever.
        self.timeout = timeout or float(env("SENDGRID_TIMEOUT"))

    def send(self, mail: Mail) -> Accepted:
        from python_http_client import exceptions as http_errors

        try:
            response = self.client.client.mail.send.post(request_body=sendgrid_payload(mail), timeout=self.timeout)
        except http_errors.TooManyRequestsError as error:
            raise Throttled(_reset_wait(error.headers)) from error
        except http_errors.HTTPError as error:
            status = int(error.status_code)
            if status >= 500:
                raise Unavailable(f"SendGrid answered {status}") from error
            raise Rejected(f"SendGrid refused the message ({status}): {_body(error)}") from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionRefusedError | socket.gaierror):
                raise Unavailable(f"SendGrid unreachable: {error.reason}") from error
            raise OutcomeUnknown(f"no answer from SendGrid: {error.reason}") from error
        except (TimeoutError, http.client.HTTPException, ConnectionError, OSError) as error:
            raise OutcomeUnknown(f"no answer from SendGrid: {error!r}") from error
        headers = response.headers
        return Accepted(str(headers.get("X-Message-Id", "")) if headers else "")


def _reset_wait(headers: Any) -> float:
    try:
        reset = float(headers.get("X-RateLimit-Reset"))
    except (TypeError, ValueError, AttributeError):
        return 1.0
    return min(max(reset - time.time(), 0.5), 120.0)


def _body(error: Any) -> str:
    body = error.body.decode("utf-8", "replace") if isinstance(error.body, bytes) else str(error.body)
    return body[:500]


def make_backend(name: str | None = None) -> Backend:
    name = name or settings.mail_backend_name()
    if name == "sendgrid":
        return SendGridBackend()
    if name == "file":
        return FileBackend()
    raise ValueError(f"unknown mail backend {name!r}")


# --- retrying
# -----------------------------------------------------------------------------------------------------


def deliver(
    backend: Backend, mail: Mail, *, wait: Callable[[float], Any] = time.sleep, max_unavailable: int = 6
) -> Accepted:
    """Send, waiting out 429s (as long as X-RateLimit-Reset says) and backing off from 5xx with jitter.

    Raises Rejected, Unavailable (still failing after max_unavailable tries) or OutcomeUnknown (never retried
    here).
    """
    backoff, failures = 0.5, 0
    while True:
        try:
            return backend.send(mail)
        except Throttled as throttled:
            log.info("SendGrid rate limit: waiting %.1fs", throttled.wait_seconds)
            wait(throttled.wait_seconds + random.uniform(0, 0.25))
        except Unavailable:
            failures += 1
            if failures >= max_unavailable:
                raise
            wait(min(backoff, 30.0) * random.uniform(0.5, 1.5))
            backoff *= 2
