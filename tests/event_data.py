"""Event data that tests and benchmarks feed to read models: a partner's public profile (partner.approved and
partner.updated add their time) and a published story, valid by the contracts, with what a test varies as
arguments."""

from __future__ import annotations

import datetime as dt
from typing import Any


def partner_profile(
    partner_id: str,
    slug: str,
    name: str,
    *,
    country: str = "GB",
    type: str = "school",
) -> dict[str, Any]:
    return {
        "partner_id": partner_id,
        "name": name,
        "slug": slug,
        "type": type,
        "website": "https://example.org",
        "country": country,
        "region": "Yorkshire",
        "size_band": "50-249",
        "pledge": "Every pupil meets a mentor.",
        "logo_url": None,
        "profile_url": f"http://localhost:8080/partner/{slug}",
    }


def story_data(
    story_id: str,
    slug: str,
    title: str,
    *,
    themes: list[str] | None = None,
    role: str = "mentee",
    country: str | None = "GB",
    usage: list[str] | None = None,
    published_at: dt.datetime = dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
) -> dict[str, Any]:
    return {
        "story_id": story_id,
        "slug": slug,
        "title": title,
        "body_html": "<p>My mentor listened.</p><script>alert(1)</script>",
        "credit": "Sam",
        "role": role,
        "themes": themes or ["trust_and_rapport"],
        "partner_name": None,
        "country": country,
        "photo_url": None,
        "usage": usage or ["story_wall"],
        "published_at": published_at,
    }
