"""A partner's way through the service: register, verify, approve or reject, update, withdraw.

Every change is one database transaction holding the row change, its event on partners.events and any
email.requested command (the outbox), so an event is never lost and never sent for a change that rolled back.
The web layers (api.py, views.py, staff_views.py) only load input and call these functions.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from nmd_runtime import media, outbox
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from nmd_partners import SOURCE, links
from nmd_partners.tables import (
    ACTIVE,
    APPROVED,
    PENDING_REVIEW,
    PENDING_VERIFICATION,
    REJECTED,
    WITHDRAWN,
    partners,
)

log = logging.getLogger(__name__)

LOGO_PREFIX = "partners/logos"
LOGO_MAX_BYTES = 2_000_000
# An application whose email is not confirmed this long after the last link is withdrawn by the worker.
UNVERIFIED_LAPSE = timedelta(days=30)
LOGO_TYPES = frozenset({media.PNG, media.JPEG, media.WEBP})
# partner.approved/updated carry at most this much of the pledge (the contract's limit); the form allows 1,000.
PUBLIC_PLEDGE_MAX = 500
# Slugs that would shadow a route of ours under /api/partners/<slug> or /partners/...
RESERVED_SLUGS = frozenset(
    {
        "staff",
        "register",
        "verify",
        "manage",
        "badges",
        "media",
        "static",
        "docs",
        "openapi-json",
        "logo-uploads",
        "verification",
        "api",
        "partner",
        "partners",
        "new",
        "admin",
    }
)
# Websites many organisations share: the first path segments tell them apart (facebook.com/<page>).
SHARED_HOSTS = {
    "facebook.com": 1,
    "m.facebook.com": 1,
    "instagram.com": 1,
    "linkedin.com": 2,
    "x.com": 1,
    "twitter.com": 1,
    "youtube.com": 1,
    "tiktok.com": 1,
    "github.com": 1,
    "linktr.ee": 1,
    "medium.com": 1,
    "sites.google.com": 2,
    "gov.uk": 3,
    "eventbrite.co.uk": 2,
    "eventbrite.com": 2,
    "wix.com": 1,
    "canva.site": 1,
    "padlet.com": 1,
}


class PartnerError(Exception):
    """A change that cannot be made: `status` is the HTTP answer, `field` where to show the message."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def as_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping if hasattr(row, "_mapping") else row)
    return {key: aware(value) if isinstance(value, datetime) else value for key, value in data.items()}


# --- names, slugs and websites ------------------------------------------------------------------------------


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace("&", " and ").replace("'", "")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:100].strip("-")
    return slug or "organisation"


def unique_slug(conn: Connection, name: str) -> str:
    base = slugify(name)
    taken = set(
        conn.execute(
            select(partners.c.slug).where((partners.c.slug == base) | partners.c.slug.like(f"{base}-%"))
        ).scalars()
    )
    if base not in taken and base not in RESERVED_SLUGS:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def website_identity(url: str) -> str:
    """What makes two websites "the same" for the duplicate rule: the host without www. (and without a port),
    plus the first path segments on platforms many organisations share."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    segments = SHARED_HOSTS.get(host, 0)
    if segments:
        path = [p.lower() for p in parts.path.split("/") if p][:segments]
        return "/".join([host, *path])
    return host


# --- reading ----------------------------------------------------------------------------------------------


def get(conn: Connection, partner_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    if not isinstance(partner_id, str) or len(partner_id) > 64:
        return None
    query = select(partners).where(partners.c.id == partner_id)
    if for_update and conn.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return as_dict(row) if row else None


def get_by_slug(conn: Connection, slug: str) -> dict[str, Any] | None:
    row = conn.execute(select(partners).where(partners.c.slug == slug)).first()
    return as_dict(row) if row else None


def require(conn: Connection, partner_id: str, *, for_update: bool = True) -> dict[str, Any]:
    partner = get(conn, partner_id, for_update=for_update)
    if partner is None:
        raise PartnerError(404, "id", "There is no such partner application.")
    return partner


def logo_url(partner: dict[str, Any]) -> str | None:
    key = partner.get("logo_key")
    return media.media_store("partners").public_url(key) if key else None


def public_pledge(pledge: str | None) -> str | None:
    if not pledge:
        return None
    if len(pledge) <= PUBLIC_PLEDGE_MAX:
        return pledge
    cut = pledge[: PUBLIC_PLEDGE_MAX - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > PUBLIC_PLEDGE_MAX // 2 else cut).rstrip(" ,.;:") + "…"


def public_profile(partner: dict[str, Any]) -> dict[str, Any]:
    """The PublicPartnerProfile of partners.events: every field here is public."""
    return {
        "partner_id": partner["id"],
        "name": partner["name"],
        "slug": partner["slug"],
        "type": partner["type"],
        "website": partner["website"],
        "country": partner["country"],
        "region": partner["region"],
        "size_band": partner["size_band"],
        "pledge": public_pledge(partner["pledge"]),
        "logo_url": logo_url(partner),
        "profile_url": links.profile_url(partner["slug"]),
    }


def directory_entry(partner: dict[str, Any]) -> dict[str, Any]:
    """One partner in GET /api/partners: the public profile, the full pledge, the badge and approval time."""
    return public_profile(partner) | {
        "pledge": partner["pledge"],
        "badge_url": links.badge_svg_url(partner["slug"]),
        "approved_at": partner["approved_at"],
    }


def directory(
    engine: Engine,
    *,
    country: str | None = None,
    type: str | None = None,
    q: str | None = None,
    status: str | None = APPROVED,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[dict[str, Any]], int]:
    """A page of partners (approved ones by default), filtered, ordered by name (staff: by registration)."""
    conditions = []
    if status is not None:
        conditions.append(partners.c.status == status)
    if country:
        conditions.append(partners.c.country == country)
    if type:
        conditions.append(partners.c.type == type)
    if q:
        conditions.append(func.lower(partners.c.name).contains(q.lower(), autoescape=True))
    order = (partners.c.name, partners.c.id) if status == APPROVED else (partners.c.registered_at, partners.c.id)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(partners).where(*conditions)).scalar_one()
        rows = conn.execute(
            select(partners).where(*conditions).order_by(*order).limit(page_size).offset((page - 1) * page_size)
        ).all()
    return [as_dict(row) for row in rows], int(total)


# --- duplicates -------------------------------------------------------------------------------------------

_WHAT_TO_DO = {
    PENDING_VERIFICATION: "is waiting for its email address to be confirmed. Use the link in the email we sent, "
    "or ask for a new one at /partners/verify/resend.",
    PENDING_REVIEW: "is already with our partnerships team; we will email the contact when it has been decided.",
    APPROVED: "is already an official partner. Use the manage link in the welcome email to change the listing, "
    "or write to the partnerships team if you no longer have it.",
}


def find_duplicate(
    conn: Connection, *, email: str | None, domain: str | None, exclude_id: str | None = None
) -> PartnerError | None:
    """A 409 naming the clash and what to do, when an active application has this email or website."""
    for field, column, value, subject in (
        ("contact_email", partners.c.contact_email, email, "An application with this contact email address"),
        ("website", partners.c.website_domain, domain, f"An application for the website {domain}"),
    ):
        if not value:
            continue
        query = select(partners.c.status).where(column == value, partners.c.status.in_(ACTIVE))
        if exclude_id:
            query = query.where(partners.c.id != exclude_id)
        status = conn.execute(query.limit(1)).scalar()
        if status is not None:
            return PartnerError(409, field, f"{subject} {_WHAT_TO_DO[status]}")
    return None


# --- emails -----------------------------------------------------------------------------------------------


def request_email(
    conn: Connection, partner: dict[str, Any], template: str, key: str, context: dict[str, Any]
) -> None:
    """An email.requested command for the newsletter service's mailer, in the caller's transaction."""
    if not partner.get("contact_email"):
        return
    idempotency_key = f"{template}:{partner['id']}:{key}"
    data = {
        "template": template,
        "to": partner["contact_email"],
        "to_name": partner.get("contact_name") or None,
        "context": {
            "organisation_name": partner["name"],
            "contact_name": partner.get("contact_name") or "there",
            **context,
        },
        "idempotency_key": idempotency_key,
        "stream": "transactional",
    }
    # notifications.email is keyed by the idempotency key, so a command and its retries share a partition.
    outbox.publish(conn, "email.requested", idempotency_key, data, source=SOURCE)


def _send_verification(conn: Connection, partner: dict[str, Any], at: datetime) -> None:
    nonce = links.new_nonce()
    request_email(
        conn,
        partner,
        "partner_verification",
        nonce,
        {
            "verify_url": links.verify_url(links.verify_token(partner["id"], nonce)),
            "expires_in_hours": links.VERIFY_MAX_AGE // 3600,
            "manage_url": links.manage_url(partner["id"], partner["manage_nonce"]),
        },
    )
    conn.execute(update(partners).where(partners.c.id == partner["id"]).values(verification_sent_at=at))


# --- register ---------------------------------------------------------------------------------------------


def register(engine: Engine, data: dict[str, Any], *, logo_key: str | None = None) -> dict[str, Any]:
    """Store a new application, publish partner.registered, and ask for the verification email."""
    at = now()
    domain = website_identity(data["website"])
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                replaced_logos = _supersede_unverified(conn, domain, data["contact_email"], at)
                duplicate = find_duplicate(conn, email=data["contact_email"], domain=domain)
                if duplicate:
                    raise duplicate
                _check_logo_unused(conn, logo_key, None)
                partner = {
                    "id": str(uuid.uuid4()),
                    "slug": unique_slug(conn, data["name"]),
                    "status": PENDING_VERIFICATION,
                    "name": data["name"],
                    "type": data["type"],
                    "website": data["website"],
                    "website_domain": domain,
                    "country": data["country"],
                    "region": data.get("region"),
                    "size_band": data.get("size_band"),
                    "pledge": data["pledge"],
                    "logo_key": logo_key,
                    "contact_name": data["contact_name"],
                    "contact_email": data["contact_email"],
                    "contact_phone": data.get("contact_phone"),
                    "listing_consent": True,
                    "listing_consent_at": at,
                    "terms_version": data["terms_version"],
                    "terms_accepted_at": at,
                    "manage_nonce": links.new_nonce(),
                    "registered_at": at,
                    "updated_at": at,
                }
                conn.execute(insert(partners).values(partner))
                outbox.publish(
                    conn,
                    "partner.registered",
                    partner["id"],
                    {
                        "partner_id": partner["id"],
                        "name": partner["name"],
                        "type": partner["type"],
                        "country": partner["country"],
                        "region": partner["region"],
                        "size_band": partner["size_band"],
                        "registered_at": at,
                    },
                    source=SOURCE,
                )
                _send_verification(conn, partner, at)
            for key in replaced_logos:
                delete_logo(key)
            return partner
        except IntegrityError:
            # Another registration won a race for the slug, the email or the website: look again.
            if attempt == 2:
                raise
            log.info("registration raced another; retrying")
    raise AssertionError("unreachable")


def _check_logo_unused(conn: Connection, logo_key: str | None, partner_id: str | None) -> None:
    if not logo_key:
        return
    query = select(partners.c.id).where(partners.c.logo_key == logo_key)
    if partner_id:
        query = query.where(partners.c.id != partner_id)
    if conn.execute(query.limit(1)).first():
        raise PartnerError(422, "logo_key", "This logo upload has already been used; upload the logo again.")


# --- verify -----------------------------------------------------------------------------------------------


def verify(engine: Engine, partner_id: str) -> tuple[dict[str, Any], bool]:
    """Mark the contact's email as verified: (partner, whether this call changed anything)."""
    with engine.begin() as conn:
        partner = require(conn, partner_id)
        if partner["status"] != PENDING_VERIFICATION:
            if partner["status"] == WITHDRAWN:
                raise PartnerError(410, "token", "This application has been withdrawn.")
            return partner, False
        at = now()
        conn.execute(
            update(partners)
            .where(partners.c.id == partner_id)
            .values(status=PENDING_REVIEW, email_verified_at=at, updated_at=at)
        )
        outbox.publish(
            conn,
            "partner.email_verified",
            partner_id,
            {"partner_id": partner_id, "verified_at": at},
            source=SOURCE,
        )
        return partner | {"status": PENDING_REVIEW, "email_verified_at": at}, True


def resend_verification(engine: Engine, *, email: str | None = None, partner_id: str | None = None) -> bool:
    """Send a fresh verification link to an application still waiting for one. Says nothing about others."""
    with engine.begin() as conn:
        query = select(partners).where(partners.c.status == PENDING_VERIFICATION)
        if partner_id:
            query = query.where(partners.c.id == partner_id)
        elif email:
            query = query.where(partners.c.contact_email == email.strip().lower())
        else:
            return False
        row = conn.execute(query.limit(1)).first()
        if row is None:
            return False
        _send_verification(conn, as_dict(row), now())
        return True


# --- staff review -----------------------------------------------------------------------------------------


def approve(engine: Engine, partner_id: str, *, by: str) -> dict[str, Any]:
    with engine.begin() as conn:
        partner = require(conn, partner_id)
        if partner["status"] != PENDING_REVIEW:
            raise PartnerError(409, "status", _cannot("approve", partner["status"]))
        at = now()
        conn.execute(
            update(partners)
            .where(partners.c.id == partner_id)
            .values(status=APPROVED, approved_at=at, reviewed_by=by, updated_at=at)
        )
        partner |= {"status": APPROVED, "approved_at": at, "reviewed_by": by}
        outbox.publish(
            conn, "partner.approved", partner_id, public_profile(partner) | {"approved_at": at}, source=SOURCE
        )
        request_email(
            conn,
            partner,
            "partner_approved",
            "approved",
            {
                "profile_url": links.profile_url(partner["slug"]),
                "badge_url": links.badge_png_url(partner["slug"]),
                "badge_svg_url": links.badge_svg_url(partner["slug"]),
                "badge_html": links.badge_html(partner["slug"], partner["name"]),
                "manage_url": links.manage_url(partner_id, partner["manage_nonce"]),
            },
        )
        return partner


def reject(engine: Engine, partner_id: str, reason: str, *, by: str) -> dict[str, Any]:
    with engine.begin() as conn:
        partner = require(conn, partner_id)
        if partner["status"] not in (PENDING_REVIEW, PENDING_VERIFICATION):
            raise PartnerError(409, "status", _cannot("reject", partner["status"]))
        at = now()
        conn.execute(
            update(partners)
            .where(partners.c.id == partner_id)
            .values(status=REJECTED, rejected_at=at, reject_reason=reason, reviewed_by=by, updated_at=at)
        )
        partner |= {"status": REJECTED, "rejected_at": at, "reject_reason": reason, "reviewed_by": by}
        outbox.publish(
            conn,
            "partner.rejected",
            partner_id,
            {"partner_id": partner_id, "reason": reason, "rejected_at": at},
            source=SOURCE,
        )
        if partner["email_verified_at"]:
            # Not to an address nobody confirmed: the application may have used someone else's.
            request_email(conn, partner, "partner_rejected", "rejected", {"reason": reason})
        return partner


def _cannot(action: str, status: str) -> str:
    explanations = {
        PENDING_VERIFICATION: "its contact has not confirmed their email address yet",
        PENDING_REVIEW: "it is waiting for review",
        APPROVED: "it is already approved",
        REJECTED: "it has been rejected",
        WITHDRAWN: "it has been withdrawn",
    }
    return (
        f"This application cannot be {'approved' if action == 'approve' else action + 'ed'}: "
        f"{explanations.get(status, status)}."
    )


# --- update and withdraw ----------------------------------------------------------------------------------

LISTING_FIELDS = ("name", "type", "website", "country", "region", "size_band", "pledge")
CONTACT_FIELDS = ("contact_name", "contact_phone")


def update_listing(
    engine: Engine, partner_id: str, changes: dict[str, Any], *, allowed: tuple[str, ...] = LISTING_FIELDS
) -> tuple[dict[str, Any], str | None]:
    """Change the listing (and, for the partner, their contact's name and phone). An approved partner's new
    profile goes out as partner.updated. Returns (partner, the logo key replaced, to delete after commit)."""
    with engine.begin() as conn:
        partner = require(conn, partner_id)
        if partner["status"] in (WITHDRAWN, REJECTED):
            raise PartnerError(409, "status", f"This application has been {partner['status']}; it cannot change.")
        values = {name: changes[name] for name in allowed if name in changes}
        for required in ("name", "type", "website", "country", "pledge", "contact_name"):
            if required in values and values[required] is None:
                raise PartnerError(422, required, "This field cannot be empty.")
        if "website" in values:
            values["website_domain"] = website_identity(values["website"])
            duplicate = find_duplicate(conn, email=None, domain=values["website_domain"], exclude_id=partner_id)
            if duplicate:
                raise duplicate
        replaced = None
        new_logo = changes.get("logo_key")
        if new_logo and new_logo != partner["logo_key"]:
            _check_logo_unused(conn, new_logo, partner_id)
            replaced, values["logo_key"] = partner["logo_key"], new_logo
        elif changes.get("remove_logo") and partner["logo_key"]:
            replaced, values["logo_key"] = partner["logo_key"], None
        changed = {name: value for name, value in values.items() if partner.get(name) != value}
        if not changed:
            return partner, None
        at = now()
        changed["updated_at"] = at
        try:
            conn.execute(update(partners).where(partners.c.id == partner_id).values(changed))
        except IntegrityError as error:
            raise PartnerError(409, "website", "Another active application already has this website.") from error
        partner |= changed
        public_changed = set(changed) & {*LISTING_FIELDS, "logo_key"}
        if partner["status"] == APPROVED and public_changed:
            outbox.publish(
                conn, "partner.updated", partner_id, public_profile(partner) | {"updated_at": at}, source=SOURCE
            )
        return partner, replaced


def withdraw(engine: Engine, partner_id: str, *, by: str) -> tuple[dict[str, Any], bool]:
    """Take the partner out of the programme: partner.withdrawn (every read model drops it), the contact's
    details erased and every manage link revoked. (partner, whether this call changed anything)."""
    with engine.begin() as conn:
        partner = require(conn, partner_id)
        if partner["status"] == WITHDRAWN:
            return partner, False
        values = _withdraw_in(conn, partner, by=by, at=now())
    delete_logo(partner["logo_key"])
    return partner | values, True


def _withdraw_in(conn: Connection, partner: dict[str, Any], *, by: str, at: datetime) -> dict[str, Any]:
    values = {
        "status": WITHDRAWN,
        "withdrawn_at": at,
        "withdrawn_by": by,
        "updated_at": at,
        "contact_name": None,
        "contact_email": None,
        "contact_phone": None,
        "manage_nonce": links.new_nonce(),
        "logo_key": None,
    }
    conn.execute(update(partners).where(partners.c.id == partner["id"]).values(values))
    outbox.publish(
        conn, "partner.withdrawn", partner["id"], {"partner_id": partner["id"], "withdrawn_at": at}, source=SOURCE
    )
    return values


def _supersede_unverified(conn: Connection, domain: str, email: str, at: datetime) -> list[str | None]:
    """A new application for a website whose earlier application was never confirmed, from another address,
    replaces it: otherwise a typing mistake in the first email address would lock the website out for good.
    Returns the replaced applications' logo keys, to delete after commit."""
    rows = conn.execute(
        select(partners).where(
            partners.c.website_domain == domain,
            partners.c.status == PENDING_VERIFICATION,
            partners.c.contact_email != email,
        )
    ).all()
    for row in rows:
        log.info("application %s superseded by a new one for %s", row.id, domain)
        _withdraw_in(conn, as_dict(row), by="superseded", at=at)
    return [row.logo_key for row in rows]


def lapse_unverified(engine: Engine, *, older_than: timedelta = UNVERIFIED_LAPSE) -> int:
    """Withdraw applications whose email was never confirmed within `older_than` of the last link we sent, so
    their contact details are not kept and their email address and website are free again."""
    cutoff = now() - older_than
    sent = func.coalesce(partners.c.verification_sent_at, partners.c.registered_at)
    query = select(partners).where(partners.c.status == PENDING_VERIFICATION, sent < cutoff).limit(500)
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # several workers never withdraw one twice
    with engine.begin() as conn:
        rows = [as_dict(row) for row in conn.execute(query).all()]
        at = now()
        for row in rows:
            _withdraw_in(conn, row, by="lapsed", at=at)
    for row in rows:
        delete_logo(row["logo_key"])
    if rows:
        log.info("withdrew %d unconfirmed applications", len(rows))
    return len(rows)


def delete_logo(key: str | None) -> None:
    if not key:
        return
    try:
        media.media_store("partners").delete(key)
    except Exception:
        log.warning("could not delete logo %s", key, exc_info=True)
