"""The event listing (/events) and the calendar file (/calendar.ics, RFC 5545) from the campaign calendar."""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import Blueprint, Response, render_template, request

from nmd_pages.campaign import Calendar, CampaignEvent
from nmd_pages.countdown import countdown, day_start
from nmd_pages.site import PUBLIC_CACHE_CONTROL, now, public_page, site

ICS_YEARS_AHEAD = 3
PRODID = "-//National Mentoring Day//Campaign calendar//EN"
UID_DOMAIN = "nationalmentoringday.invalid"

blueprint = Blueprint("campaign_events", __name__)


@blueprint.get("/events")
@public_page
def events() -> str:
    state = site()
    current = now()
    timer = countdown(state.calendar, current)
    editions = [
        (year, day_start(state.calendar, year).astimezone(state.calendar.zone).date(), state.calendar.theme(year))
        for year in range(timer.year, timer.year + ICS_YEARS_AHEAD)
    ]
    return render_template(
        "pages/events.html", upcoming=state.calendar.upcoming(current), editions=editions, zone=state.calendar.zone
    )


# --- RFC 5545 ----------------------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    # TEXT values (RFC 5545 3.3.11): backslash, semicolon, comma and newlines are escaped.
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space (RFC 5545 3.1),
    cut between characters, never inside a UTF-8 sequence."""
    out, current = [], ""
    for char in line:
        limit = 75 if not out else 74  # a continuation line starts with the space
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return "\r\n ".join(out)


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _vevent(
    uid: str, stamp: dt.datetime, summary: str, start: list[str], end: list[str] | None, extra: list[str]
) -> list[str]:
    lines = ["BEGIN:VEVENT", f"UID:{uid}@{UID_DOMAIN}", f"DTSTAMP:{_utc(stamp)}", *start]
    lines += end or []
    lines += [f"SUMMARY:{_escape(summary)}", *extra, "END:VEVENT"]
    return lines


def _edition(calendar: Calendar, year: int, stamp: dt.datetime, base_url: str) -> list[str]:
    day = dt.date(year, calendar.month, calendar.day)
    theme = calendar.theme(year)
    description = f"{calendar.name} {year}" + (f": {theme}" if theme else "") + f". {base_url}/"
    # An all-day event: a DATE start and the next day as the exclusive end (RFC 5545 3.6.1).
    return _vevent(
        f"edition-{year}",
        stamp,
        f"{calendar.name} {year}",
        [f"DTSTART;VALUE=DATE:{day:%Y%m%d}"],
        [f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}"],
        [f"DESCRIPTION:{_escape(description)}", "TRANSP:TRANSPARENT", f"URL:{base_url}/"],
    )


def _event(event: CampaignEvent, stamp: dt.datetime, base_url: str) -> list[str]:
    extra = []
    if event.location:
        extra.append(f"LOCATION:{_escape(event.location)}")
    if event.description:
        extra.append(f"DESCRIPTION:{_escape(event.description)}")
    if event.url:
        extra.append(f"URL:{base_url + event.url if event.url.startswith('/') else event.url}")
    # Times in UTC: a TZID would need a VTIMEZONE block, and UTC instants mean the same in every calendar app.
    end = [f"DTEND:{_utc(event.end)}"] if event.end else None
    return _vevent(event.id, stamp, event.title, [f"DTSTART:{_utc(event.start)}"], end, extra)


def calendar_file(calendar: Calendar, current: dt.datetime, base_url: str) -> str:
    year = countdown(calendar, current).year
    # DTSTAMP from the calendar's content, not the clock, so the file (and its ETag) only changes with it.
    stamp = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(calendar.name)}",
    ]
    for edition_year in range(year, year + ICS_YEARS_AHEAD):
        lines += _edition(calendar, edition_year, stamp, base_url)
    for event in calendar.upcoming(current):
        lines += _event(event, stamp, base_url)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


@blueprint.get("/calendar.ics")
def calendar_ics() -> Response:
    from nmd_runtime import settings

    body = calendar_file(site().calendar, now(), settings.env("PUBLIC_BASE_URL").rstrip("/"))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="national-mentoring-day.ics"'
    response.headers["Cache-Control"] = PUBLIC_CACHE_CONTROL
    response.set_etag(hashlib.blake2b(body.encode(), digest_size=12).hexdigest())
    return response.make_conditional(request)
