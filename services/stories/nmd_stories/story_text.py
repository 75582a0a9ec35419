"""A story is plain text with paragraphs. It is stored as typed and turned into HTML only here, for publication.

Every character of the text is escaped first, so markup typed into a story shows as text; nh3 then keeps only <p>
and <br> without attributes, as a second line of defence should the escaping above ever change.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3

# C0/C1 controls except tab and newline, and the bidirectional overrides that can make text read backwards.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
ALLOWED_TAGS = frozenset({"p", "br"})


def normalise(text: str) -> str:
    """The text as we store it: NFC, Unix newlines, no control characters, no trailing spaces on lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def paragraphs(text: str) -> list[str]:
    return [part.strip() for part in _PARAGRAPH_BREAK.split(normalise(text)) if part.strip()]


def body_html(text: str) -> str:
    """Sanitised HTML of a story: one <p> per paragraph, <br> for a line break inside one."""
    rendered = "".join(
        "<p>" + "<br>".join(html.escape(line, quote=True) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs(text)
    )
    return nh3.clean(rendered, tags=set(ALLOWED_TAGS), attributes={}, url_schemes=set(), strip_comments=True)
