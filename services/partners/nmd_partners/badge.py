"""The official partner badge: an image we draw for each approved partner (SVG for websites, PNG for email).

Our own image, not an upload: the organisation's name is the only variable part, escaped into the SVG's text.
"""

from __future__ import annotations

import io
import textwrap
from functools import lru_cache
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 480, 192
PURPLE = "#5b2a86"
GOLD = "#f2b632"
LINE_CHARS = 30
MAX_LINES = 2


def name_lines(name: str) -> list[str]:
    """The organisation's name on at most two lines, shortened with an ellipsis when longer."""
    lines = textwrap.wrap(" ".join(name.split()), LINE_CHARS, break_long_words=True) or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: LINE_CHARS - 1].rstrip() + "…"
    return lines


def svg(name: str) -> str:
    lines = name_lines(name)
    first_y = 128 if len(lines) == 1 else 116
    texts = "".join(
        f'<text x="32" y="{first_y + 30 * i}" font-size="26" font-weight="700" fill="#ffffff">'
        f"{escape(line)}</text>"
        for i, line in enumerate(lines)
    )
    label = escape(f"{name} is an official partner of National Mentoring Day", {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH // 2}" height="{HEIGHT // 2}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" rx="20" fill="{PURPLE}"/>'
        f'<rect x="0" y="0" width="12" height="{HEIGHT}" rx="6" fill="{GOLD}"/>'
        '<g font-family="Helvetica, Arial, sans-serif">'
        f'<text x="32" y="44" font-size="18" font-weight="700" letter-spacing="2" fill="{GOLD}">'
        "OFFICIAL PARTNER · 27 OCTOBER</text>"
        '<text x="32" y="80" font-size="30" font-weight="700" fill="#ffffff">National Mentoring Day</text>'
        f"{texts}</g></svg>"
    )


@lru_cache(maxsize=512)
def png(name: str) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), PURPLE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 11, HEIGHT), fill=GOLD)
    small = ImageFont.load_default(size=18)
    big = ImageFont.load_default(size=30)
    body = ImageFont.load_default(size=26)
    draw.text((32, 26), "OFFICIAL PARTNER · 27 OCTOBER", font=small, fill=GOLD)
    draw.text((32, 52), "National Mentoring Day", font=big, fill="#ffffff")
    lines = name_lines(name)
    top = 102 if len(lines) == 1 else 94
    for i, line in enumerate(lines):
        draw.text((32, top + 32 * i), line, font=body, fill="#ffffff")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
