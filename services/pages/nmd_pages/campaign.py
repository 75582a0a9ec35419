"""The campaign calendar, read from configuration (campaign.yaml, or the file PAGES_CALENDAR_FILE names)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from nmd_runtime import settings

CALENDAR_FILE = settings.declare(
    "PAGES_CALENDAR_FILE", "", "YAML file of the campaign calendar (default: the one shipped in nmd_pages)."
)


@dataclass(frozen=True)
class CampaignEvent:
    id: str
    title: str
    start: dt.datetime  # aware, in the campaign's zone
    end: dt.datetime | None
    location: str | None
    description: str | None
    url: str | None


@dataclass(frozen=True)
class Calendar:
    name: str
    zone: ZoneInfo
    month: int
    day: int
    first_year: int
    themes: dict[int, str]
    events: tuple[CampaignEvent, ...]

    def theme(self, year: int) -> str | None:
        return self.themes.get(year)

    def edition_number(self, year: int) -> int:
        return year - self.first_year + 1

    def upcoming(self, now: dt.datetime) -> list[CampaignEvent]:
        """Events not yet over, soonest first."""
        return sorted((e for e in self.events if (e.end or e.start) >= now), key=lambda e: e.start)


def _local(value: Any, zone: ZoneInfo) -> dt.datetime:
    # YAML reads 2026-09-15T13:00 as a string or a naive datetime: both are wall-clock time in the zone.
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is not None:
        raise ValueError(f"calendar times are wall-clock times without an offset, got {value!r}")
    return parsed.replace(tzinfo=zone)


def parse(raw: dict[str, Any]) -> Calendar:
    zone = ZoneInfo(raw.get("timezone", "Europe/London"))
    day = raw["day"]
    dt.date(2000, int(day["month"]), int(day["day"]))  # refuses 31 February before any page is drawn
    events = tuple(
        CampaignEvent(
            id=str(entry["id"]),
            title=str(entry["title"]),
            start=_local(entry["start"], zone),
            end=_local(entry["end"], zone) if entry.get("end") else None,
            location=entry.get("location"),
            description=entry.get("description"),
            url=entry.get("url"),
        )
        for entry in raw.get("events") or []
    )
    themes = {
        int(year): str(edition["theme"])
        for year, edition in (raw.get("editions") or {}).items()
        if edition and edition.get("theme")
    }
    return Calendar(
        str(raw.get("name", "National Mentoring Day")),
        zone,
        int(day["month"]),
        int(day["day"]),
        int(raw.get("first_year", 2014)),
        themes,
        events,
    )


@functools.cache
def _load(path: str) -> Calendar:
    text = (
        Path(path).read_text("utf-8")
        if path
        else (resources.files("nmd_pages").joinpath("campaign.yaml").read_text("utf-8"))
    )
    return parse(yaml.safe_load(text))


def load_calendar(path: str | None = None) -> Calendar:
    return _load(path if path is not None else CALENDAR_FILE.read())
