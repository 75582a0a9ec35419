"""The automatic checks: personal data, profanity, duplicates, and the text as stored."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from nmd_stories import checks, story_text
from nmd_stories.tables import stories
from sqlalchemy import select

from tests.stories.conftest import STORY, engine, story_json


def test_personal_data_is_found_and_redacted() -> None:
    text = (
        "Email jo.bloggs+mentor@example.co.uk or call 07700 900123, +44 (0)20 7946 0958 or 020-7946-0958. "
        "We met in 2019 and 2020, in room 101, on 12/10/2021."
    )
    found = checks.personal_data(text)
    assert found == [
        {"kind": "email", "text": "jo.bloggs+mentor@example.co.uk"},
        {"kind": "phone", "text": "07700 900123"},
        {"kind": "phone", "text": "+44 (0)20 7946 0958"},
        {"kind": "phone", "text": "020-7946-0958"},
    ]
    redacted = checks.redact(text)
    assert checks.personal_data(redacted) == []
    assert redacted.count("[phone number removed]") == 3 and "[email removed]" in redacted
    assert "2019 and 2020, in room 101, on 12/10/2021" in redacted


def test_profanity_is_flagged_by_whole_words_only() -> None:
    assert checks.profanity("What a SHIT day; the fucking bus was late. Shit.") == ["shit", "fucking"]
    assert checks.profanity("Scunthorpe's assessment of the cockpit in Penistone") == []


def test_similar_texts_score_high_and_different_ones_low() -> None:
    a = checks.shingles(STORY)
    assert checks.similarity(a, checks.shingles(STORY.upper().replace(".", " !"))) == 1.0
    assert checks.similarity(a, checks.shingles("Mentoring taught me to cook, to code and to ask for help.")) < 0.1


def test_a_resubmitted_story_is_flagged_as_a_duplicate(app: Flask, client: FlaskClient) -> None:
    first = client.post("/api/stories", json=story_json()).json["story_id"]
    again = story_json(story=STORY + " Thank you, Sam!", title="Believed in me")
    second = client.post("/api/stories", json=again).json["story_id"]
    with engine(app).connect() as conn:
        flags = conn.execute(select(stories.c.flags).where(stories.c.id == second)).scalar_one()
        first_flags = conn.execute(select(stories.c.flags).where(stories.c.id == first)).scalar_one()
    assert flags["duplicate_of"]["story_id"] == first and flags["duplicate_of"]["similarity"] >= 0.5
    assert first_flags == {"personal_data": [], "profanity": [], "duplicate_of": None}


def test_the_text_is_stored_plain_and_published_as_paragraphs() -> None:
    typed = "First line\r\nsame paragraph  \r\n\r\n\r\n\u202eSecond\x00 <b>para</b>"
    assert story_text.normalise(typed) == "First line\nsame paragraph\n\nSecond <b>para</b>"
    assert (
        story_text.body_html(typed) == "<p>First line<br>same paragraph</p><p>Second &lt;b&gt;para&lt;/b&gt;</p>"
    )
