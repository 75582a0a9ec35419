"""The links this service puts in emails and events, and the signed tokens behind them.

Tokens sign the partner id and a nonce, never an address (nmd_runtime.tokens). Each purpose has its own salt, so a
verification token cannot be used as a manage token.
"""

from __future__ import annotations

import html
import secrets
from typing import Any

from nmd_runtime import settings, tokens

VERIFY_PURPOSE = "partner-verify"
MANAGE_PURPOSE = "partner-manage"
VERIFY_MAX_AGE = 72 * 3600
# The manage link comes in the welcome email and must keep working for as long as a partner keeps that email; it is
# revoked (nonce rotated) on withdrawal.
MANAGE_MAX_AGE = 365 * 24 * 3600


def base_url() -> str:
    return settings.env("PUBLIC_BASE_URL").rstrip("/")


def new_nonce() -> str:
    return secrets.token_hex(8)


def verify_token(partner_id: str, nonce: str) -> str:
    return tokens.make_token(VERIFY_PURPOSE, {"p": partner_id, "n": nonce})


def verify_url(token: str) -> str:
    return f"{base_url()}/partners/verify/{token}"


def read_verify_token(token: str, *, allow_expired: bool = False) -> tuple[str, str]:
    """(partner id, nonce), or tokens.BadLink. `allow_expired`: authentic but old (to offer a fresh link)."""
    value = tokens.read_token(VERIFY_PURPOSE, token, None if allow_expired else VERIFY_MAX_AGE)
    return _pair(value)


def manage_token(partner_id: str, nonce: str) -> str:
    return tokens.make_token(MANAGE_PURPOSE, {"p": partner_id, "n": nonce})


def manage_url(partner_id: str, nonce: str) -> str:
    return f"{base_url()}/partners/manage/{manage_token(partner_id, nonce)}"


def read_manage_token(token: str) -> tuple[str, str]:
    return _pair(tokens.read_token(MANAGE_PURPOSE, token, MANAGE_MAX_AGE))


def _pair(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict) or not isinstance(value.get("p"), str) or not isinstance(value.get("n"), str):
        raise tokens.BadLink("this link is not valid", expired=False)
    return value["p"], value["n"]


def profile_url(slug: str) -> str:
    """The partner's page in the public directory (served by the pages service)."""
    return f"{base_url()}/partner/{slug}"


def badge_svg_url(slug: str) -> str:
    return f"{base_url()}/partners/badges/{slug}.svg"


def badge_png_url(slug: str) -> str:
    return f"{base_url()}/partners/badges/{slug}.png"


def badge_html(slug: str, name: str) -> str:
    """The snippet a partner pastes into their website: the badge image, linking to their public profile."""
    alt = html.escape(f"{name} is an official partner of National Mentoring Day", quote=True)
    return (
        f'<a href="{html.escape(profile_url(slug), quote=True)}" '
        f'title="National Mentoring Day official partner">'
        f'<img src="{html.escape(badge_svg_url(slug), quote=True)}" alt="{alt}" width="240" height="96">'
        f"</a>"
    )
