"""The ten roles of a mentor, in this project's own words. Keys are the story themes of the event contracts
(nmd_contracts.vocab.MENTOR_ROLES), so the story wall filters by the same ten roles the page explains."""

from __future__ import annotations

from dataclasses import dataclass

from nmd_contracts.vocab import MENTOR_ROLES


@dataclass(frozen=True)
class MentorRole:
    key: str
    title: str
    summary: str
    in_practice: str


ROLES: tuple[MentorRole, ...] = (
    MentorRole(
        "trust_and_rapport",
        "Earning trust",
        "Nothing else works until the mentee believes you are on their side. Trust grows from small things done "
        "reliably: turning up when you said you would, remembering what mattered last time, being easy to reach.",
        "Start with their story, not your advice. Keep confidences. Be the same person every meeting.",
    ),
    MentorRole(
        "emotional_support",
        "Standing alongside",
        "Setbacks feel smaller when someone listens properly. A mentor takes feelings seriously, names what "
        "is hard "
        "without dramatising it, and reminds the mentee of what they have already managed.",
        "Listen to the end before you answer. Say out loud what you notice they did well.",
    ),
    MentorRole(
        "mentee_needs",
        "Putting the mentee first",
        "The relationship exists for the mentee's goals, not the mentor's. A good mentor helps someone see their "
        "strengths, choose goals that stretch without snapping, and turn them into steps with dates.",
        "Ask what success would look like to them in six months, then plan backwards together.",
    ),
    MentorRole(
        "sharing_knowledge",
        "Sharing what you have learned",
        "Experience is most useful when it is passed on honestly, mistakes included. Hearing how someone else got "
        "through a similar moment can save months of trial and error.",
        "Tell the version of events where things went wrong, and what you would do differently now.",
    ),
    MentorRole(
        "developing_skills",
        "Building skills",
        "Mentors help mentees practise the particular skills their goals need, and give feedback that is "
        "specific, "
        "kind and usable, so that learning keeps going between meetings.",
        "Pick one skill at a time, rehearse it together, and review how it went in real life.",
    ),
    MentorRole(
        "networking",
        "Opening doors",
        "Many opportunities arrive through people. A mentor can introduce the mentee to contacts, events and "
        "groups "
        "they would not have found alone, and show them how to build a network of their own.",
        "Make one warm introduction this term, and help them prepare for the conversation.",
    ),
    MentorRole(
        "independence",
        "Growing independence",
        "The aim is a mentee who no longer needs a mentor. That means handing over decisions, asking questions "
        "instead of giving answers, and letting them own the results.",
        "When they ask what to do, ask what options they see first, and which they would choose.",
    ),
    MentorRole(
        "role_model",
        "Setting an example",
        "Mentees learn as much from how a mentor behaves as from what they say. Honesty, fairness and "
        "respect shown "
        "in ordinary moments set a standard worth copying.",
        "Admit when you do not know. Treat everyone in the room with the same courtesy.",
    ),
    MentorRole(
        "monitoring_progress",
        "Keeping track of progress",
        "Looking back regularly keeps momentum. A mentor helps review how far the mentee has come, adjusts "
        "the plan "
        "when life changes, and makes sure milestones are noticed and celebrated.",
        "Keep a short shared note of goals and check it together every few meetings.",
    ),
    MentorRole(
        "accountability",
        "Holding to commitments",
        "Caring about someone includes expecting them to do what they said they would. A mentor follows up, helps "
        "work out what got in the way, and keeps the focus on the commitments the mentee chose.",
        "End each meeting with one agreed next step, and open the next meeting by asking about it.",
    ),
)

LABELS: dict[str, str] = {role.key: role.title for role in ROLES}

assert tuple(LABELS) == MENTOR_ROLES, "the page must cover exactly the roles stories are tagged with"


# --- the page ----------------------------------------------------------------------------------------------------

from flask import Blueprint, render_template  # noqa: E402  (the page sits beside its content)

from nmd_pages.site import public_page  # noqa: E402

blueprint = Blueprint("mentor_roles", __name__)


@blueprint.get("/role-of-a-mentor")
@public_page
def role_of_a_mentor() -> str:
    return render_template("pages/role_of_a_mentor.html", roles=ROLES)
