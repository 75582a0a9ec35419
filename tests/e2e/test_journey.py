"""Every user's journey in a real headless Chromium, through the one origin of a platform started like `make run`
(real Kafka, its default SQLite databases, every web and worker process, the gateway), then again through nginx
with the production routes in front of a platform on PostgreSQL, as deployed:

an organisation registers, verifies from the email file, staff approve it, it is in the directory; a participant
shares a story, staff publish and feature it, it is on the story wall; a visitor subscribes and confirms, staff
send an issue, the subscriber's email holds the featured story and a one-click unsubscribe that works.

Screenshots of the real pages go to docs/screenshots/ for the README's tour (only pages of this journey's own
partner and story: the wall and the directory also show what other tests left on the shared broker).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.nginx import running_nginx
from tests.e2e.platform import Platform, running_platform
from tests.waiting import wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EVENTUALLY = 90_000  # ms: what travels through Kafka (read models, emails) on a busy machine


# One platform per test, each stopped before the next starts: two at once would crowd a two-core machine.
@pytest.fixture
def platform(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """`make run` as on a laptop: SQLite files under its var folder."""
    with running_platform(tmp_path_factory.mktemp("make-run"), kafka_bootstrap) as running:
        yield running


@pytest.fixture
def platform_on_postgresql(
    kafka_bootstrap: str, postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("make-run-pg"), kafka_bootstrap, postgres_server_url) as running:
        yield running


class Journey:
    """One walk through the site at `origin`; `shots` names the screenshots to take (none: take none)."""

    def __init__(self, browser: Browser, platform: Platform, origin: str, shots: bool) -> None:
        # Two people, two browsers: the visitors who register, share and subscribe, and a staff member.
        self.visitor_context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.staff_context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.visitor: Page = self.visitor_context.new_page()
        self.staff: Page = self.staff_context.new_page()
        self.page = self.visitor
        self.platform, self.origin, self.shots = platform, origin, shots
        self.tag = uuid.uuid4().hex[:6]
        self.notice_read: set[Page] = set()

    def as_visitor(self) -> Page:
        self.page = self.visitor
        return self.page

    def as_staff(self) -> Page:
        self.page = self.staff
        return self.page

    def go(self, path_or_url: str) -> None:
        # Emailed links carry PUBLIC_BASE_URL (the gateway); through nginx the same path is followed there.
        self.page.goto(self.origin + path_or_url.removeprefix(self.platform.origin))
        self.read_cookie_notice()

    def read_cookie_notice(self) -> None:
        """Hide the cookie notice the first time each person meets it, as a visitor would: the site remembers that
        in the browser, and the screenshots show the pages rather than the notice."""
        if self.page in self.notice_read:
            return
        hide = self.page.get_by_role("button", name="Hide this message")
        expect(hide).to_be_visible()
        hide.click()
        expect(hide).to_be_hidden()
        self.notice_read.add(self.page)

    def shot(self, name: str) -> None:
        if self.shots:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.evaluate("window.scrollTo(0, 0)")  # hiding the cookie notice moved focus to the content
            self.page.screenshot(path=str(SCREENSHOTS / f"tour-{name}.png"))

    def eventually_on(self, path: str, wanted: str) -> None:
        """Reload `path` until it shows `wanted`: read models follow events through Kafka."""

        def shown() -> bool:
            self.go(path)
            return self.page.get_by_text(wanted).count() > 0

        wait_for(shown, timeout=EVENTUALLY / 1000, interval=1, message=f"{wanted!r} never appeared on {path}")

    def close(self) -> None:
        self.visitor_context.close()
        self.staff_context.close()

    def sign_in_as_staff(self) -> None:
        self.as_staff()
        self.go("/staff/login")
        self.page.fill("#f-username", "admin")
        self.page.fill("#f-password", self.platform.staff_password)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("link", name="Partner review")).to_be_visible()
        self.shot("staff-home")

    # --- an organisation becomes a partner

    def register_organisation(self) -> tuple[str, str]:
        self.as_visitor()
        name, email = f"Brightside Academy {self.tag}", f"head+{self.tag}@example.org"
        self.go("/partners/register")
        page = self.page
        page.fill("#f-name", name)
        page.select_option("#f-type", "school")
        page.fill("#f-website", f"https://brightside-{self.tag}.example.org")
        page.select_option("#f-country", "GB")
        page.fill("#f-region", "Leeds")
        page.select_option("#f-size_band", "250-999")
        page.fill("#f-pledge", "Every sixth-former meets a mentor from a local employer on the day.")
        page.fill("#f-contact_name", "Jo Head")
        page.fill("#f-contact_email", email)
        page.check("#f-listing_consent")
        page.check("#f-accept_terms")
        self.shot("partner-register")
        page.get_by_role("button", name="Send the application").click()
        expect(page).to_have_url(re.compile(r"/partners/register/sent"))
        return name, email

    def verify_from_email(self, email: str) -> None:
        self.as_visitor()
        message = self.platform.email(email, "partner_verification")
        self.go(_link(message, r"/partners/verify/[^\s\"<>]+"))
        self.page.get_by_role("button", name="Confirm my email address").click()
        expect(self.page.locator("main")).to_contain_text("confirm", ignore_case=True)

    def approve(self, name: str) -> None:
        self.as_staff()
        self.go("/partners/staff/")
        self.page.get_by_role("link", name=name).click()
        self.shot("partner-review")
        self.page.get_by_role("button", name="Approve").click()
        expect(self.page.locator("main")).to_contain_text("approved", ignore_case=True)

    # --- a participant's story reaches the wall

    def share_story(self) -> str:
        self.as_visitor()
        title = f"Learning to listen {self.tag}"
        self.go("/stories/share")
        page = self.page
        page.fill("#f-title", title)
        page.fill(
            "#f-story",
            "My mentor never told me what to do. She asked questions until I could hear my own answer, "
            "and a year later I had chosen my course myself.",
        )
        page.check("input[name=role][value=mentee]")
        page.check("input[name=themes][value=trust_and_rapport]")
        page.check("input[name=credit][value=first_name]")
        page.fill("#f-display_name", "Sam")
        page.fill("#f-contact_email", f"sam+{self.tag}@example.org")
        page.check("input[name=usage][value=story_wall]")
        page.check("input[name=usage][value=newsletter]")
        page.check("#f-consent")
        self.shot("story-share")
        page.get_by_role("button", name="Send my story").click()
        expect(page.locator("main")).to_contain_text("thank", ignore_case=True)
        return title

    def publish_and_feature(self, title: str) -> None:
        self.as_staff()
        self.go("/stories/staff/")
        self.page.get_by_role("link", name=title).click()
        self.shot("story-moderation")
        self.page.get_by_role("button", name="Publish").click()
        self.page.get_by_role("button", name="Feature in the newsletter").click()
        expect(self.page.get_by_role("button", name="Take out of the featured stories")).to_be_visible()

    # --- a subscriber gets the news and leaves in one click

    def subscribe(self, email: str, name: str) -> None:
        self.go("/newsletter/subscribe")
        self.page.fill("#f-email", email)
        self.page.fill("#f-name", name)
        self.page.check("input[name=interests][value=mentoring_stories]")
        self.page.check("#f-consent")
        if self.page is self.visitor:
            self.shot("subscribe")
        self.page.get_by_role("button", name="Subscribe").click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Check your email")

    def confirm_from_email(self, email: str) -> None:
        self.as_visitor()
        message = self.platform.email(email, "subscriber_confirmation")
        self.go(_link(message, r"/newsletter/confirm/[^\s\"<>]+"))
        self.page.get_by_role("button", name="Yes, subscribe me").click()
        expect(self.page.locator("main")).to_contain_text("subscribed", ignore_case=True)

    def send_issue(self, featured_title: str) -> None:
        self.as_staff()
        self.go("/newsletter/staff/")
        self.page.fill("#f-subject", f"Mentoring news {self.tag}")
        self.page.fill("#f-body_markdown", "Three weeks to go: here is what partners are planning.")
        self.page.get_by_role("button", name="Create draft").click()
        issue_page = self.page.url
        # The issue's automatic section reads the featured stories from stories.events: wait until it has ours.
        preview = issue_page.rstrip("/") + "/preview.html"
        self.eventually_on(preview.removeprefix(self.origin), featured_title)
        self.page.goto(issue_page)
        self.page.get_by_role("button", name="Send now").click()
        # The issue page follows the send live, without a reload.
        expect(self.page.locator("[data-field=status]")).to_have_text("sent", timeout=EVENTUALLY)
        expect(self.page.locator("[data-field=sent]")).not_to_have_text("0")
        self.shot("newsletter-issue")


def _link(message: EmailMessage, pattern: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(rf"https?://[^\s/]+{pattern}", body.get_content())
    assert found, f"no link matching {pattern} in:\n{body.get_content()}"
    return found.group(0)


def _subscriber_status(platform: Platform, email: str) -> tuple[str, str | None]:
    engine = create_engine(platform.database_urls["newsletter"])
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT status, left_reason FROM subscribers WHERE email = :email"), {"email": email}
            ).one()
            return row.status, row.left_reason
    finally:
        engine.dispose()


def walk(journey: Journey) -> None:
    journey.as_visitor()
    journey.go("/")
    expect(journey.page.get_by_role("heading", level=1)).to_contain_text("National Mentoring Day")
    journey.sign_in_as_staff()

    title = journey.share_story()
    journey.publish_and_feature(title)
    journey.as_visitor()
    journey.eventually_on("/stories", title)
    journey.page.get_by_role("link", name=title).first.click()
    expect(journey.page.get_by_role("heading", level=1)).to_contain_text(title)
    journey.shot("story")

    name, contact = journey.register_organisation()
    journey.verify_from_email(contact)
    journey.approve(name)
    journey.as_visitor()
    journey.eventually_on("/partners", name)
    journey.page.get_by_role("link", name=name).first.click()
    expect(journey.page.get_by_role("heading", level=1)).to_contain_text(name)
    journey.shot("partner")

    reader = f"reader+{journey.tag}@example.org"
    journey.as_visitor()
    journey.subscribe(reader, "Riley")
    # Staff are visitors too: signed in, they fill in a public form like anyone (no staff CSRF token there).
    journey.as_staff()
    journey.subscribe(f"editor+{journey.tag}@example.org", "Eddie")
    journey.confirm_from_email(reader)
    journey.send_issue(title)
    issue = journey.platform.email(reader, "newsletter-")
    html = issue.get_body(preferencelist=("html",))
    assert html is not None and title in html.get_content(), "the featured story is not in the issue"
    unsubscribe = str(issue["List-Unsubscribe"]).strip("<>")
    assert issue["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # What a mail client does for RFC 8058 one-click: a POST, no cookie, no page visit.
    answer = requests.post(
        journey.origin + unsubscribe.removeprefix(journey.platform.origin),
        data={"List-Unsubscribe": "One-Click"},
        timeout=15,
    )
    assert answer.status_code == 200
    assert _subscriber_status(journey.platform, reader) == ("unsubscribed", "one_click")
    # The home page last, once what the journey added has travelled to its counts and latest stories.
    journey.as_visitor()
    journey.go("/")
    journey.shot("home")
    journey.close()


def test_the_journey_through_the_gateway(platform: Platform, browser: Browser) -> None:
    walk(Journey(browser, platform, platform.origin, shots=True))


def test_the_journey_through_nginx_with_the_production_routes(
    platform_on_postgresql: Platform, browser: Browser
) -> None:
    platform = platform_on_postgresql
    upstreams = {service: f"127.0.0.1:{port}" for service, port in platform.web_ports.items()}
    with running_nginx(platform.var_dir / "nginx", upstreams) as origin:
        walk(Journey(browser, platform, origin, shots=False))
