"""The automatic checks a story goes through before a moderator sees it.

They flag, they never refuse: a moderator decides. Personal data (email addresses, phone numbers) in the text can
be redacted in one click, because a story about a young mentee must not carry anyone's contact details.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import Connection, select

from nmd_stories.tables import stories

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digits with the usual separators; counted as a phone number when it has 10 to 15 digits (E.164's most).
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ().\-]{7,}\d(?!\w)")
EMAIL_MARK = "[email removed]"
PHONE_MARK = "[phone number removed]"

DUPLICATE_THRESHOLD = 0.5
SHINGLE_WORDS = 3
DUPLICATE_CANDIDATES = 5000


# --- personal data ---


def _phones(text: str) -> list[str]:
    return [m.group(0) for m in PHONE.finditer(text) if 10 <= sum(c.isdigit() for c in m.group(0)) <= 15]


def personal_data(text: str) -> list[dict[str, str]]:
    """Email addresses and phone numbers found in the text, in order of kind."""
    found = [{"kind": "email", "text": m.group(0)} for m in EMAIL.finditer(text)]
    without_emails = EMAIL.sub(" ", text)
    return found + [{"kind": "phone", "text": phone} for phone in _phones(without_emails)]


def redact(text: str) -> str:
    """The text with every email address and phone number replaced by a visible mark."""
    text = EMAIL.sub(EMAIL_MARK, text)

    def phone_or_not(match: re.Match[str]) -> str:
        digits = sum(c.isdigit() for c in match.group(0))
        return PHONE_MARK if 10 <= digits <= 15 else match.group(0)

    return PHONE.sub(phone_or_not, text)


# --- profanity ---


@cache
def _profanity_pattern() -> re.Pattern[str]:
    lines = resources.files("nmd_stories").joinpath("wordlists/profanity.txt").read_text("utf-8").splitlines()
    words = [line.strip().lower() for line in lines if line.strip() and not line.startswith("#")]
    parts = [re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in words]
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b", re.IGNORECASE)


def profanity(text: str) -> list[str]:
    """The distinct words of the list found in the text, lower-cased, in order of appearance."""
    return list(dict.fromkeys(m.group(0).lower() for m in _profanity_pattern().finditer(text)))


# --- duplicates ---


def shingles(text: str) -> set[str]:
    """Overlapping runs of words of the normalised text (case, punctuation and spacing ignored)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def similarity(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two shingle sets."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def closest_story(conn: Connection, body: str, *, exclude: str | None = None) -> dict[str, Any] | None:
    """The most similar earlier story at or above the threshold, withdrawn ones aside (they are erased)."""
    mine = shingles(body)
    query = (
        select(stories.c.id, stories.c.title, stories.c.body)
        .where(stories.c.status != "withdrawn", stories.c.body.is_not(None))
        .order_by(stories.c.submitted_at.desc())
        .limit(DUPLICATE_CANDIDATES)
    )
    if exclude:
        query = query.where(stories.c.id != exclude)
    best: dict[str, Any] | None = None
    for row in conn.execute(query):
        score = similarity(mine, shingles(row.body))
        if score >= DUPLICATE_THRESHOLD and (best is None or score > best["similarity"]):
            best = {"story_id": row.id, "title": row.title, "similarity": round(score, 2)}
    return best


# --- all of them ---


def run_checks(conn: Connection, title: str, body: str, *, story_id: str | None = None) -> dict[str, Any]:
    text = f"{title}\n\n{body}"
    return {
        "personal_data": personal_data(text),
        "profanity": profanity(text),
        "duplicate_of": closest_story(conn, body, exclude=story_id),
    }


def flag_names(flags: dict[str, Any]) -> list[str]:
    """The flags that are raised, by name, for the moderation queue."""
    return [name for name in ("personal_data", "profanity", "duplicate_of") if flags.get(name)]
