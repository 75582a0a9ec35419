"""Checks that markup typed by a visitor came out as text: no new elements, no handlers, no script URLs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "data", "poster", "content"}
_SCRIPT_URL = re.compile(r"^(?:javascript|vbscript|data):|url=\s*(?:javascript|data):", re.IGNORECASE)
_INVISIBLE = re.compile(r"[\x00-\x20]+")


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def shapes(html: str) -> set[tuple[str, tuple[str, ...]]]:
    """Each element as (tag, its attribute names): what injected markup would add to."""
    return {(tag, tuple(sorted(name for name, _ in attrs))) for tag, attrs in parse(html).elements}


def dangers(html: str) -> list[str]:
    """Event handler attributes and script-bearing URLs anywhere in the page."""
    found = []
    for tag, attrs in parse(html).elements:
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"<{tag} {name}=...>")
            if name in URL_ATTRIBUTES and value and _SCRIPT_URL.search(_INVISIBLE.sub("", value)):
                found.append(f"<{tag} {name}={value!r}>")
    return found


def page_problems(page: str, baseline: str) -> list[str]:
    """What `page` has that the same page with harmless input has not, plus any dangers."""
    injected = sorted(shapes(page) - shapes(baseline))
    return [f"new element {tag} {attrs}" for tag, attrs in injected] + dangers(page)


def body_html_problems(body_html: str, typed: str) -> list[str]:
    """body_html may hold only bare <p> and <br>, and must show what was typed as text."""
    problems = [
        f"element {tag} {attrs}" for tag, attrs in parse(body_html).elements if tag not in ("p", "br") or attrs
    ]
    if typed not in "".join(parse(body_html).text):
        problems.append("the typed text is not shown as text")
    return problems
