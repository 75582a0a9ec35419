"""page.views: one event per counted page view, aggregated by page, day and country.

Never an IP address, a cookie id or a full referrer URL: the country is looked up and the IP dropped before the
event is built.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from nmd_contracts import fields as f
from nmd_contracts.registry import event, upcaster


def _path(**kwargs: Any) -> fields.String:
    # A site path without query string or fragment (those can carry tokens), e.g. "/stories/my-mentor".
    return fields.String(
        validate=[validate.Length(min=1, max=512), validate.Regexp(r"^/[^?#\s]*$", error="Not a site path.")],
        **kwargs,
    )


@event("page.viewed", version=1)
class PageViewedV1(Schema):
    """A visitor viewed a page (v1: the page was called `path`)."""

    path = _path(required=True)
    country = f.country(allow_unknown=True, required=True)
    viewed_at = f.UtcDateTime(required=True)


@event("page.viewed", version=2)
class PageViewed(Schema):
    """A visitor viewed a page. country is ISO 3166-1 alpha-2 or "unknown"; referrer_host is only the host of the
    referring site (no path, no query), or null for direct visits and our own pages."""

    page = _path(required=True)
    country = f.country(allow_unknown=True, required=True)
    referrer_host = f.optional(f.text(253))
    viewed_at = f.UtcDateTime(required=True)


@upcaster("page.viewed", from_version=1)
def _page_viewed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v2 renamed path -> page (the aggregator's own vocabulary) and added referrer_host, unknown for old views.
    upcast = {key: value for key, value in data.items() if key != "path"}
    upcast["page"] = data["path"]
    upcast["referrer_host"] = None
    return upcast
