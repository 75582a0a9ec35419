"""The newsletter worker: outbox relay, mailer (email.requested), senders (newsletter.batch_requested), delivery
events (suppression, statistics), read models for the automatic sections, the dispatcher and the settle loop.

    python -m nmd_newsletter.worker [--roles mailer,sender,events,sections,dispatch,settle]

Every role runs by default; several workers share the load of each consumer group. /healthz, /readyz and /metrics
answer on NEWSLETTER_WORKER_HEALTH_PORT."""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable, Sequence

from nmd_runtime import logs
from nmd_runtime import settings as runtime_settings
from nmd_runtime.consumer import EventConsumer, Subscription
from nmd_runtime.worker import run_worker
from sqlalchemy import Engine

from nmd_newsletter import dispatch, sections, sending, settings, transactional, webhook
from nmd_newsletter.app import create_engine_and_migrate
from nmd_newsletter.mail import Backend, make_backend

log = logging.getLogger(__name__)
HEALTH_PORT = runtime_settings.declare(
    "NEWSLETTER_WORKER_HEALTH_PORT",
    "9104",
    "Port of the newsletter worker's /healthz, /readyz and /metrics (0: any free port).",
)
ROLES = ("mailer", "sender", "events", "sections", "dispatch", "settle")
SETTLE_INTERVAL = 2.0


def subscriptions(backend: Backend, roles: Sequence[str]) -> list[Subscription]:
    chosen = []
    if "mailer" in roles:
        chosen.append(
            Subscription(
                settings.group("mailer"),
                ["notifications.email"],
                {"email.requested": transactional.handler(backend)},
                consumer_options={"max_poll_records": 50},
            )
        )
    if "events" in roles:
        chosen.append(
            Subscription(
                settings.group("delivery-events"),
                ["email.events"],
                {"email.delivery_event": webhook.handle_delivery_event},
            )
        )
    if "sections" in roles:
        chosen.append(
            Subscription(
                settings.group("sections"), ["stories.events", "partners.events"], dict(sections.HANDLERS)
            )
        )
    return chosen


def settle_loop(engine: Engine, backend: Backend) -> Callable[[threading.Event], None]:
    def run(stop: threading.Event) -> None:
        while not stop.wait(SETTLE_INTERVAL):
            try:
                transactional.settle(engine, backend)
                sending.settle(engine, backend)
            except Exception:
                log.exception("settling failed")

    return run


def sender(engine: Engine, backend: Backend) -> Callable[[threading.Event], None]:
    # Few records per poll: a batch is a second of work, and a rebalance should not strand many of them.
    subscription = Subscription(
        settings.group("senders"),
        ["newsletter.deliveries"],
        {"newsletter.batch_requested": sending.handler(backend)},
        consumer_options={"max_poll_records": 4, "max_poll_interval_ms": 600_000},
    )
    return EventConsumer(engine, subscription).run


def loops(engine: Engine, backend: Backend, roles: Sequence[str]) -> list[Callable[[threading.Event], None]]:
    extra: list[Callable[[threading.Event], None]] = []
    if "sender" in roles:
        extra.append(sender(engine, backend))
    if "dispatch" in roles:
        extra.append(lambda stop: dispatch.run(engine, stop))
    if "settle" in roles:
        extra.append(settle_loop(engine, backend))
    return extra


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> None:
    parser = argparse.ArgumentParser(description="Newsletter worker")
    parser.add_argument("--roles", default=",".join(ROLES), help=f"comma separated, from {', '.join(ROLES)}")
    parser.add_argument("--no-relay", action="store_true", help="do not run the outbox relay in this process")
    args = parser.parse_args(argv)
    roles = [r for r in args.roles.split(",") if r]
    unknown = set(roles) - set(ROLES)
    if unknown:
        parser.error(f"unknown roles {sorted(unknown)}")
    if threading.current_thread() is threading.main_thread():
        logs.configure_logging("newsletter-worker")
    engine = create_engine_and_migrate()
    backend = make_backend()
    extra = loops(engine, backend, roles)
    log.info("newsletter worker started", extra={"roles": roles})
    run_worker(
        engine,
        subscriptions(backend, roles),
        relay=not args.no_relay,
        extra_loops=extra,
        stop=stop,
        health_port=int(HEALTH_PORT.read()),
    )


if __name__ == "__main__":
    main()
