"""The JSON API, documented at /partners/openapi.json (interactive docs at /partners/docs).

Public: register, upload a logo, verify, resend the link, the directory and a partner's badge.
Partner (with the manage link's token): read, update, withdraw.
Staff (partnerships role, signed in; X-CSRF-Token on changes): the review queue and its actions.
"""

from __future__ import annotations

import uuid
from typing import Any

import flask_smorest
from flask import current_app
from flask.views import MethodView
from nmd_runtime import media, tokens, web
from nmd_runtime.staff import current_staff, staff_required
from sqlalchemy import Engine

from nmd_partners import lifecycle, links
from nmd_partners import schemas as s
from nmd_partners.lifecycle import PartnerError
from nmd_partners.tables import APPROVED, PENDING_REVIEW

REGISTER_LIMIT = (10, 3600)  # registrations per client address per hour
RESEND_LIMIT = (5, 3600)
UPLOAD_LIMIT = (30, 3600)

public = flask_smorest.Blueprint(
    "partners_api",
    __name__,
    url_prefix="/api/partners",
    description="Partner registration, email verification, the partner directory and badges.",
)
partner = flask_smorest.Blueprint(
    "partners_manage_api",
    __name__,
    url_prefix="/api/partners/manage",
    description="A partner's own listing, reached with the token of the manage link we emailed them.",
)
staff = flask_smorest.Blueprint(
    "partners_staff_api",
    __name__,
    url_prefix="/api/partners/staff",
    description="Partner review for partnerships staff (signed in; send X-CSRF-Token on changes).",
)


def engine() -> Engine:
    return current_app.extensions["partners_engine"]  # type: ignore[no-any-return]


def fail(error: PartnerError) -> Any:
    web.json_error(error.status, error.field, error.message)


def logo_store() -> media.MediaStore:
    return media.media_store("partners")


def check_logo_key(key: str | None, field: str = "logo_key") -> str | None:
    """A logo uploaded with one of our forms, verified now (size, type, magic number); refused ones are deleted."""
    if not key:
        return None
    if not media.key_has_prefix(key, lifecycle.LOGO_PREFIX):
        web.json_error(422, field, "This is not a logo upload of ours; upload the logo with the form we issue.")
    try:
        return (
            logo_store()
            .verify_upload(
                key, allowed_types=lifecycle.LOGO_TYPES, max_bytes=lifecycle.LOGO_MAX_BYTES, field=field
            )
            .key
        )
    except media.MediaRefused as refused:
        web.json_error(422, refused.field, refused.message)


# --- public -----------------------------------------------------------------------------------------------


@public.route("")
class Partners(MethodView):
    @public.arguments(s.DirectoryQuerySchema, location="query")
    @public.response(200, s.DirectoryPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The partner directory: approved partners, by name; filter by country and type, search by name."""
        items, total = lifecycle.directory(
            engine(),
            country=args.get("country"),
            type=args.get("type"),
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )
        return {
            "items": [lifecycle.directory_entry(p) for p in items],
            "page": args["page"],
            "page_size": args["page_size"],
            "total": total,
        }

    @web.rate_limit(*REGISTER_LIMIT)
    @public.arguments(s.RegistrationSchema)
    @public.response(201, s.RegistrationAcceptedSchema)
    @public.alt_response(409, response="CONFLICT")
    @public.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, data: dict[str, Any]) -> Any:
        """Register an organisation. The contact gets an email with a link to confirm their address (72 hours).

        409 when an active application has the same contact email or website, saying what to do instead.
        """
        if data.pop("honeypot", None):
            return _accepted_body(str(uuid.uuid4())), 201  # looks the same to a bot; nothing is stored
        logo_key = check_logo_key(data.get("logo_key"))
        try:
            created = lifecycle.register(engine(), data, logo_key=logo_key)
        except PartnerError as error:
            fail(error)
        return _accepted_body(created["id"]), 201


def _accepted_body(partner_id: str) -> dict[str, str]:
    return {
        "id": partner_id,
        "status": "pending_verification",
        "message": "Thank you. We have emailed the contact a link to confirm their address; "
        "the link works for 72 hours.",
    }


@public.route("/logo-uploads")
class LogoUploads(MethodView):
    @web.rate_limit(*UPLOAD_LIMIT)
    @public.arguments(s.LogoUploadRequestSchema)
    @public.response(201, s.LogoUploadSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """A form to upload a logo straight to the media store: PNG, JPEG or WebP, at most 2 MB (no SVG).

        POST `fields` and then the file as form field `file` (multipart/form-data) to `url`, then send `key` as
        `logo_key` when registering or updating. The upload is checked again when the key is used.
        """
        upload = logo_store().presign_upload(
            lifecycle.LOGO_PREFIX,
            allowed_types=lifecycle.LOGO_TYPES,
            max_bytes=lifecycle.LOGO_MAX_BYTES,
            expires=900,
            content_type=data.get("content_type"),
        )
        return {
            "url": upload.url,
            "fields_": upload.fields,
            "key": upload.key,
            "max_bytes": upload.max_bytes,
            "allowed_types": list(upload.allowed_types),
            "expires_in": upload.expires_in,
        }, 201


@public.route("/verification")
class Verification(MethodView):
    @public.arguments(s.VerifySchema)
    @public.response(200, s.PartnerStatusSchema)
    @public.alt_response(410, response="GONE")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Confirm the contact's email address with the token from the verification link."""
        partner_id = read_verify_token(data["token"])
        try:
            found, changed = lifecycle.verify(engine(), partner_id)
        except PartnerError as error:
            fail(error)
        return {"id": found["id"], "status": found["status"], "message": verified_message(found, changed)}


def read_verify_token(token: str) -> str:
    try:
        return links.read_verify_token(token)[0]
    except tokens.BadLink as bad:
        if bad.expired:
            web.json_error(410, "token", "This link has expired; ask for a new one at /partners/verify/resend.")
        web.json_error(404, "token", "This link is not valid. Check it was copied in full.")


def verified_message(found: dict[str, Any], changed: bool) -> str:
    if changed:
        return "Thank you: your email address is confirmed. Our partnerships team will review the application."
    if found["status"] == PENDING_REVIEW:
        return "Your email address was already confirmed; the application is waiting for review."
    if found["status"] == APPROVED:
        return "Your email address was already confirmed, and the organisation is an official partner."
    return "Your email address was already confirmed."


@public.route("/verification/resend")
class ResendVerification(MethodView):
    @web.rate_limit(*RESEND_LIMIT)
    @public.arguments(s.ResendSchema)
    @public.response(202, s.MessageSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Send a new verification link (by the contact email, or the token of an expired link).

        Always answers the same way, so nobody can learn which addresses have registered.
        """
        resend(data)
        return {"message": RESENT}, 202


RESENT = (
    "If an application with that email address is waiting for confirmation, we have sent a new link. "
    "Please check your inbox (and spam folder)."
)


def resend(data: dict[str, Any]) -> None:
    partner_id = None
    if data.get("token"):
        try:
            partner_id = links.read_verify_token(data["token"], allow_expired=True)[0]
        except tokens.BadLink:
            partner_id = None
    if partner_id or data.get("email"):
        lifecycle.resend_verification(
            engine(), email=None if partner_id else data.get("email"), partner_id=partner_id
        )


@public.route("/<slug>")
class PublicPartner(MethodView):
    @public.response(200, s.PublicProfileSchema)
    @public.alt_response(404, response="NOT_FOUND")
    def get(self, slug: str) -> dict[str, Any]:
        """An approved partner's public profile."""
        return lifecycle.directory_entry(approved_partner(slug))


@public.route("/<slug>/badge")
class PartnerBadge(MethodView):
    @public.response(200, s.BadgeSchema)
    @public.alt_response(404, response="NOT_FOUND")
    def get(self, slug: str) -> dict[str, Any]:
        """The partner badge of an approved partner: image URLs and the HTML snippet to embed."""
        found = approved_partner(slug)
        return {
            "image_url": links.badge_svg_url(found["slug"]),
            "png_url": links.badge_png_url(found["slug"]),
            "profile_url": links.profile_url(found["slug"]),
            "html": links.badge_html(found["slug"], found["name"]),
        }


def approved_partner(slug: str) -> dict[str, Any]:
    found = None
    if s.SLUG.match(slug) and len(slug) <= 120:
        with engine().connect() as conn:
            found = lifecycle.get_by_slug(conn, slug)
    if found is None or found["status"] != APPROVED:
        web.json_error(404, "slug", "There is no approved partner at this address.")
    return found


# --- the partner, with the manage link --------------------------------------------------------------------


def managed_partner(token: str) -> dict[str, Any]:
    """The partner a manage token belongs to, or 404/410. A rotated nonce (withdrawal) revokes old links."""
    try:
        partner_id, nonce = links.read_manage_token(token)
    except tokens.BadLink as bad:
        web.json_error(
            410 if bad.expired else 404,
            "token",
            "This link has expired." if bad.expired else "This link is not valid.",
        )
    with engine().connect() as conn:
        found = lifecycle.get(conn, partner_id)
    if found is None or found["manage_nonce"] != nonce:
        web.json_error(410, "token", "This link no longer works: the partnership has been withdrawn.")
    return found


def managed_view(found: dict[str, Any]) -> dict[str, Any]:
    return {
        **{
            k: found[k]
            for k in (
                "id",
                "status",
                "slug",
                "name",
                "type",
                "website",
                "country",
                "region",
                "size_band",
                "pledge",
                "contact_name",
                "contact_phone",
            )
        },
        "logo_url": lifecycle.logo_url(found),
        "profile_url": links.profile_url(found["slug"]) if found["status"] == APPROVED else None,
    }


@partner.route("/<token>")
class ManagedPartner(MethodView):
    @partner.response(200, s.ManagedPartnerSchema)
    @partner.alt_response(404, response="NOT_FOUND")
    @partner.alt_response(410, response="GONE")
    def get(self, token: str) -> dict[str, Any]:
        """The partner's own listing."""
        return managed_view(managed_partner(token))

    @partner.arguments(s.ContactUpdateSchema(partial=True))
    @partner.response(200, s.ManagedPartnerSchema)
    @partner.alt_response(409, response="CONFLICT")
    def patch(self, changes: dict[str, Any], token: str) -> dict[str, Any]:
        """Update the listing (an approved partner's new profile goes out at once) or the contact's name/phone."""
        found = managed_partner(token)
        if changes.get("logo_key"):
            changes["logo_key"] = check_logo_key(changes["logo_key"])
        try:
            updated, replaced = lifecycle.update_listing(
                engine(), found["id"], changes, allowed=lifecycle.LISTING_FIELDS + lifecycle.CONTACT_FIELDS
            )
        except PartnerError as error:
            fail(error)
        lifecycle.delete_logo(replaced)
        return managed_view(updated)


@partner.route("/<token>/withdraw")
class ManagedWithdraw(MethodView):
    @partner.response(200, s.PartnerStatusSchema)
    def post(self, token: str) -> dict[str, Any]:
        """Leave the partner programme: the listing disappears everywhere and the contact's details are erased."""
        found = managed_partner(token)
        withdrawn, _changed = lifecycle.withdraw(engine(), found["id"], by="partner")
        return {
            "id": withdrawn["id"],
            "status": withdrawn["status"],
            "message": "The partnership has been withdrawn and the listing removed.",
        }


# --- staff ------------------------------------------------------------------------------------------------


def staff_view(found: dict[str, Any]) -> dict[str, Any]:
    return managed_view(found) | {
        k: found[k]
        for k in (
            "contact_email",
            "listing_consent",
            "listing_consent_at",
            "terms_version",
            "terms_accepted_at",
            "registered_at",
            "email_verified_at",
            "reviewed_by",
            "approved_at",
            "rejected_at",
            "reject_reason",
            "withdrawn_at",
            "withdrawn_by",
            "updated_at",
        )
    }


def staff_name() -> str:
    member = current_staff()
    return member.username if member else "unknown"


def staff_partner(partner_id: str) -> dict[str, Any]:
    found = None
    if s.UUID.match(partner_id):
        with engine().connect() as conn:
            found = lifecycle.get(conn, partner_id)
    if found is None:
        web.json_error(404, "id", "There is no such partner application.")
    return found


@staff.route("/applications")
class Applications(MethodView):
    @staff_required("partnerships")
    @staff.arguments(s.StaffQuerySchema, location="query")
    @staff.response(200, s.StaffPageSchema)
    @staff.alt_response(401, response="UNAUTHORIZED")
    @staff.alt_response(403, response="FORBIDDEN")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The review queue: every application, oldest first; filter by status, country and type."""
        items, total = lifecycle.directory(
            engine(),
            status=args.get("status"),
            country=args.get("country"),
            type=args.get("type"),
            q=args.get("q"),
            page=args["page"],
            page_size=args["page_size"],
        )
        return {
            "items": [staff_view(p) for p in items],
            "page": args["page"],
            "page_size": args["page_size"],
            "total": total,
        }


@staff.route("/applications/<partner_id>")
class Application(MethodView):
    @staff_required("partnerships")
    @staff.response(200, s.StaffPartnerSchema)
    @staff.alt_response(401, response="UNAUTHORIZED")
    @staff.alt_response(404, response="NOT_FOUND")
    def get(self, partner_id: str) -> dict[str, Any]:
        """One application with its contact details and history."""
        return staff_view(staff_partner(partner_id))

    @staff_required("partnerships")
    @staff.arguments(s.ListingUpdateSchema(partial=True))
    @staff.response(200, s.StaffPartnerSchema)
    @staff.alt_response(401, response="UNAUTHORIZED")
    @staff.alt_response(409, response="CONFLICT")
    def patch(self, changes: dict[str, Any], partner_id: str) -> dict[str, Any]:
        """Edit the public listing; an approved partner's new profile goes out as partner.updated."""
        found = staff_partner(partner_id)
        if changes.get("logo_key"):
            changes["logo_key"] = check_logo_key(changes["logo_key"])
        try:
            updated, replaced = lifecycle.update_listing(engine(), found["id"], changes)
        except PartnerError as error:
            fail(error)
        lifecycle.delete_logo(replaced)
        return staff_view(updated)


@staff.route("/applications/<partner_id>/approve")
class Approve(MethodView):
    @staff_required("partnerships")
    @staff.response(200, s.StaffPartnerSchema)
    @staff.alt_response(401, response="UNAUTHORIZED")
    @staff.alt_response(403, response="FORBIDDEN")
    @staff.alt_response(409, response="CONFLICT")
    def post(self, partner_id: str) -> dict[str, Any]:
        """Approve: the partner joins the directory (partner.approved) and gets a welcome email with the badge."""
        try:
            return staff_view(lifecycle.approve(engine(), staff_partner(partner_id)["id"], by=staff_name()))
        except PartnerError as error:
            fail(error)


@staff.route("/applications/<partner_id>/reject")
class Reject(MethodView):
    @staff_required("partnerships")
    @staff.arguments(s.RejectSchema)
    @staff.response(200, s.StaffPartnerSchema)
    @staff.alt_response(401, response="UNAUTHORIZED")
    @staff.alt_response(409, response="CONFLICT")
    def post(self, data: dict[str, Any], partner_id: str) -> dict[str, Any]:
        """Reject with a reason, which the applicant is told (and which is never published)."""
        try:
            return staff_view(
                lifecycle.reject(engine(), staff_partner(partner_id)["id"], data["reason"], by=staff_name())
            )
        except PartnerError as error:
            fail(error)


@staff.route("/applications/<partner_id>/withdraw")
class StaffWithdraw(MethodView):
    @staff_required("partnerships")
    @staff.response(200, s.StaffPartnerSchema)
    @staff.alt_response(401, response="UNAUTHORIZED")
    def post(self, partner_id: str) -> dict[str, Any]:
        """Remove a partner from the programme (partner.withdrawn); the contact's details are erased."""
        withdrawn, _changed = lifecycle.withdraw(engine(), staff_partner(partner_id)["id"], by="staff")
        return staff_view(withdrawn)


def register_api(api: flask_smorest.Api) -> None:
    api.register_blueprint(public)
    api.register_blueprint(partner)
    api.register_blueprint(staff)
