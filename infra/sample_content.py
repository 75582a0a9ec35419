"""Sample content for a first look at the platform: a few partners, stories and subscribers.

    python -m infra.sample_content load [--first-run-only]
    python -m infra.sample_content remove

Everything goes through each service's own domain functions (the same ones its pages call), so it is stored,
announced on Kafka and emailed exactly like the real thing: the workers relay the events to the directory, the
story wall and the subscriber count. Every sample is marked: names end in "(sample)", addresses are @example.org,
and the ids are kept in NMD_VAR_DIR/sample-content.json. `remove` withdraws the partners and stories and erases
the subscribers the same way a real one would be, so the removal reaches every read model too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from nmd_runtime import settings, tokens

SAMPLE_BY = "sample-content"
ORGANISATIONS = (
    (
        "Riverside Academy",
        "school",
        "riverside-academy",
        "Manchester",
        "50-249",
        "Every Year 12 student meets a mentor from a local employer on the day, and keeps meeting them all year.",
    ),
    (
        "Northern Lights Charity",
        "charity",
        "northern-lights",
        "Leeds",
        "10-49",
        "We pair young carers with volunteer mentors and host an open evening for new mentors on the day.",
    ),
    (
        "Harbour Engineering Ltd",
        "business",
        "harbour-engineering",
        "Bristol",
        "250-999",
        "Our engineers give an hour each to mentor apprentices, and we publish what they learned together.",
    ),
)
STORIES = (
    (
        "The hour that changed my course",
        "mentee",
        "first_name",
        "Amira",
        ["sharing_knowledge", "mentee_needs"],
        "I met my mentor through school when I had no idea what to do after sixth form. She never told me what to "
        "choose; she asked questions until I could hear my own answer. A year on I am studying engineering.",
    ),
    (
        "What mentoring taught me about listening",
        "mentor",
        "full_name",
        "David Okafor",
        ["trust_and_rapport"],
        "I volunteered thinking I would pass on advice. Instead I learned to listen. My mentee did most of the "
        "talking, and the best sessions were the ones where I said least and noticed most.",
    ),
    (
        "Two apprentices, one mentor, three years",
        "organisation",
        "anonymous",
        None,
        ["emotional_support"],
        "Our first mentoring pairs started as an experiment. Three years later every apprentice has a mentor, and "
        "the mentors say they get as much from it as the apprentices do.",
    ),
)
SUBSCRIBERS = (("Sam (sample)", ["campaign_news", "mentoring_stories"]), ("Priya (sample)", ["partner_news"]))


def manifest_path() -> Path:
    return settings.var_dir() / "sample-content.json"


def _now() -> datetime:
    return datetime.now(UTC)


def load_partners() -> list[str]:
    from nmd_partners import lifecycle
    from nmd_partners.app import make_engine
    from nmd_partners.schemas import RegistrationSchema

    engine = make_engine()
    ids = []
    for name, kind, host, region, size, pledge in ORGANISATIONS:
        data = RegistrationSchema().load(
            {
                "name": f"{name} (sample)",
                "type": kind,
                "website": f"https://{host}.example.org",
                "country": "GB",
                "region": region,
                "size_band": size,
                "pledge": pledge,
                "contact_name": "Sample Contact",
                "contact_email": f"partners+{host}@example.org",
                "listing_consent": True,
                "accept_terms": True,
            }
        )
        partner = lifecycle.register(engine, data)
        lifecycle.verify(engine, partner["id"])
        lifecycle.approve(engine, partner["id"], by=SAMPLE_BY)
        ids.append(partner["id"])
    engine.dispose()
    return ids


def load_stories() -> list[str]:
    from nmd_runtime import database
    from nmd_runtime import tables as runtime_tables
    from nmd_stories import publishing, submission
    from nmd_stories.tables import metadata

    engine = database.make_engine(settings.database_url("stories"))
    database.migrate(engine, runtime_tables.metadata, metadata)
    ids = []
    for number, (title, role, credit, name, themes, body) in enumerate(STORIES):
        data = submission.StorySubmission().load(
            {
                "title": f"{title} (sample)",
                "story": body,
                "credit": credit,
                "display_name": name,
                "role": role,
                "themes": themes,
                "country": "GB",
                "contact_email": f"stories+{number}@example.org",
                "usage": ["story_wall", "newsletter"],
                "consent": True,
                "consent_version": submission.CURRENT_CONSENT,
            }
        )
        with engine.begin() as conn:
            story = submission.submit(conn, data, _now())
            publishing.publish(conn, story["id"], _now())
            if number == 0:
                publishing.feature(conn, story["id"], True, _now())
        ids.append(story["id"])
    engine.dispose()
    return ids


def load_subscribers() -> list[str]:
    from nmd_newsletter import subscribing
    from nmd_newsletter.app import create_engine_and_migrate

    engine = create_engine_and_migrate()
    ids = []
    for number, (name, interests) in enumerate(SUBSCRIBERS):
        with engine.begin() as conn:
            subscriber_id = subscribing.request_subscription(conn, f"reader+{number}@example.org", name, interests)
            # The link the confirmation email carries, followed at once: samples need no inbox.
            token = tokens.make_token(subscribing.CONFIRM_PURPOSE, {"s": subscriber_id, "n": 1})
            subscribing.confirm(conn, token)
        ids.append(subscriber_id)
    engine.dispose()
    return ids


def load() -> dict[str, list[str]]:
    loaded = {"partners": load_partners(), "stories": load_stories(), "subscribers": load_subscribers()}
    manifest_path().write_text(json.dumps(loaded, indent=2) + "\n", "utf-8")
    return loaded


def remove() -> dict[str, list[str]]:
    path = manifest_path()
    if not path.exists():
        return {}
    loaded: dict[str, list[str]] = json.loads(path.read_text("utf-8"))
    _remove_partners(loaded.get("partners", []))
    _remove_stories(loaded.get("stories", []))
    _remove_subscribers(loaded.get("subscribers", []))
    # Kept, renamed: its presence stops a later `make run` from loading the samples again.
    path.with_name("sample-content.removed.json").write_text(path.read_text("utf-8"), "utf-8")
    path.unlink()
    return loaded


def _remove_partners(ids: list[str]) -> None:
    from nmd_partners import lifecycle
    from nmd_partners.app import make_engine

    engine = make_engine()
    for partner_id in ids:
        with contextlib.suppress(lifecycle.PartnerError):  # already gone
            lifecycle.withdraw(engine, partner_id, by=SAMPLE_BY)
    engine.dispose()


def _remove_stories(ids: list[str]) -> None:
    from nmd_runtime import database
    from nmd_stories import withdrawal

    engine = database.make_engine(settings.database_url("stories"))
    for story_id in ids:
        with engine.begin() as conn, contextlib.suppress(LookupError):
            withdrawal.withdraw(conn, story_id, _now())
    engine.dispose()


def _remove_subscribers(ids: list[str]) -> None:
    from nmd_newsletter import subscribing
    from nmd_newsletter.app import create_engine_and_migrate

    engine = create_engine_and_migrate()
    for subscriber_id in ids:
        with engine.begin() as conn:
            subscribing.erase(conn, subscriber_id)
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.sample_content", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    load_command = commands.add_parser("load", help="add the samples")
    load_command.add_argument("--first-run-only", action="store_true", help="only if samples were never loaded")
    commands.add_parser("remove", help="withdraw and erase every sample")
    args = parser.parse_args(argv)
    if args.command == "remove":
        removed = remove()
        print(_summary("removed", removed) if removed else "no sample content to remove")
        return 0
    ever_loaded = manifest_path().exists() or manifest_path().with_name("sample-content.removed.json").exists()
    if args.first_run_only and ever_loaded:
        return 0
    print(_summary("loaded sample content:", load()))
    return 0


def _summary(verb: str, content: dict[str, list[str]]) -> str:
    return f"{verb} " + ", ".join(f"{len(ids)} {kind}" for kind, ids in content.items())


if __name__ == "__main__":
    sys.exit(main())
