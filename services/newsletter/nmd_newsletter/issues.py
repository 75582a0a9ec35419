"""Issues: editors compose (Markdown + automatic sections), preview, test-send, schedule, send now, pause, resume,
cancel, and watch progress. Sending itself is dispatch.py (audience and batches) and sending.py (the senders)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import markdown
import marshmallow as ma
import nh3
from flask import Blueprint, Response, current_app, redirect, render_template, request
from flask_smorest import Blueprint as ApiBlueprint
from markupsafe import Markup
from nmd_contracts import fields as f
from nmd_contracts.vocab import SUBSCRIBER_INTERESTS
from nmd_runtime import web
from nmd_runtime.outbox import publish
from nmd_runtime.settings import env
from nmd_runtime.staff import current_staff, staff_required
from sqlalchemy import Connection, func, insert, select, update

from nmd_newsletter import SOURCE
from nmd_newsletter.ledger import now
from nmd_newsletter.mail import Mail, Recipient, SendFailed, deliver, make_backend
from nmd_newsletter.rendering import environment
from nmd_newsletter.sections import sections
from nmd_newsletter.subscribing import INTEREST_LABELS
from nmd_newsletter.tables import interests_column, interests_list, issue_batches, issues
from nmd_newsletter.webhook import issue_stats

# Each recipient's own signed link token replaces this in both links: one short substitution per recipient keeps
# a 1,000-recipient SendGrid request small.
LINK_TOKEN = "%link_token%"
STAT_EVENTS = ("delivered", "bounce", "open", "click", "unsubscribe", "spamreport", "dropped")


class IssueSchema(ma.Schema):
    subject = f.text(200, required=True)
    body_markdown = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50_000))
    audience_interests = f.choice_set(SUBSCRIBER_INTERESTS, load_default=list)


class ScheduleSchema(ma.Schema):
    send_at = f.UtcDateTime(required=True)


class TestSendSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))


class ProgressSchema(ma.Schema):
    issue_id = ma.fields.String()
    subject = ma.fields.String()
    status = ma.fields.String()
    send_at = ma.fields.DateTime(allow_none=True)
    recipients = ma.fields.Integer()
    batches = ma.fields.Integer()
    batches_done = ma.fields.Integer()
    queued = ma.fields.Integer()
    sent = ma.fields.Integer()
    skipped = ma.fields.Integer()
    delivered = ma.fields.Integer()
    bounced = ma.fields.Integer()
    opened = ma.fields.Integer()
    clicked = ma.fields.Integer()
    unsubscribed = ma.fields.Integer()
    percent = ma.fields.Float()


class IssueRef(ma.Schema):
    issue_id = ma.fields.String()


class IssueListSchema(ma.Schema):
    issues = ma.fields.List(ma.fields.Nested(ProgressSchema))


class ActionError(Exception):
    pass


# --- rules
# --------------------------------------------------------------------------------------------------------


def create_issue(conn: Connection, data: dict[str, Any], author: str) -> str:
    issue_id = str(uuid.uuid4())
    conn.execute(
        insert(issues).values(
            issue_id=issue_id,
            subject=data["subject"],
            body_markdown=data["body_markdown"],
            audience_interests=interests_column(data["audience_interests"]),
            status="draft",
            created_at=now(),
            created_by=author,
            recipient_count=0,
            batch_count=0,
            batches_queued=0,
            batches_done=0,
            sent_count=0,
            skipped_count=0,
        )
    )
    return issue_id


def _issue(conn: Connection, issue_id: str, *, lock: bool = False) -> Any:
    query = select(issues).where(issues.c.issue_id == issue_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise LookupError(issue_id)
    return row


def _move(conn: Connection, issue_id: str, allowed: tuple[str, ...], status: str, **values: Any) -> Any:
    row = _issue(conn, issue_id, lock=True)
    if row.status not in allowed:
        raise ActionError(f"an issue that is {row.status} cannot be {status}")
    conn.execute(update(issues).where(issues.c.issue_id == issue_id).values(status=status, **values))
    return row


def edit_issue(conn: Connection, issue_id: str, data: dict[str, Any]) -> None:
    _move(
        conn,
        issue_id,
        ("draft",),
        "draft",
        subject=data["subject"],
        body_markdown=data["body_markdown"],
        audience_interests=interests_column(data["audience_interests"]),
    )


def schedule(conn: Connection, issue_id: str, send_at: datetime) -> None:
    """Scheduled issues start at send_at (now for "send now"); the worker's dispatcher fixes the audience then."""
    row = _move(conn, issue_id, ("draft", "scheduled"), "scheduled", send_at=send_at)
    publish(
        conn,
        "newsletter.issue_scheduled",
        issue_id,
        {
            "issue_id": issue_id,
            "subject": row.subject,
            "send_at": send_at,
            "audience_interests": interests_list(row.audience_interests),
            "scheduled_at": now(),
        },
        source=SOURCE,
    )


def pause(conn: Connection, issue_id: str) -> None:
    _move(conn, issue_id, ("sending",), "paused")


def resume(conn: Connection, issue_id: str) -> None:
    from nmd_newsletter.dispatch import requeue_held

    _move(conn, issue_id, ("paused",), "sending")
    requeue_held(conn, issue_id)


def cancel(conn: Connection, issue_id: str) -> None:
    _move(conn, issue_id, ("draft", "scheduled", "sending", "paused"), "cancelled")
    conn.execute(
        update(issue_batches)
        .where(issue_batches.c.issue_id == issue_id, issue_batches.c.status.in_(("queued", "held")))
        .values(status="cancelled", updated_at=now())
    )


def last_start(conn: Connection, issue_id: str) -> datetime | None:
    return conn.execute(select(func.max(issues.c.started_at)).where(issues.c.issue_id != issue_id)).scalar()


def render_issue(conn: Connection, row: Any, links: tuple[str, str] | None = None) -> tuple[str, str]:
    """(html, text); the unsubscribe and preferences links are `links`, or else carry LINK_TOKEN for each
    recipient's own token."""
    base = env("PUBLIC_BASE_URL")
    unsubscribe_url, preferences_url = links or (
        f"{base}/newsletter/unsubscribe/{LINK_TOKEN}",
        f"{base}/newsletter/preferences/{LINK_TOKEN}",
    )
    body_html = nh3.clean(markdown.markdown(row.body_markdown, extensions=["sane_lists"]))
    context = sections(conn, last_start(conn, row.issue_id)) | {
        "subject": row.subject,
        "body_html": Markup(body_html),
        "body_text": row.body_markdown,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
    }
    html = environment().get_template("newsletter/issue_email.html").render(context)
    text = environment().get_template("newsletter/issue_email.txt").render(context)
    return html, text


def progress(conn: Connection, row: Any) -> dict[str, Any]:
    counts = {
        r.event: r.count for r in conn.execute(select(issue_stats).where(issue_stats.c.issue_id == row.issue_id))
    }
    done = row.sent_count + row.skipped_count
    return {
        "issue_id": row.issue_id,
        "subject": row.subject,
        "status": row.status,
        "send_at": row.send_at,
        "recipients": row.recipient_count,
        "batches": row.batch_count,
        "batches_done": row.batches_done,
        "queued": max(row.recipient_count - done, 0),
        "sent": row.sent_count,
        "skipped": row.skipped_count,
        "delivered": counts.get("delivered", 0),
        "bounced": counts.get("bounce", 0),
        "opened": counts.get("open", 0),
        "clicked": counts.get("click", 0),
        "unsubscribed": counts.get("unsubscribe", 0),
        "percent": round(100.0 * done / row.recipient_count, 1)
        if row.recipient_count
        else (100.0 if row.status == "sent" else 0.0),
    }


def test_send(conn: Connection, row: Any, email: str) -> None:
    # A test goes to an editor, not a subscriber: its links lead to the sign-up page.
    subscribe = f"{env('PUBLIC_BASE_URL')}/newsletter/subscribe"
    html, text = render_issue(conn, row, (subscribe, subscribe))
    mail = Mail(
        sender=env("NEWSLETTER_FROM"),
        subject=f"[TEST] {row.subject}",
        text=text,
        html=html,
        recipients=[Recipient(email)],
        label=f"newsletter-test-{row.issue_id}-{uuid.uuid4().hex[:6]}",
        categories=["newsletter-test"],
    )
    deliver(make_backend(), mail, max_unavailable=2)


# --- staff pages
# --------------------------------------------------------------------------------------------------

pages = Blueprint("issues", __name__)


def _engine() -> Any:
    return current_app.extensions["nmd_newsletter_engine"]


def _author() -> str:
    member = current_staff()
    return member.username if member else "unknown"


def _render(template: str, status: int = 200, **context: Any) -> Response:
    page = render_template(f"newsletter/{template}", interest_labels=INTEREST_LABELS, **context)
    return Response(page, status=status, mimetype="text/html")


def _form() -> dict[str, Any]:
    return {
        "subject": request.form.get("subject", ""),
        "body_markdown": request.form.get("body_markdown", ""),
        "audience_interests": request.form.getlist("audience_interests"),
    }


@pages.get("/newsletter/staff/")
@staff_required("editor")
def staff_home() -> Response:
    with _engine().connect() as conn:
        rows = [progress(conn, r) for r in conn.execute(select(issues).order_by(issues.c.created_at.desc()))]
    return _render("staff_issues.html", issues=rows, values={"audience_interests": []}, errors={})


@pages.post("/newsletter/staff/issues")
@staff_required("editor")
def staff_create() -> Any:
    values = _form()
    try:
        data = IssueSchema().load(values)
    except ma.ValidationError as error:
        return _render("staff_issues.html", 422, issues=[], values=values, errors=web.form_errors(error))
    with _engine().begin() as conn:
        issue_id = create_issue(conn, data, _author())
    return redirect(f"/newsletter/staff/issues/{issue_id}", code=303)


def _issue_page(issue_id: str, status: int = 200, **extra: Any) -> Response:
    with _engine().connect() as conn:
        try:
            row = _issue(conn, issue_id)
        except LookupError:
            web.abort_with(404, "There is no such issue.")
        figures = progress(conn, row)
    values = extra.pop("values", None) or {
        "subject": row.subject,
        "body_markdown": row.body_markdown,
        "audience_interests": interests_list(row.audience_interests),
    }
    return _render(
        "staff_issue.html",
        status,
        issue=row,
        progress=figures,
        values=values,
        errors=extra.pop("errors", {}),
        **extra,
    )


@pages.get("/newsletter/staff/issues/<issue_id>")
@staff_required("editor")
def staff_issue(issue_id: str) -> Response:
    return _issue_page(issue_id, notice=request.args.get("notice"))


@pages.post("/newsletter/staff/issues/<issue_id>")
@staff_required("editor")
def staff_edit(issue_id: str) -> Any:
    values = _form()
    try:
        data = IssueSchema().load(values)
        with _engine().begin() as conn:
            edit_issue(conn, issue_id, data)
    except ma.ValidationError as error:
        return _issue_page(issue_id, 422, values=values, errors=web.form_errors(error))
    except ActionError as error:
        return _issue_page(issue_id, 409, notice=str(error))
    except LookupError:
        web.abort_with(404, "There is no such issue.")
    return redirect(f"/newsletter/staff/issues/{issue_id}?notice=Saved", code=303)


@pages.get("/newsletter/staff/issues/<issue_id>/preview.<kind>")
@staff_required("editor")
def staff_preview(issue_id: str, kind: str) -> Response:
    if kind not in ("html", "txt"):
        web.abort_with(404, "Previews are .html or .txt.")
    with _engine().connect() as conn:
        try:
            html, text = render_issue(conn, _issue(conn, issue_id))
        except LookupError:
            web.abort_with(404, "There is no such issue.")
    if kind == "html":
        response = Response(html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'"
        )
        return response
    return Response(text, mimetype="text/plain")


@pages.post("/newsletter/staff/issues/<issue_id>/<action>")
@staff_required("editor")
def staff_action(issue_id: str, action: str) -> Any:
    try:
        message = _act(issue_id, action, request.form)
    except ma.ValidationError as error:
        return _issue_page(issue_id, 422, errors=web.form_errors(error))
    except ActionError as error:
        return _issue_page(issue_id, 409, notice=str(error))
    except LookupError:
        web.abort_with(404, "There is no such issue or action.")
    return redirect(f"/newsletter/staff/issues/{issue_id}?notice={message}", code=303)


def _act(issue_id: str, action: str, form: Any) -> str:
    with _engine().begin() as conn:
        if action == "send-now":
            schedule(conn, issue_id, datetime.now(UTC))
            return "Sending starts now"
        if action == "schedule":
            schedule(conn, issue_id, ScheduleSchema().load({"send_at": form.get("send_at", "")})["send_at"])
            return "Scheduled"
        if action == "test":
            email = TestSendSchema().load({"email": form.get("email", "")})["email"]
            try:
                test_send(conn, _issue(conn, issue_id), email)
            except SendFailed as error:
                raise ActionError(f"the test could not be sent: {error}") from error
            return "Test sent"
        moves = {"pause": pause, "resume": resume, "cancel": cancel}
        if action not in moves:
            raise LookupError(action)
        moves[action](conn, issue_id)
        return {"pause": "Paused", "resume": "Resumed", "cancel": "Cancelled"}[action]


# --- API
# ----------------------------------------------------------------------------------------------------------

api = ApiBlueprint(
    "newsletter_issues",
    __name__,
    url_prefix="/api/newsletter",
    description="Newsletter issues (editor role; POSTs need the X-CSRF-Token header)",
)


def _api_progress(issue_id: str) -> dict[str, Any]:
    with _engine().connect() as conn:
        try:
            return progress(conn, _issue(conn, issue_id))
        except LookupError:
            web.json_error(404, "issue_id", "There is no such issue.")


@api.get("/issues")
@staff_required("editor")
@web.documented_errors(api, 401, 403)
@api.response(200, IssueListSchema)
def api_issues() -> dict[str, Any]:
    """Every issue with its progress, newest first."""
    with _engine().connect() as conn:
        return {
            "issues": [
                progress(conn, r)
                for r in conn.execute(select(issues).order_by(issues.c.created_at.desc()).limit(200))
            ]
        }


@api.post("/issues")
@staff_required("editor")
@web.documented_errors(api, 400, 401, 403)
@api.arguments(IssueSchema)
@api.response(201, IssueRef)
def api_create(data: dict[str, Any]) -> dict[str, str]:
    """Create a draft issue."""
    with _engine().begin() as conn:
        return {"issue_id": create_issue(conn, data, _author())}


@api.get("/issues/<issue_id>")
@staff_required("editor")
@web.documented_errors(api, 401, 403, 404)
@api.response(200, ProgressSchema)
def api_issue(issue_id: str) -> dict[str, Any]:
    """The issue's progress: queued, sent, delivered, bounced, opened, clicked, unsubscribed."""
    return _api_progress(issue_id)


@api.post("/issues/<issue_id>/schedule")
@staff_required("editor")
@web.documented_errors(api, 400, 401, 403, 404, 409)
@api.arguments(ScheduleSchema)
@api.response(200, ProgressSchema)
def api_schedule(data: dict[str, Any], issue_id: str) -> dict[str, Any]:
    """Schedule the issue (send_at in the past or now: send now)."""
    _api_act(issue_id, lambda conn: schedule(conn, issue_id, data["send_at"]))
    return _api_progress(issue_id)


@api.post("/issues/<issue_id>/<any(pause, resume, cancel):action>")
@staff_required("editor")
@web.documented_errors(api, 400, 401, 403, 404, 409)
@api.response(200, ProgressSchema)
def api_move(issue_id: str, action: str) -> dict[str, Any]:
    """Pause, resume or cancel sending."""
    _api_act(issue_id, lambda conn: {"pause": pause, "resume": resume, "cancel": cancel}[action](conn, issue_id))
    return _api_progress(issue_id)


def _api_act(issue_id: str, act: Any) -> None:
    try:
        with _engine().begin() as conn:
            act(conn)
    except LookupError:
        web.json_error(404, "issue_id", "There is no such issue.")
    except ActionError as error:
        web.json_error(409, "status", str(error))
