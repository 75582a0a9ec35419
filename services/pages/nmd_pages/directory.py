"""The partner directory: approved partners, read only from partners.events, at /partners and /partner/<slug>."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from marshmallow import Schema, ValidationError, fields, validate
from nmd_contracts.envelope import Event
from nmd_contracts.vocab import PARTNER_TYPES
from nmd_runtime import database, web
from sqlalchemy import Column, Connection, DateTime, Index, String, Table, delete, func, select

from nmd_pages import tables
from nmd_pages.countries import country_name
from nmd_pages.site import public_page, site

partners = Table(
    "directory_partners",
    tables.metadata,
    Column("partner_id", String(64), primary_key=True),
    Column("slug", String(120), nullable=False),
    Column("name", String(200), nullable=False),
    Column("type", String(40), nullable=False),
    Column("website", String(2048)),
    Column("country", String(2), nullable=False),
    Column("region", String(100)),
    Column("size_band", String(20)),
    Column("pledge", String(500)),
    Column("logo_url", String(2048)),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Index("directory_partners_slug", "slug"),
)

TYPE_LABELS = {
    "school": "School",
    "college": "College",
    "university": "University",
    "charity": "Charity",
    "business": "Business",
    "public_body": "Public body",
    "community_group": "Community group",
    "other": "Other",
}
PROFILE_FIELDS = ("slug", "name", "type", "website", "country", "region", "size_band", "pledge", "logo_url")


# --- the read model ----------------------------------------------------------------------------------------------


def on_partner_listed(conn: Connection, event: Event) -> None:
    """partner.approved and partner.updated carry the whole public profile: insert or replace it."""
    data = event.data
    values = {name: data.get(name) for name in PROFILE_FIELDS}
    values |= {
        "partner_id": data["partner_id"],
        "joined_at": tables.instant(data.get("approved_at") or data["updated_at"]),
    }
    # An update keeps the date the partner joined; only an approval sets it.
    keep = ("joined_at",) if event.type == "partner.updated" else ()
    database.upsert(conn, partners, values, ["partner_id"], keep=keep)
    tables.bump_version(conn)


def on_partner_removed(conn: Connection, event: Event) -> None:
    """partner.withdrawn and partner.rejected: the partner is not in the directory (any more)."""
    conn.execute(delete(partners).where(partners.c.partner_id == event.data["partner_id"]))
    tables.bump_version(conn)


HANDLERS = {
    "partner.approved": on_partner_listed,
    "partner.updated": on_partner_listed,
    "partner.withdrawn": on_partner_removed,
    "partner.rejected": on_partner_removed,
}


def partner_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(partners)).scalar_one())


# --- the pages ---------------------------------------------------------------------------------------------------


class DirectoryFilter(Schema):
    country = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{2}$"))
    type = fields.String(load_default=None, validate=validate.OneOf(PARTNER_TYPES))

    class Meta:
        unknown = "exclude"


def _filters() -> dict[str, Any]:
    # Empty choices come from the form's "Any" option: the same as no filter.
    raw = {key: value for key, value in request.args.items() if value and key in ("country", "type")}
    try:
        return DirectoryFilter().load(raw)
    except ValidationError as error:
        web.abort_with(422, "That filter is not one the directory offers.", error.messages)  # type: ignore[arg-type]


blueprint = Blueprint("directory", __name__)


@blueprint.get("/partners")
@public_page
def directory() -> str:
    chosen = _filters()
    query = select(partners).order_by(func.lower(partners.c.name))
    if chosen["country"]:
        query = query.where(partners.c.country == chosen["country"])
    if chosen["type"]:
        query = query.where(partners.c.type == chosen["type"])
    with site().engine.connect() as conn:
        listed = conn.execute(query).mappings().all()
        countries = conn.execute(select(partners.c.country).distinct()).scalars().all()
        total = partner_count(conn)
    country_options = sorted(((code, country_name(code)) for code in countries), key=lambda pair: pair[1])
    return render_template(
        "pages/partners.html",
        partners=listed,
        total=total,
        chosen=chosen,
        country_options=country_options,
        type_options=list(TYPE_LABELS.items()),
        type_labels=TYPE_LABELS,
        country_name=country_name,
    )


@blueprint.get("/partner/<slug>")
@public_page
def profile(slug: str) -> str:
    with site().engine.connect() as conn:
        partner = conn.execute(select(partners).where(partners.c.slug == slug)).mappings().first()
    if partner is None:
        abort(404)
    return render_template(
        "pages/partner.html", partner=partner, type_labels=TYPE_LABELS, country_name=country_name
    )
