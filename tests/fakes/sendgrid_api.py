"""A fake SendGrid v3 HTTP API that enforces SendGrid's payload rules and posts signed Event Webhook events back.

In-process (a fixture):      fake = FakeSendGrid(webhook_url=...); fake.start(); ... fake.stop()
As a process (bench, e2e):   python -m tests.fakes.sendgrid_api --port 8990 [--webhook-url URL]
                             (prints SENDGRID_FAKE_URL=... and SENDGRID_FAKE_PUBLIC_KEY=... on stdout)

Control endpoints (for the process form): GET /_fake/stats, GET /_fake/recipients?email=, POST /_fake/faults
{"kind": "429"|"500"|"503"|"hang", "count": N, "reset_in": s, "hang_seconds": s, "accept": bool},
POST /_fake/events (a JSON list of events to sign and post to the webhook), POST /_fake/reset.

The rules are the documented v3 mail/send limits: 1..1000 personalizations, at most 1000 recipients (to + cc + bcc)
per request, each address once per request, from.email, a subject for every personalization, content (text/plain
before text/html) unless a template is used, string custom_args and headers, 30 MB per request.
"""

from __future__ import annotations

import argparse
import base64
import json
import queue
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_BYTES = 30 * 1024 * 1024
MAX_CUSTOM_ARGS_BYTES = 10_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Headers SendGrid sets itself and refuses in the headers object.
RESERVED_HEADERS = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class Refused(Exception):
    def __init__(self, status: int, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field_name = status, message, field_name


def _error(
    status: int, message: str, field_name: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = {"errors": [{"message": message, "field": field_name, "help": None}]}
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})


# --- the payload rules
# --------------------------------------------------------------------------------------------


def _address(value: Any, where: str) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("email"), str) or not EMAIL.match(value["email"]):
        raise Refused(400, "Does not contain a valid address.", f"{where}.email")
    if "name" in value and value["name"] is not None and not isinstance(value["name"], str):
        raise Refused(400, "The name must be a string.", f"{where}.name")
    return value["email"].lower()


def _string_map(value: Any, where: str, *, limit: int | None = None) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise Refused(400, f"{where} must be an object of string values.", where)
    size = 2
    for key, item in value.items():
        if not isinstance(item, str):
            raise Refused(400, f"{where} must be an object of string values.", where)
        size += len(key) + len(item) + 6  # as JSON: "key":"value",
    if limit is not None and size > limit:
        raise Refused(400, f"{where} may not exceed {limit} bytes.", where)


def _headers(value: Any, where: str) -> None:
    _string_map(value, where)
    for name in value or {}:
        if name.lower() in RESERVED_HEADERS:
            raise Refused(400, f"The header {name} is reserved.", where)


def check_mail(mail: Any) -> list[dict[str, Any]]:
    """Raise Refused for a payload SendGrid would refuse; return its personalizations."""
    if not isinstance(mail, dict):
        raise Refused(400, "The request body must be a JSON object.")
    people = mail.get("personalizations")
    if not isinstance(people, list) or not people:
        raise Refused(
            400,
            "The personalizations field is required and must have at least one personalization.",
            "personalizations",
        )
    if len(people) > MAX_PERSONALIZATIONS:
        raise Refused(400, "You may not have more than 1000 personalizations per API request.", "personalizations")
    sender = mail.get("from")
    if not isinstance(sender, dict) or not sender.get("email"):
        raise Refused(400, "The from object must be provided for every email send.", "from.email")
    _address(sender, "from")
    seen: set[str] = set()
    for index, person in enumerate(people):
        _check_personalization(person, index, mail, seen)
    if len(seen) > MAX_RECIPIENTS:
        raise Refused(400, "The total number of recipients must be no more than 1000.", "personalizations")
    _check_content(mail)
    _string_map(mail.get("custom_args"), "custom_args", limit=MAX_CUSTOM_ARGS_BYTES)
    _headers(mail.get("headers"), "headers")
    return people


def _check_personalization(person: Any, index: int, mail: dict[str, Any], seen: set[str]) -> None:
    where = f"personalizations.{index}"
    if not isinstance(person, dict) or not isinstance(person.get("to"), list) or not person["to"]:
        raise Refused(400, "The to array is required for all personalization objects.", f"{where}.to")
    for kind in ("to", "cc", "bcc"):
        for address in person.get(kind) or ():
            email = _address(address, f"{where}.{kind}")
            if email in seen:
                raise Refused(
                    400,
                    "Each email address in the personalization block should be unique between "
                    "to, cc, and bcc. We found the first duplicate instance of "
                    f"[{email}] in the personalizations.{index}.{kind} field.",
                    f"{where}.{kind}",
                )
            seen.add(email)
    if not person.get("subject") and not mail.get("subject") and not mail.get("template_id"):
        raise Refused(
            400,
            "The subject is required. You can get around this requirement if you use a template "
            "with a subject defined or if every personalization has a subject defined.",
            "subject",
        )
    if "custom_args" in person:
        _string_map(person["custom_args"], f"{where}.custom_args", limit=MAX_CUSTOM_ARGS_BYTES)
    if "substitutions" in person:
        _string_map(person["substitutions"], f"{where}.substitutions", limit=10_000)
    if "headers" in person:
        _headers(person["headers"], f"{where}.headers")


def _check_content(mail: dict[str, Any]) -> None:
    content = mail.get("content")
    if content is None and mail.get("template_id"):
        return
    if not isinstance(content, list) or not content:
        raise Refused(
            400,
            "Unless a valid template_id is provided, the content parameter is required. There must "
            "be at least one defined content block.",
            "content",
        )
    types = []
    for index, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str) or not block.get("value"):
            raise Refused(
                400,
                "The content value must be a string at least one character in length.",
                f"content.{index}.value",
            )
        types.append(block["type"])
    if "text/plain" in types and types.index("text/plain") != 0:
        raise Refused(
            400, "If present, text/plain content must be first, followed by any other content.", "content.0.type"
        )
    if "text/html" in types and "text/plain" in types and types.index("text/html") < types.index("text/plain"):
        raise Refused(400, "If present, text/plain and text/html may only be provided in order.", "content")


# --- faults
# -------------------------------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str  # "429", "500", "503", "hang"
    count: int
    reset_in: float = 1.0
    hang_seconds: float = 30.0
    accept: bool = False  # for "hang": accept the message after hanging (the ambiguous case)


@dataclass
class Stats:
    requests: int = 0
    accepted_requests: int = 0
    refused: Counter = field(default_factory=Counter)
    per_recipient: Counter = field(default_factory=Counter)

    @property
    def recipients(self) -> int:
        return sum(self.per_recipient.values())


# --- the server
# ---------------------------------------------------------------------------------------------------


class FakeSendGrid:
    def __init__(
        self,
        *,
        api_key: str = "SG.fake-key",
        webhook_url: str | None = None,
        keep_messages: bool = True,
        post_processed: bool = True,
        webhook_batch: int = 1000,
    ) -> None:
        self.api_key = api_key
        self.webhook_url = webhook_url
        self.keep_messages = keep_messages
        self.post_processed = post_processed
        self.webhook_batch = webhook_batch
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.stats = Stats()
        self.messages: list[dict[str, Any]] = []
        self.webhook_responses: Counter = Counter()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._server: Any = None
        self.url = ""

    # -- lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeSendGrid:
        self._server = make_server(host, port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://{host}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, name="fake-sendgrid", daemon=True).start()
        threading.Thread(target=self._post_events_loop, name="fake-sendgrid-webhook", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- what tests ask
    @property
    def public_key(self) -> str:
        """Base64 DER public key, as SendGrid shows it under Mail Settings → Signed Event Webhook."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def count(self, email: str) -> int:
        with self._lock:
            return self.stats.per_recipient[email.lower()]

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self.stats.per_recipient)

    def fail_next(self, kind: str, count: int = 1, **options: Any) -> None:
        with self._lock:
            self._faults.append(Fault(kind, count, **options))

    def reset(self) -> None:
        with self._lock:
            self.stats = Stats()
            self.messages.clear()
            self._faults.clear()

    def idle(self) -> bool:
        """No webhook events left to post."""
        return self._events.unfinished_tasks == 0

    # -- webhook
    def sign(self, body: str, timestamp: str) -> str:
        signature = self.private_key.sign((timestamp + body).encode(), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def signed_headers(self, body: str, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        return {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": self.sign(body, timestamp),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }

    def post_events(self, events: list[dict[str, Any]]) -> requests.Response:
        """Sign and post these events now (e.g. a bounce), returning our webhook's answer."""
        assert self.webhook_url, "no webhook_url configured"
        body = json.dumps(events)
        return requests.post(self.webhook_url, data=body.encode(), headers=self.signed_headers(body), timeout=30)

    def queue_event(self, event: dict[str, Any]) -> None:
        self._events.put(event)

    def _post_events_loop(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._events.get(timeout=0.2)
            except queue.Empty:
                continue
            chunk = [first]
            while len(chunk) < self.webhook_batch:
                try:
                    chunk.append(self._events.get_nowait())
                except queue.Empty:
                    break
            self._deliver(chunk)
            for _ in chunk:
                self._events.task_done()

    def _deliver(self, chunk: list[dict[str, Any]]) -> None:
        # SendGrid retries a failed post; so do we, a few times, quickly.
        for attempt in range(20):
            try:
                answer = self.post_events(chunk)
                self.webhook_responses[answer.status_code] += 1
                if answer.status_code < 500:
                    return
            except requests.RequestException:
                self.webhook_responses["error"] += 1
            if self._stop.wait(min(0.2 * 2**attempt, 3.0)):
                return

    # -- HTTP
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._route(request)
        except Refused as refusal:
            response = _error(refusal.status, refusal.message, refusal.field_name)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/v3/mail/send" and method == "POST":
            return self._mail_send(request)
        if path.startswith("/_fake/"):
            return self._control(request, path.removeprefix("/_fake/"))
        return _error(404, "Not found")

    def _mail_send(self, request: Request) -> Response:
        with self._lock:
            self.stats.requests += 1
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "The provided authorization grant is invalid, expired, or revoked")
        if (request.content_length or 0) > MAX_BYTES:
            return _error(413, "The JSON payload you have included in your request is too large.")
        fault = self._take_fault()
        if fault is not None and fault.kind != "hang":
            return self._fault_response(fault)
        raw = request.get_data(cache=False)
        if len(raw) > MAX_BYTES:
            return _error(413, "The JSON payload you have included in your request is too large.")
        try:
            mail = json.loads(raw)
        except ValueError:
            return _error(400, "Bad Request", None)
        try:
            people = check_mail(mail)
        except Refused as refusal:
            with self._lock:
                self.stats.refused[refusal.message[:60]] += 1
            raise
        if fault is not None:  # hang: the client times out; maybe we still accept (the ambiguous window)
            time.sleep(fault.hang_seconds)
            if not fault.accept:
                return _error(503, "Service unavailable")
        message_id = secrets.token_urlsafe(16)[:22]
        self._accept(mail, people, message_id)
        return Response(b"", status=202, headers={"X-Message-Id": message_id})

    def _take_fault(self) -> Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._faults.pop(0)
            return fault

    def _fault_response(self, fault: Fault) -> Response:
        if fault.kind == "429":
            reset = str(int(time.time() + fault.reset_in))
            return _error(
                429,
                "too many requests",
                headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
            )
        return _error(int(fault.kind), "Internal server error")

    def _accept(self, mail: dict[str, Any], people: list[dict[str, Any]], message_id: str) -> None:
        with self._lock:
            self.stats.accepted_requests += 1
            for person in people:
                for kind in ("to", "cc", "bcc"):
                    for address in person.get(kind) or []:
                        self.stats.per_recipient[address["email"].lower()] += 1
            if self.keep_messages:
                self.messages.append(mail)
        if self.webhook_url and self.post_processed:
            for index, person in enumerate(people):
                self.queue_event(processed_event(mail, person, f"{message_id}.filter{index}"))

    def _control(self, request: Request, action: str) -> Response:
        if action == "stats":
            with self._lock:
                body = {
                    "requests": self.stats.requests,
                    "accepted_requests": self.stats.accepted_requests,
                    "recipients": self.stats.recipients,
                    "distinct_recipients": len(self.stats.per_recipient),
                    "duplicates": sum(1 for n in self.stats.per_recipient.values() if n > 1),
                    "refused": dict(self.stats.refused),
                    "webhook_pending": self._events.unfinished_tasks,
                }
            return Response(json.dumps(body), mimetype="application/json")
        if action == "recipients":
            return Response(
                json.dumps({"count": self.count(request.args.get("email", ""))}), mimetype="application/json"
            )
        if action == "public-key":
            return Response(json.dumps({"public_key": self.public_key}), mimetype="application/json")
        if action == "faults" and request.method == "POST":
            self.fail_next(**request.get_json())
            return Response(status=204)
        if action == "events" and request.method == "POST":
            answer = self.post_events(request.get_json())
            return Response(json.dumps({"status": answer.status_code}), mimetype="application/json")
        if action == "reset" and request.method == "POST":
            self.reset()
            return Response(status=204)
        return _error(404, "Not found")


def processed_event(
    mail: dict[str, Any], person: dict[str, Any], message_id: str, event: str = "processed"
) -> dict[str, Any]:
    """An Event Webhook event for one personalization; custom_args come back as top-level keys, as SendGrid
    does."""
    args = (mail.get("custom_args") or {}) | (person.get("custom_args") or {})
    return args | {
        "email": person["to"][0]["email"],
        "timestamp": int(time.time()),
        "event": event,
        "sg_event_id": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
        "sg_message_id": message_id,
        "smtp-id": f"<{message_id}@fake.sendgrid>",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8990)
    parser.add_argument("--api-key", default="SG.fake-key")
    parser.add_argument("--webhook-url")
    parser.add_argument("--no-keep-messages", action="store_true", help="count recipients only (benchmarks)")
    parser.add_argument("--no-processed", action="store_true", help="do not post processed events")
    args = parser.parse_args()
    fake = FakeSendGrid(
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        keep_messages=not args.no_keep_messages,
        post_processed=not args.no_processed,
    ).start(args.host, args.port)
    print(f"SENDGRID_FAKE_URL={fake.url}", flush=True)
    print(f"SENDGRID_FAKE_PUBLIC_KEY={fake.public_key}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
