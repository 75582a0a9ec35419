"""In a real headless Chromium (Debian's), driven by Playwright: the countdown with a fixed clock, its ticking,
its pause button, the day itself and the day after; the story wall filter and the partner directory."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from tests.event_data import partner_profile, story_data
from tests.pages.conftest import apply, unique

UTC = dt.UTC
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "home.png"


@pytest.fixture
def server(app) -> Iterator[str]:
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _open_at(page: Page, server: str, clock: dict, instant: dt.datetime) -> None:
    clock["now"] = instant  # the server renders at this time...
    page.clock.install(time=instant)  # ...and the browser's script counts from it
    page.goto(server + "/")


def _units(page: Page) -> tuple[str, str, str]:
    timer = page.locator("[data-countdown-timer]")
    return tuple(timer.locator(f'[data-unit="{unit}"]').inner_text() for unit in ("days", "hours", "minutes"))


def test_the_countdown_is_right_ticks_and_pauses(page, server, clock):
    # 24 Oct 2026 09:15:30 UTC: the day starts 27 Oct 00:00 GMT, 2 d 14 h 44 min 30 s away (shown rounded up).
    _open_at(page, server, clock, dt.datetime(2026, 10, 24, 9, 15, 30, tzinfo=UTC))
    timer = page.get_by_role("timer")
    expect(timer).to_have_attribute("aria-live", "off")
    expect(timer).to_contain_text("2 days, 14 hours and 45 minutes")
    page.clock.run_for(60_000)
    expect(timer).to_contain_text("2 days, 14 hours and 44 minutes")

    page.get_by_role("button", name="Pause countdown").click()
    pause = page.locator("[data-countdown-pause]")
    expect(pause).to_have_attribute("aria-pressed", "true")
    page.clock.run_for(180_000)
    expect(timer).to_contain_text("14 hours and 44 minutes")  # frozen while paused
    page.get_by_role("button", name="Resume countdown").click()
    expect(timer).to_contain_text("2 days, 14 hours and 41 minutes")


def test_on_the_day_and_the_day_after(page, server, clock):
    _open_at(page, server, clock, dt.datetime(2026, 10, 27, 23, 58, 30, tzinfo=UTC))  # 23:58:30 London
    expect(page.get_by_text("The day is here!")).to_be_visible()
    expect(page.locator("[data-countdown-running]")).to_be_hidden()
    page.clock.run_for(120_000)  # past 23:59:59 London: on to 2027
    expect(page.get_by_text("The day is here!")).to_be_hidden()
    expect(page.locator("h1")).to_have_text("National Mentoring Day 2027")
    expect(page.get_by_role("timer")).to_contain_text("363 days, 23 hours and 0 minutes")

    _open_at(page, server, clock, dt.datetime(2026, 10, 28, 9, 0, tzinfo=UTC))  # the day after, from the server
    expect(page.locator("h1")).to_have_text("National Mentoring Day 2027")
    expect(page.get_by_role("timer")).to_contain_text("363 days, 14 hours and 0 minutes")
    expect(page.get_by_text("The day is here!")).to_be_hidden()


def test_the_story_wall_filter_and_the_partner_directory(page, server, engine, clock):
    approved = dt.datetime(2026, 3, 1, tzinfo=UTC)
    school_id, school_slug = unique("p"), unique("oak-school")
    charity_id = unique("p")
    apply(
        engine,
        "partner.approved",
        school_id,
        partner_profile(school_id, school_slug, "Oak Lane School", country="GB") | {"approved_at": approved},
    )
    apply(
        engine,
        "partner.approved",
        charity_id,
        partner_profile(charity_id, unique("c"), "Bridges Charity", country="IE", type="charity")
        | {"approved_at": approved},
    )
    networking, accountable = unique("s"), unique("s")
    apply(
        engine,
        "story.published",
        networking,
        story_data(networking, unique("doors"), "The door she opened", themes=["networking"]),
    )
    apply(
        engine,
        "story.published",
        accountable,
        story_data(accountable, unique("kept"), "He kept me to my word", themes=["accountability"]),
    )

    page.goto(server + "/stories")
    expect(page.get_by_role("link", name="The door she opened")).to_be_visible()
    expect(page.get_by_role("link", name="He kept me to my word")).to_be_visible()
    page.get_by_label("Role of a mentor").select_option("accountability")
    page.get_by_role("button", name="Show stories").click()
    expect(page).to_have_url(server + "/stories?theme=accountability&role=&country=")
    expect(page.get_by_role("link", name="He kept me to my word")).to_be_visible()
    expect(page.get_by_role("link", name="The door she opened")).to_have_count(0)
    page.get_by_role("link", name="He kept me to my word").click()
    expect(page.locator("h1")).to_have_text("He kept me to my word")

    page.goto(server + "/partners")
    page.get_by_label("Country").select_option("GB")
    page.get_by_role("button", name="Show partners").click()
    expect(page.get_by_role("link", name="Bridges Charity")).to_have_count(0)
    page.get_by_role("link", name="Oak Lane School").click()
    expect(page).to_have_url(f"{server}/partner/{school_slug}")
    expect(page.locator("h1")).to_have_text("Oak Lane School")
    expect(page.get_by_text("Every pupil meets a mentor.")).to_be_visible()

    # The home page with content, for the README.
    _open_at(page, server, clock, dt.datetime(2026, 10, 24, 9, 15, 30, tzinfo=UTC))
    expect(page.get_by_role("link", name="The door she opened")).to_be_visible()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
