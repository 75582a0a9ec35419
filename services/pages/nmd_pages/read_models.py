"""The public read models as one unit: their handlers, their topics, and their tables (for a rebuild)."""

from __future__ import annotations

from nmd_contracts.topics import topic_for
from nmd_runtime.consumer import Handler
from sqlalchemy import Table

from nmd_pages import directory, story_wall, subscribers

HANDLERS: dict[str, Handler] = directory.HANDLERS | story_wall.HANDLERS | subscribers.HANDLERS
TABLES: tuple[Table, ...] = (directory.partners, story_wall.stories, subscribers.confirmed_subscribers)


def topics() -> list[str]:
    return sorted({topic_for(event_type) for event_type in HANDLERS})
