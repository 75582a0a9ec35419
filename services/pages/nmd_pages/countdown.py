"""The countdown to the next National Mentoring Day: plain rules, no Flask.

The day starts at 00:00 on its date in the campaign's zone (Europe/London) and lasts until 23:59:59 there, so its
length follows the zone's rules: 27 October 2024 was 25 hours long, because the clocks went back that morning.
Every difference is taken between UTC instants: subtracting two aware datetimes that share a tzinfo compares
wall-clock times and would be an hour out across a clock change.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from nmd_pages.campaign import Calendar


@dataclass(frozen=True)
class Countdown:
    year: int  # the edition counted down to, or under way
    starts_at: dt.datetime  # UTC
    ends_at: dt.datetime  # UTC: the first instant after the day
    next_starts_at: dt.datetime  # UTC: start of the following year's edition
    is_today: bool
    days: int
    hours: int
    minutes: int

    @property
    def total_minutes(self) -> int:
        return self.days * 24 * 60 + self.hours * 60 + self.minutes


def day_start(calendar: Calendar, year: int) -> dt.datetime:
    """00:00 local on the campaign date of `year`, as a UTC instant."""
    local = dt.datetime(year, calendar.month, calendar.day, tzinfo=calendar.zone)
    return local.astimezone(dt.UTC)


def day_end(calendar: Calendar, year: int) -> dt.datetime:
    """The instant the day is over: 00:00 local on the next date (one second after 23:59:59), in UTC."""
    following = dt.date(year, calendar.month, calendar.day) + dt.timedelta(days=1)
    local = dt.datetime(following.year, following.month, following.day, tzinfo=calendar.zone)
    return local.astimezone(dt.UTC)


def countdown(calendar: Calendar, now: dt.datetime) -> Countdown:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(dt.UTC)
    year = now.astimezone(calendar.zone).year
    if now >= day_end(calendar, year):
        year += 1
    start, end = day_start(calendar, year), day_end(calendar, year)
    following = day_start(calendar, year + 1)
    if now >= start:
        return Countdown(year, start, end, following, True, 0, 0, 0)
    # Whole minutes, rounded up: "0 minutes" is never shown while the day is still ahead.
    minutes = math.ceil((start - now).total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return Countdown(year, start, end, following, False, days, hours, minutes)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
