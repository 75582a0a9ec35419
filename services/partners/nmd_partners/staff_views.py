"""Partner review for partnerships staff (admins too): the queue with filters, one application, approve, reject
with a reason, edit the listing, withdraw. Every route here is guarded by staff_required("partnerships"); CSRF
tokens are checked for every POST by nmd_runtime.staff."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import Blueprint, Response, redirect, request
from nmd_runtime import web
from nmd_runtime.staff import current_staff, staff_required

from nmd_partners import lifecycle, links
from nmd_partners import schemas as s
from nmd_partners.lifecycle import PartnerError
from nmd_partners.tables import APPROVED, PENDING_REVIEW, STATUSES
from nmd_partners.views import FORM_BODY_LIMIT, LISTING_TEXT_FIELDS, engine, form_logo, load_form, page

PAGE_SIZE = 25
STATUS_LABELS = {
    "pending_verification": "Waiting for email confirmation",
    "pending_review": "Waiting for review",
    "approved": "Approved",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}

review = Blueprint("partners_staff", __name__, url_prefix="/partners/staff")


def who() -> str:
    member = current_staff()
    return member.username if member else "unknown"


def application(partner_id: str) -> dict[str, Any]:
    found = None
    if s.UUID.match(partner_id):
        with engine().connect() as conn:
            found = lifecycle.get(conn, partner_id)
    if found is None:
        web.abort_with(404, "There is no such partner application.")
    return found


def detail(
    found: dict[str, Any],
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    reason: str = "",
) -> Response:
    return page(
        "partners/staff/detail.html",
        status,
        partner=found,
        errors=errors or {},
        notice=notice,
        reason=reason,
        status_labels=STATUS_LABELS,
        logo_url=lifecycle.logo_url(found),
        profile_url=links.profile_url(found["slug"]) if found["status"] == APPROVED else None,
    )


@review.get("/")
@staff_required("partnerships")
def queue() -> Response:
    raw = {k: v for k, v in request.args.items() if v != ""}
    raw.setdefault("status", PENDING_REVIEW)
    if raw["status"] == "all":
        raw.pop("status")
    try:
        args = s.StaffQuerySchema().load(raw)
    except ma.ValidationError as error:
        args, errors = {"page": 1, "page_size": PAGE_SIZE}, web.form_errors(error)
    else:
        errors = {}
    args["page_size"] = PAGE_SIZE
    items, total = lifecycle.directory(
        engine(),
        status=args.get("status"),
        country=args.get("country"),
        type=args.get("type"),
        q=args.get("q"),
        page=args["page"],
        page_size=PAGE_SIZE,
    )
    filters = {
        "status": request.args.get("status", PENDING_REVIEW),
        "country": args.get("country") or "",
        "type": args.get("type") or "",
        "q": args.get("q") or "",
    }

    def page_link(number: int) -> str:
        return "?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    pages_count = max(1, -(-total // PAGE_SIZE))
    return page(
        "partners/staff/queue.html",
        items=items,
        total=total,
        filters=filters,
        errors=errors,
        page_number=args["page"],
        pages_count=pages_count,
        page_link=page_link,
        status_choices=[("all", "Any status"), *((st, STATUS_LABELS[st]) for st in STATUSES)],
        status_labels=STATUS_LABELS,
    )


@review.get("/<partner_id>")
@staff_required("partnerships")
def show(partner_id: str) -> Response:
    notices = {
        "approved": "Approved: the partner is in the directory and the welcome email is on its way.",
        "rejected": "Rejected: the applicant will be told the reason.",
        "withdrawn": "Withdrawn: the partner has been removed from the directory.",
        "saved": "The listing has been saved.",
    }
    return detail(application(partner_id), notice=notices.get(request.args.get("done", "")))


@review.post("/<partner_id>/approve")
@staff_required("partnerships")
def approve(partner_id: str) -> Any:
    found = application(partner_id)
    try:
        lifecycle.approve(engine(), found["id"], by=who())
    except PartnerError as error:
        return detail(found, error.status, errors={"_status": error.message})
    return redirect(f"/partners/staff/{found['id']}?done=approved", code=303)


@review.post("/<partner_id>/reject")
@staff_required("partnerships")
def reject(partner_id: str) -> Any:
    found = application(partner_id)
    try:
        data = s.RejectSchema().load({"reason": request.form.get("reason", "")})
    except ma.ValidationError as error:
        return detail(found, 422, errors=web.form_errors(error), reason=request.form.get("reason", ""))
    try:
        lifecycle.reject(engine(), found["id"], data["reason"], by=who())
    except PartnerError as error:
        return detail(found, error.status, errors={"_status": error.message})
    return redirect(f"/partners/staff/{found['id']}?done=rejected", code=303)


@review.post("/<partner_id>/withdraw")
@staff_required("partnerships")
def withdraw(partner_id: str) -> Any:
    found = application(partner_id)
    lifecycle.withdraw(engine(), found["id"], by="staff")
    return redirect(f"/partners/staff/{found['id']}?done=withdrawn", code=303)


@review.get("/<partner_id>/edit")
@staff_required("partnerships")
def edit_form(partner_id: str) -> Response:
    found = application(partner_id)
    values = {name: found.get(name) for name in LISTING_TEXT_FIELDS}
    return page(
        "partners/staff/edit.html", partner=found, values=values, errors={}, logo_url=lifecycle.logo_url(found)
    )


@review.post("/<partner_id>/edit")
@staff_required("partnerships")
def edit(partner_id: str) -> Any:
    request.max_content_length = FORM_BODY_LIMIT
    found = application(partner_id)
    errors: dict[str, str] = {}
    status = 422
    logo_key = form_logo(errors)
    extra = {"logo_key": logo_key, "remove_logo": bool(request.form.get("remove_logo"))}
    data = load_form(s.ListingUpdateSchema(), LISTING_TEXT_FIELDS, extra, errors)
    if data is not None and not errors:
        try:
            _updated, replaced = lifecycle.update_listing(engine(), found["id"], data)
        except PartnerError as error:
            errors[error.field], status = error.message, error.status
        else:
            lifecycle.delete_logo(replaced)
            return redirect(f"/partners/staff/{found['id']}?done=saved", code=303)
    return page(
        "partners/staff/edit.html",
        status,
        partner=found,
        values=request.form.to_dict(),
        errors=errors,
        logo_url=lifecycle.logo_url(found),
        logo_key=logo_key,
    )
