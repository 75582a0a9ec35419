"""Subscribing with double opt-in, preferences, one-click unsubscribe (RFC 8058) and erasure.

The address stays in this service's database: subscriber events carry only the id, and links carry a signed id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import Blueprint, Response, render_template, request
from flask_smorest import Blueprint as ApiBlueprint
from nmd_contracts.vocab import SUBSCRIBER_INTERESTS
from nmd_runtime import tokens, web
from nmd_runtime.outbox import publish
from nmd_runtime.settings import env
from sqlalchemy import Connection, delete, insert, select, update

from nmd_newsletter import SOURCE
from nmd_newsletter.ledger import now
from nmd_newsletter.tables import interests_column, interests_list, subscribers

CONSENT_VERSION = "2026-09-01"
CONSENT_WORDING = (
    "Yes, email me National Mentoring Day news about the topics I chose. I can unsubscribe at any "
    "time with the link in every email."
)
CONFIRM_PURPOSE = "newsletter-confirm"
# One never-expiring link per subscriber for preferences, unsubscribing and erasure: it must work for as long as
# any email carrying it is kept.
MANAGE_PURPOSE = "newsletter-manage"
MAX_CONFIRMATION_EMAILS = 5
INTEREST_LABELS = {
    "campaign_news": "Campaign news and the countdown to 27 October",
    "mentoring_stories": "Mentoring stories",
    "partner_news": "New partners and partner news",
    "events": "Events",
    "resources": "Resources for mentors and organisations",
}


class SubscribeSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    name = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))
    interests = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(SUBSCRIBER_INTERESTS)),
        load_default=list,
        validate=ma.validate.Length(max=len(SUBSCRIBER_INTERESTS)),
    )
    consent = ma.fields.Boolean(required=True, validate=ma.validate.Equal(True, error="Please tick to agree."))


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class PreferencesSchema(TokenSchema):
    interests = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(SUBSCRIBER_INTERESTS)),
        required=True,
        validate=ma.validate.Length(max=len(SUBSCRIBER_INTERESTS)),
    )


class MessageSchema(ma.Schema):
    message = ma.fields.String()
    status = ma.fields.String()


# --- links
# --------------------------------------------------------------------------------------------------------


def manage_links() -> tokens.LinkSigner:
    """Signs "<subscriber id>:<issue id>": the subscriber's own never-expiring unsubscribe and preferences link."""
    return tokens.link_signer(MANAGE_PURPOSE)


def manage_token(subscriber_id: str, issue_id: str | None = None) -> str:
    return manage_links().make(f"{subscriber_id}:{issue_id or ''}")


def read_manage_token(token: str) -> tuple[str, str | None]:
    subscriber_id, _, issue_id = manage_links().read(token).partition(":")
    return subscriber_id, issue_id or None


def links(subscriber_id: str) -> dict[str, str]:
    base, token = env("PUBLIC_BASE_URL"), manage_token(subscriber_id)
    return {
        "preferences_url": f"{base}/newsletter/preferences/{token}",
        "unsubscribe_url": f"{base}/newsletter/unsubscribe/{token}",
    }


# --- rules
# --------------------------------------------------------------------------------------------------------


def request_subscription(conn: Connection, email: str, name: str | None, interests: list[str]) -> str:
    """Record the request and mail a confirmation link. Says nothing different for a known address."""
    email = email.strip().lower()
    row = conn.execute(select(subscribers).where(subscribers.c.email == email).with_for_update()).first()
    if row is not None and row.status == "confirmed":
        return str(row.subscriber_id)
    if row is not None and row.status == "pending" and row.requests >= MAX_CONFIRMATION_EMAILS:
        return str(row.subscriber_id)
    values = {
        "name": name,
        "interests": interests_column(sorted(set(interests))),
        "status": "pending",
        "consent_version": CONSENT_VERSION,
        "requested_at": now(),
        "confirmed_at": None,
    }
    if row is None:
        subscriber_id, count = str(uuid.uuid4()), 1
        conn.execute(insert(subscribers).values(subscriber_id=subscriber_id, email=email, requests=1, **values))
    else:
        subscriber_id, count = str(row.subscriber_id), row.requests + 1
        conn.execute(
            update(subscribers)
            .where(subscribers.c.subscriber_id == subscriber_id)
            .values(requests=count, **values)
        )
    publish(
        conn,
        "subscriber.requested",
        subscriber_id,
        {
            "subscriber_id": subscriber_id,
            "interests": sorted(set(interests)),
            "consent_version": CONSENT_VERSION,
            "requested_at": values["requested_at"],
        },
        source=SOURCE,
    )
    confirm_url = f"{env('PUBLIC_BASE_URL')}/newsletter/confirm/" + tokens.make_token(
        CONFIRM_PURPOSE, {"s": subscriber_id, "n": count}
    )
    _email(
        conn,
        "subscriber_confirmation",
        email,
        name,
        f"subscriber_confirmation:{subscriber_id}:{count}",
        {"name": name or "", "confirm_url": confirm_url},
    )
    return subscriber_id


def _email(
    conn: Connection, template: str, to: str, to_name: str | None, key: str, context: dict[str, Any]
) -> None:
    publish(
        conn,
        "email.requested",
        key,
        {"template": template, "to": to, "to_name": to_name, "context": context, "idempotency_key": key},
        source=SOURCE,
    )


def confirm(conn: Connection, token: str) -> str:
    """Returns "confirmed", "already" or raises BadLink."""
    value = tokens.read_token(CONFIRM_PURPOSE, token, tokens.CONFIRM_MAX_AGE)
    if not isinstance(value, dict):
        raise tokens.BadLink("this link is not valid", expired=False)
    row = _subscriber(conn, str(value.get("s")))
    if row is None or row.requests != value.get("n"):
        raise tokens.BadLink("this link has been replaced by a newer one", expired=True)
    if row.status == "confirmed":
        return "already"
    if row.status != "pending":
        raise tokens.BadLink("this link is no longer valid", expired=True)
    confirmed_at = now()
    conn.execute(
        update(subscribers)
        .where(subscribers.c.subscriber_id == row.subscriber_id)
        .values(status="confirmed", confirmed_at=confirmed_at, left_at=None, left_reason=None)
    )
    publish(
        conn,
        "subscriber.confirmed",
        row.subscriber_id,
        {
            "subscriber_id": row.subscriber_id,
            "interests": interests_list(row.interests),
            "consent_version": row.consent_version,
            "confirmed_at": confirmed_at,
        },
        source=SOURCE,
    )
    _email(
        conn,
        "subscriber_welcome",
        row.email,
        row.name,
        f"subscriber_welcome:{row.subscriber_id}:{row.requests}",
        {"name": row.name or ""} | links(row.subscriber_id),
    )
    return "confirmed"


def _subscriber(conn: Connection, subscriber_id: str) -> Any:
    return conn.execute(
        select(subscribers).where(subscribers.c.subscriber_id == subscriber_id).with_for_update()
    ).first()


def change_preferences(conn: Connection, subscriber_id: str, interests: list[str]) -> bool:
    row = _subscriber(conn, subscriber_id)
    if row is None:
        return False
    chosen = sorted(set(interests))
    conn.execute(
        update(subscribers)
        .where(subscribers.c.subscriber_id == subscriber_id)
        .values(interests=interests_column(chosen))
    )
    publish(
        conn,
        "subscriber.preferences_changed",
        subscriber_id,
        {"subscriber_id": subscriber_id, "interests": chosen, "changed_at": now()},
        source=SOURCE,
    )
    return True


def unsubscribe(conn: Connection, subscriber_id: str, method: str, issue_id: str | None = None) -> bool:
    """Stop mailing; True if the subscriber exists (already unsubscribed counts: the answer is the same)."""
    row = _subscriber(conn, subscriber_id)
    if row is None:
        return False
    if row.status in ("confirmed", "pending"):
        left_at = _leave(conn, subscriber_id, "unsubscribed", method)
        publish(
            conn,
            "subscriber.unsubscribed",
            subscriber_id,
            {"subscriber_id": subscriber_id, "method": method, "issue_id": issue_id, "unsubscribed_at": left_at},
            source=SOURCE,
        )
    return True


def suppress(conn: Connection, subscriber_id: str, reason: str) -> bool:
    row = _subscriber(conn, subscriber_id)
    if row is None or row.status in ("suppressed", "unsubscribed"):
        return False
    at = _leave(conn, subscriber_id, "suppressed", reason)
    publish(
        conn,
        "subscriber.suppressed",
        subscriber_id,
        {"subscriber_id": subscriber_id, "reason": reason, "suppressed_at": at},
        source=SOURCE,
    )
    return True


def _leave(conn: Connection, subscriber_id: str, status: str, reason: str) -> datetime:
    """Mark the subscriber as no longer mailed, saying why; returns when."""
    left_at = now()
    conn.execute(
        update(subscribers)
        .where(subscribers.c.subscriber_id == subscriber_id)
        .values(status=status, left_at=left_at, left_reason=reason)
    )
    return left_at


def erase(conn: Connection, subscriber_id: str) -> bool:
    if _subscriber(conn, subscriber_id) is None:
        return False
    conn.execute(delete(subscribers).where(subscribers.c.subscriber_id == subscriber_id))
    publish(
        conn,
        "subscriber.erased",
        subscriber_id,
        {"subscriber_id": subscriber_id, "erased_at": now()},
        source=SOURCE,
    )
    return True


# --- HTML pages
# ---------------------------------------------------------------------------------------------------

pages = Blueprint("subscribing", __name__)


def _engine() -> Any:
    from flask import current_app

    return current_app.extensions["nmd_newsletter_engine"]


def _page(template: str, status: int = 200, **context: Any) -> Response:
    html = render_template(
        f"newsletter/{template}", interest_labels=INTEREST_LABELS, consent_wording=CONSENT_WORDING, **context
    )
    return Response(html, status=status, mimetype="text/html")


def _bad_link(error: tokens.BadLink) -> Response:
    return _page("bad_link.html", 404 if not error.expired else 410, message=str(error))


@pages.get("/newsletter/subscribe")
def subscribe_form() -> Response:
    return _page("subscribe.html", values={"interests": list(SUBSCRIBER_INTERESTS)}, errors={})


@pages.post("/newsletter/subscribe")
@web.rate_limit(10, 3600)
def subscribe_submit() -> Response:
    if web.honeypot_tripped(request.form):
        return _page("subscribe_sent.html")
    form = {
        "email": request.form.get("email", ""),
        "name": request.form.get("name") or None,
        "interests": request.form.getlist("interests"),
        "consent": request.form.get("consent") == "yes",
    }
    try:
        data = SubscribeSchema().load(form)
    except ma.ValidationError as error:
        return _page("subscribe.html", 422, values=form, errors=web.form_errors(error))
    with _engine().begin() as conn:
        request_subscription(conn, data["email"], data["name"], data["interests"])
    return _page("subscribe_sent.html")


@pages.get("/newsletter/confirm/<token>")
def confirm_page(token: str) -> Response:
    return _page("confirm.html", token=token)


@pages.post("/newsletter/confirm/<token>")
def confirm_submit(token: str) -> Response:
    try:
        with _engine().begin() as conn:
            outcome = confirm(conn, token)
    except tokens.BadLink as error:
        return _bad_link(error)
    return _page("confirmed.html", already=outcome == "already", manage=None)


def _manage_row(token: str) -> tuple[Any, str | None]:
    subscriber_id, issue_id = read_manage_token(token)
    with _engine().connect() as conn:
        row = conn.execute(select(subscribers).where(subscribers.c.subscriber_id == subscriber_id)).first()
    if row is None:
        raise tokens.BadLink("we no longer hold any details for this subscription", expired=True)
    return row, issue_id


@pages.get("/newsletter/preferences/<token>")
def preferences_page(token: str) -> Response:
    try:
        row, _ = _manage_row(token)
    except tokens.BadLink as error:
        return _bad_link(error)
    return _page(
        "preferences.html", token=token, row=row, selected=interests_list(row.interests), errors={}, saved=False
    )


@pages.post("/newsletter/preferences/<token>")
def preferences_submit(token: str) -> Response:
    try:
        row, _ = _manage_row(token)
        data = PreferencesSchema().load({"token": token, "interests": request.form.getlist("interests")})
    except tokens.BadLink as error:
        return _bad_link(error)
    except ma.ValidationError as error:
        return _page(
            "preferences.html",
            422,
            token=token,
            row=row,
            selected=request.form.getlist("interests"),
            errors=web.form_errors(error),
            saved=False,
        )
    with _engine().begin() as conn:
        change_preferences(conn, row.subscriber_id, data["interests"])
    return _page(
        "preferences.html", token=token, row=row, selected=sorted(data["interests"]), errors={}, saved=True
    )


@pages.get("/newsletter/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Response:
    try:
        read_manage_token(token)
    except tokens.BadLink as error:
        return _bad_link(error)
    return _page("unsubscribe.html", token=token)


@pages.post("/newsletter/unsubscribe/<token>")
def unsubscribe_submit(token: str) -> Response:
    """RFC 8058: a POST with List-Unsubscribe=One-Click unsubscribes at once: no cookie, no login, no redirect."""
    try:
        subscriber_id, issue_id = read_manage_token(token)
    except tokens.BadLink as error:
        return _bad_link(error)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    with _engine().begin() as conn:
        unsubscribe(conn, subscriber_id, "one_click" if one_click else "link", issue_id)
    return _page("unsubscribed.html", token=token)


@pages.post("/newsletter/erase/<token>")
def erase_submit(token: str) -> Response:
    try:
        subscriber_id, _ = read_manage_token(token)
    except tokens.BadLink as error:
        return _bad_link(error)
    with _engine().begin() as conn:
        erase(conn, subscriber_id)
    return _page("erased.html")


# --- JSON API
# -----------------------------------------------------------------------------------------------------

api = ApiBlueprint("subscribers", __name__, url_prefix="/api/subscribers", description="Newsletter subscribers")


SENT = {
    "status": "confirmation_sent",
    "message": "If this address can be subscribed, a confirmation email is on its way.",
}


def _manage_id(token: str) -> str:
    try:
        subscriber_id, _ = read_manage_token(token)
    except tokens.BadLink as error:
        web.json_error(410 if error.expired else 404, "token", str(error))
    return subscriber_id


@api.post("")
@web.documented_errors(api, 429)
@api.arguments(SubscribeSchema)
@api.response(202, MessageSchema)
@web.rate_limit(10, 3600)
def api_subscribe(data: dict[str, Any]) -> dict[str, str]:
    """Ask to subscribe; a confirmation link is emailed (double opt-in). The answer is the same for any address."""
    with _engine().begin() as conn:
        request_subscription(conn, data["email"], data["name"], data["interests"])
    return SENT


@api.post("/confirm")
@web.documented_errors(api, 404, 410)
@api.arguments(TokenSchema)
@api.response(200, MessageSchema)
def api_confirm(data: dict[str, Any]) -> dict[str, str]:
    """Confirm a subscription with the token from the emailed link."""
    try:
        with _engine().begin() as conn:
            outcome = confirm(conn, data["token"])
    except tokens.BadLink as error:
        web.json_error(410 if error.expired else 404, "token", str(error))
    return {"status": "confirmed", "message": "Already confirmed." if outcome == "already" else "Confirmed."}


@api.put("/preferences")
@web.documented_errors(api, 404, 410)
@api.arguments(PreferencesSchema)
@api.response(200, MessageSchema)
def api_preferences(data: dict[str, Any]) -> dict[str, str]:
    """Replace the subscriber's interests."""
    subscriber_id = _manage_id(data["token"])
    with _engine().begin() as conn:
        if not change_preferences(conn, subscriber_id, data["interests"]):
            web.json_error(410, "token", "we no longer hold any details for this subscription")
    return {"status": "saved", "message": "Preferences saved."}


@api.post("/unsubscribe")
@web.documented_errors(api, 404, 410)
@api.arguments(TokenSchema)
@api.response(200, MessageSchema)
def api_unsubscribe(data: dict[str, Any]) -> dict[str, str]:
    """Stop all newsletter email to this subscriber."""
    subscriber_id = _manage_id(data["token"])
    with _engine().begin() as conn:
        unsubscribe(conn, subscriber_id, "link")
    return {"status": "unsubscribed", "message": "Unsubscribed."}


@api.post("/erase")
@web.documented_errors(api, 404, 410)
@api.arguments(TokenSchema)
@api.response(200, MessageSchema)
def api_erase(data: dict[str, Any]) -> dict[str, str]:
    """Delete everything we hold about this subscriber (right to erasure)."""
    subscriber_id = _manage_id(data["token"])
    with _engine().begin() as conn:
        erase(conn, subscriber_id)
    return {"status": "erased", "message": "Your details are erased."}
