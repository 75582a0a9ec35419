"""Emails rendered from templates under templates/email/: <name>.html and <name>.txt, subject in the .txt's first
line ("Subject: ..."). Missing context keys are an error, not a blank: a producer bug must not mail nonsense."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from nmd_runtime.settings import env


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("nmd_newsletter", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, html, text) of a transactional email."""
    values = {"public_base_url": env("PUBLIC_BASE_URL")} | context
    text = environment().get_template(f"email/{template}.txt").render(values)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"email/{template}.txt must start with a Subject: line")
    html = environment().get_template(f"email/{template}.html").render(values)
    return first.removeprefix("Subject: ").strip(), html, body.lstrip("\n")
