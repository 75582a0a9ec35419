"""The HTML pages for organisations: register, confirm the email, ask for a new link, manage or withdraw, and
the badge images. Every page works without JavaScript; a form with mistakes comes back with each message beside
its field and everything typed kept (a chosen logo is kept too, once it has passed its checks)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, Response, current_app, redirect, render_template, request
from nmd_runtime import media, tokens, web
from sqlalchemy import Engine

from nmd_partners import badge, countries, lifecycle, links
from nmd_partners import schemas as s
from nmd_partners.api import REGISTER_LIMIT, RESEND_LIMIT, RESENT, verified_message
from nmd_partners.api import resend as send_again
from nmd_partners.lifecycle import PartnerError
from nmd_partners.tables import APPROVED, WITHDRAWN

# A form carrying a logo may be this large, so that a too-large logo gets its message beside the field (the
# logo itself is limited to 2 MB) rather than an error page.
FORM_BODY_LIMIT = 8 * 1024 * 1024

LISTING_TEXT_FIELDS = ("name", "type", "website", "country", "region", "size_band", "pledge")
REGISTRATION_TEXT_FIELDS = (*LISTING_TEXT_FIELDS, "contact_name", "contact_email", "contact_phone")

pages = Blueprint("partners_pages", __name__, template_folder="templates")


def engine() -> Engine:
    return current_app.extensions["partners_engine"]  # type: ignore[no-any-return]


def choices() -> dict[str, Any]:
    return {
        "type_choices": list(s.TYPE_LABELS.items()),
        "size_choices": list(s.SIZE_LABELS.items()),
        "country_choices": countries.choices(),
        "terms_version": s.TERMS_VERSION,
        "pledge_max": s.PLEDGE_MAX,
        "public_pledge_max": lifecycle.PUBLIC_PLEDGE_MAX,
    }


def page(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **choices(), **context), status=status, mimetype="text/html")


def message_page(title: str, message: str, status: int = 200, **context: Any) -> Response:
    return page("partners/message.html", status, title=title, message=message, **context)


# --- logos in forms -----------------------------------------------------------------------------------------


def form_logo(errors: dict[str, str]) -> str | None:
    """The logo of a posted form: a new file (checked, then stored), else one accepted on an earlier attempt."""
    store = media.media_store("partners")
    upload = request.files.get("logo")
    if upload is not None and upload.filename:
        data = upload.stream.read(lifecycle.LOGO_MAX_BYTES + 1)
        try:
            return store.accept(
                lifecycle.LOGO_PREFIX,
                data,
                allowed_types=lifecycle.LOGO_TYPES,
                max_bytes=lifecycle.LOGO_MAX_BYTES,
                declared_type=upload.mimetype,
                field="logo",
            ).key
        except media.MediaRefused as refused:
            errors["logo"] = refused.message
            return None
    kept = request.form.get("logo_key", "").strip()
    if not kept:
        return None
    if not media.key_has_prefix(kept, lifecycle.LOGO_PREFIX):
        errors["logo"] = "Please choose the logo file again."
        return None
    try:
        return store.verify_upload(
            kept, allowed_types=lifecycle.LOGO_TYPES, max_bytes=lifecycle.LOGO_MAX_BYTES, field="logo"
        ).key
    except media.MediaRefused:
        errors["logo"] = "Please choose the logo file again."
        return None


def load_form(
    schema: ma.Schema, text_fields: tuple[str, ...], extra: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any] | None:
    payload: dict[str, Any] = {name: request.form.get(name, "") for name in text_fields}
    payload |= extra
    try:
        return schema.load(payload)  # type: ignore[no-any-return]
    except ma.ValidationError as error:
        for field, message in web.form_errors(error).items():
            errors.setdefault("logo" if field == "logo_key" else field, message)
        return None


# --- registration -------------------------------------------------------------------------------------------


@pages.get("/partners/register")
def register_form() -> Response:
    return page("partners/register.html", values={}, errors={}, logo_key=None)


@pages.post("/partners/register")
@web.rate_limit(*REGISTER_LIMIT)
def register() -> Any:
    request.max_content_length = FORM_BODY_LIMIT
    if web.honeypot_tripped(request.form):
        return redirect("/partners/register/sent", code=303)  # looks the same to a bot; nothing is stored
    errors: dict[str, str] = {}
    logo_key = form_logo(errors)
    extra: dict[str, Any] = {
        "terms_version": request.form.get("terms_version") or s.TERMS_VERSION,
        "logo_key": logo_key,
    }
    for box in ("listing_consent", "accept_terms"):
        if request.form.get(box):
            extra[box] = request.form.get(box)
    data = load_form(s.RegistrationSchema(), REGISTRATION_TEXT_FIELDS, extra, errors)
    values = request.form.to_dict()
    if "terms_version" in errors:
        # The terms changed while the form was open: ask for the box to be ticked again, under the new wording.
        errors["accept_terms"] = errors.pop("terms_version")
        values.pop("accept_terms", None)
    if data is None or errors:
        return page("partners/register.html", 422, values=values, errors=errors, logo_key=logo_key)
    try:
        lifecycle.register(engine(), data, logo_key=logo_key)
    except PartnerError as error:
        return page(
            "partners/register.html",
            error.status,
            values=values,
            errors={error.field: error.message},
            logo_key=logo_key,
            conflict=error.status == 409,
        )
    return redirect("/partners/register/sent", code=303)


@pages.get("/partners/register/sent")
def register_sent() -> Response:
    return message_page(
        "Check your email",
        "Thank you for registering. We have sent an email to the contact address with a link to confirm it; the "
        "link works for 72 hours. Once it is confirmed, our partnerships team will review the application.",
        action=("/partners/verify/resend", "Did not get the email? Ask for a new link"),
    )


@pages.get("/partners/terms")
def terms() -> Response:
    return page("partners/terms.html")


# --- email verification -------------------------------------------------------------------------------------


@pages.get("/partners/verify/<token>")
def verify_form(token: str) -> Response:
    """A button, not an automatic confirmation: mail scanners open links, and only a person should confirm."""
    try:
        links.read_verify_token(token)
    except tokens.BadLink as bad:
        return bad_verify_link(token, bad)
    return page("partners/verify.html", token=token)


@pages.post("/partners/verify/<token>")
def verify(token: str) -> Response:
    try:
        partner_id = links.read_verify_token(token)[0]
    except tokens.BadLink as bad:
        return bad_verify_link(token, bad)
    try:
        found, changed = lifecycle.verify(engine(), partner_id)
    except PartnerError as error:
        return message_page("This link no longer works", error.message, error.status)
    return message_page("Email address confirmed", verified_message(found, changed))


def bad_verify_link(token: str, bad: tokens.BadLink) -> Response:
    if bad.expired:
        return page(
            "partners/resend.html", 410, values={}, errors={}, expired_token=token, title="This link has expired"
        )
    return message_page(
        "This link is not valid",
        "Check that the whole link was copied from the email, or ask for a new one.",
        404,
        action=("/partners/verify/resend", "Ask for a new link"),
    )


@pages.get("/partners/verify/resend")
def resend_form() -> Response:
    return page("partners/resend.html", values={}, errors={}, expired_token=None, title="Get a new link")


@pages.post("/partners/verify/resend")
@web.rate_limit(*RESEND_LIMIT)
def resend() -> Response:
    if web.honeypot_tripped(request.form):
        return message_page("Check your email", RESENT)
    payload = {k: v for k in ("email", "token") if (v := request.form.get(k, "").strip())}
    try:
        data = s.ResendSchema().load(payload)
    except ma.ValidationError as error:
        return page(
            "partners/resend.html",
            422,
            values=request.form.to_dict(),
            errors=web.form_errors(error),
            expired_token=payload.get("token"),
            title="Get a new link",
        )
    send_again(data)
    return message_page("Check your email", RESENT)


# --- the partner's manage link ------------------------------------------------------------------------------


def managed(token: str) -> dict[str, Any] | Response:
    try:
        partner_id, nonce = links.read_manage_token(token)
    except tokens.BadLink as bad:
        return message_page(
            "This link no longer works" if bad.expired else "This link is not valid",
            "Please write to the partnerships team and we will send you a new one."
            if bad.expired
            else "Check that the whole link was copied from the email.",
            410 if bad.expired else 404,
        )
    with engine().connect() as conn:
        found = lifecycle.get(conn, partner_id)
    if found is None or found["manage_nonce"] != nonce or found["status"] == WITHDRAWN:
        return message_page(
            "This link no longer works",
            "This partnership has been withdrawn, so there is nothing left to manage.",
            410,
        )
    return found


def listing_values(found: dict[str, Any]) -> dict[str, Any]:
    return {name: found.get(name) for name in (*LISTING_TEXT_FIELDS, "contact_name", "contact_phone")}


@pages.get("/partners/manage/<token>")
def manage_form(token: str) -> Response:
    found = managed(token)
    if isinstance(found, Response):
        return found
    return page(
        "partners/manage.html",
        token=token,
        partner=found,
        values=listing_values(found),
        errors={},
        logo_url=lifecycle.logo_url(found),
        saved=request.args.get("saved") == "1",
        badge_html=links.badge_html(found["slug"], found["name"]) if found["status"] == APPROVED else None,
    )


@pages.post("/partners/manage/<token>")
def manage(token: str) -> Any:
    request.max_content_length = FORM_BODY_LIMIT
    found = managed(token)
    if isinstance(found, Response):
        return found
    errors: dict[str, str] = {}
    status = 422
    logo_key = form_logo(errors)
    extra = {"logo_key": logo_key, "remove_logo": bool(request.form.get("remove_logo"))}
    data = load_form(
        s.ContactUpdateSchema(), (*LISTING_TEXT_FIELDS, "contact_name", "contact_phone"), extra, errors
    )
    if data is not None and not errors:
        try:
            _updated, replaced = lifecycle.update_listing(
                engine(), found["id"], data, allowed=lifecycle.LISTING_FIELDS + lifecycle.CONTACT_FIELDS
            )
        except PartnerError as error:
            errors[error.field], status = error.message, error.status
        else:
            lifecycle.delete_logo(replaced)
            return redirect(f"/partners/manage/{token}?saved=1", code=303)
    return page(
        "partners/manage.html",
        status,
        logo_key=logo_key,
        token=token,
        partner=found,
        values=request.form.to_dict(),
        errors=errors,
        logo_url=lifecycle.logo_url(found),
        saved=False,
        badge_html=None,
    )


@pages.get("/partners/manage/<token>/withdraw")
def withdraw_form(token: str) -> Response:
    found = managed(token)
    if isinstance(found, Response):
        return found
    return page("partners/withdraw.html", token=token, partner=found)


@pages.post("/partners/manage/<token>/withdraw")
def withdraw(token: str) -> Response:
    found = managed(token)
    if isinstance(found, Response):
        return found
    lifecycle.withdraw(engine(), found["id"], by="partner")
    return message_page(
        "You have left the partner programme",
        f"{found['name']} has been removed from the partner directory, and we have deleted the "
        "contact's details. Thank you for supporting National Mentoring Day.",
    )


# --- badges -------------------------------------------------------------------------------------------------


def badge_partner(slug: str) -> dict[str, Any] | None:
    if not s.SLUG.match(slug) or len(slug) > 120:
        return None
    with engine().connect() as conn:
        found = lifecycle.get_by_slug(conn, slug)
    return found if found and found["status"] == APPROVED else None


@pages.get("/partners/badges/<slug>.svg")
def badge_svg(slug: str) -> Response:
    found = badge_partner(slug)
    if found is None:
        web.abort_with(404, "There is no approved partner with this badge.")
    response = Response(badge.svg(found["name"]), mimetype="image/svg+xml")
    return _badge_headers(response)


@pages.get("/partners/badges/<slug>.png")
def badge_png(slug: str) -> Response:
    found = badge_partner(slug)
    if found is None:
        web.abort_with(404, "There is no approved partner with this badge.")
    return _badge_headers(Response(badge.png(found["name"]), mimetype="image/png"))


def _badge_headers(response: Response) -> Response:
    # Embedded on partners' own sites; a withdrawn partner's badge must stop showing within the hour.
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
