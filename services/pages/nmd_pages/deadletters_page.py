"""/staff/deadletters (admins): what every service's consumers could not apply, and a button to replay a group's
dead letters after the fix is deployed. Reads the dead-letter topic directly; nothing is stored here."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request
from kafka.errors import KafkaError
from marshmallow import Schema, ValidationError, fields, validate
from nmd_runtime import deadletters, web
from nmd_runtime.staff import staff_required

blueprint = Blueprint("deadletters_page", __name__)
SHOWN = 50


class ReplayForm(Schema):
    group = fields.String(
        required=True, validate=[validate.Length(min=1, max=200), validate.Regexp(r"^[A-Za-z0-9._:-]+$")]
    )


def _summary(letters: list[deadletters.DeadLetter]) -> list[tuple[tuple[str, str, str], int]]:
    counts = Counter((d.origin("group"), d.origin("topic"), d.origin("error_type")) for d in letters)
    return sorted(counts.items())


@blueprint.get("/staff/deadletters")
@staff_required("admin")
def list_letters() -> Any:
    try:
        letters = deadletters.read_all(timeout_ms=1000)
        problem = None
    except (KafkaError, OSError) as error:
        letters, problem = [], f"Kafka did not answer ({type(error).__name__}); try again shortly."
    recent = sorted(letters, key=lambda d: d.origin("failed_at"), reverse=True)[:SHOWN]
    page = render_template(
        "pages/deadletters.html",
        summary=_summary(letters),
        recent=recent,
        problem=problem,
        replayed=request.args.get("replayed"),
        errors={},
    )
    return Response(page, status=503 if problem else 200, mimetype="text/html")


@blueprint.post("/staff/deadletters/replay")
@staff_required("admin")
def replay() -> Any:
    try:
        form = ReplayForm().load({"group": request.form.get("group", "")})
    except ValidationError as error:
        web.abort_with(422, "Choose a consumer group to replay.", error.messages)  # type: ignore[arg-type]
    sent = deadletters.replay(form["group"])
    return redirect(f"/staff/deadletters?replayed={sent}", code=303)
