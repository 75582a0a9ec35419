"""The countdown's rules across years: 27 October 00:00 in London is BST (UTC+1) or GMT (UTC+0) depending on
whether the clocks have gone back yet (last Sunday of October, 02:00 BST)."""

from __future__ import annotations

import datetime as dt

import pytest
from nmd_pages.campaign import load_calendar, parse
from nmd_pages.countdown import countdown, day_end, day_start

UTC = dt.UTC

# Worked out by hand from the rule "clocks go back at 01:00 UTC on the last Sunday of October", not by the code:
# year: (last Sunday of October, UTC offset at 00:00 London on 27 October in hours)
CLOCK_CHANGE = {
    2024: (27, 1),  # the change day itself: midnight is still BST
    2025: (26, 0),
    2026: (25, 0),
    2027: (31, 1),
    2028: (29, 1),
    2029: (28, 1),
    2030: (27, 1),  # the change day again
    2031: (26, 0),
    2032: (31, 1),
    2033: (30, 1),
    2034: (29, 1),
    2035: (28, 1),
}


@pytest.fixture(scope="module")
def calendar():
    return load_calendar("")


@pytest.mark.parametrize("year", sorted(CLOCK_CHANGE))
def test_the_day_starts_at_london_midnight_with_that_years_offset(calendar, year):
    last_sunday, offset = CLOCK_CHANGE[year]
    assert dt.date(year, 10, last_sunday).weekday() == 6  # the table itself is right
    expected = dt.datetime(year, 10, 27, tzinfo=UTC) - dt.timedelta(hours=offset)
    assert day_start(calendar, year) == expected


@pytest.mark.parametrize("year", sorted(CLOCK_CHANGE))
def test_the_day_lasts_until_london_midnight_25_hours_on_a_change_day(calendar, year):
    last_sunday, _ = CLOCK_CHANGE[year]
    length = day_end(calendar, year) - day_start(calendar, year)
    assert length == dt.timedelta(hours=25 if last_sunday == 27 else 24)
    # Midnight on the 28th is GMT once the clocks have gone back, i.e. when the last Sunday was the 27th or before.
    after_offset = 0 if last_sunday <= 27 else 1
    assert day_end(calendar, year) == dt.datetime(year, 10, 28, tzinfo=UTC) - dt.timedelta(hours=after_offset)


@pytest.mark.parametrize("year", sorted(CLOCK_CHANGE))
def test_counting_from_new_year_in_gmt_to_the_day(calendar, year):
    _, offset = CLOCK_CHANGE[year]
    now = dt.datetime(year, 1, 1, tzinfo=UTC)  # GMT in London
    timer = countdown(calendar, now)
    days_between = (dt.date(year, 10, 27) - dt.date(year, 1, 1)).days
    # A BST midnight is an hour earlier in real time: one day fewer and 23 hours.
    expected_minutes = days_between * 24 * 60 - offset * 60
    assert (timer.year, timer.is_today, timer.total_minutes) == (year, False, expected_minutes)


def test_across_the_clock_change_the_difference_is_real_time_not_wall_clock(calendar):
    # 26 Oct 2024 12:00 BST (11:00 UTC) -> 27 Oct 2024 00:00 BST (26 Oct 23:00 UTC): 12 hours.
    timer = countdown(calendar, dt.datetime(2024, 10, 26, 11, 0, tzinfo=UTC))
    assert (timer.days, timer.hours, timer.minutes) == (0, 12, 0)
    # 1 Aug 2026 12:00 BST (11:00 UTC) -> 27 Oct 2026 00:00 GMT: 86 days and 13 hours of real time.
    timer = countdown(calendar, dt.datetime(2026, 8, 1, 11, 0, tzinfo=UTC))
    assert (timer.days, timer.hours, timer.minutes) == (86, 13, 0)


def test_minutes_round_up_so_zero_is_never_shown_before_the_day(calendar):
    timer = countdown(calendar, dt.datetime(2026, 10, 26, 23, 59, 59, tzinfo=UTC))
    assert (timer.is_today, timer.days, timer.hours, timer.minutes) == (False, 0, 0, 1)
    timer = countdown(calendar, dt.datetime(2026, 10, 24, 9, 15, 30, tzinfo=UTC))
    assert (timer.days, timer.hours, timer.minutes) == (2, 14, 45)


@pytest.mark.parametrize(
    ("now", "is_today", "year"),
    [
        (dt.datetime(2026, 10, 27, 0, 0, tzinfo=UTC), True, 2026),  # 00:00 GMT
        (dt.datetime(2026, 10, 27, 23, 59, 59, tzinfo=UTC), True, 2026),  # 23:59:59 London
        (dt.datetime(2026, 10, 28, 0, 0, tzinfo=UTC), False, 2027),  # the day after: next year's
        (dt.datetime(2024, 10, 26, 23, 0, tzinfo=UTC), True, 2024),  # 00:00 BST on the change day
        (dt.datetime(2024, 10, 26, 22, 59, 59, tzinfo=UTC), False, 2024),  # 23:59:59 BST the evening before
        (dt.datetime(2024, 10, 27, 23, 59, 59, tzinfo=UTC), True, 2024),  # 23:59:59 GMT, 25 hours in
        (dt.datetime(2024, 10, 28, 0, 0, tzinfo=UTC), False, 2025),
        (dt.datetime(2027, 10, 26, 23, 30, tzinfo=UTC), True, 2027),  # 00:30 BST on the 27th
        (dt.datetime(2027, 10, 27, 23, 0, tzinfo=UTC), False, 2028),  # 00:00 BST on the 28th
    ],
)
def test_the_day_is_here_until_2359_london_then_rolls_to_next_year(calendar, now, is_today, year):
    timer = countdown(calendar, now)
    assert (timer.is_today, timer.year) == (is_today, year)


def test_naive_times_are_refused(calendar):
    with pytest.raises(ValueError):
        countdown(calendar, dt.datetime(2026, 1, 1))


def test_the_date_is_configuration():
    calendar = parse({"timezone": "Europe/London", "day": {"month": 6, "day": 1}})
    assert day_start(calendar, 2026) == dt.datetime(2026, 5, 31, 23, 0, tzinfo=UTC)  # 1 June 00:00 BST
    with pytest.raises(ValueError):
        parse({"day": {"month": 2, "day": 31}})
    with pytest.raises(ValueError):
        parse(
            {
                "day": {"month": 10, "day": 27},
                "events": [{"id": "x", "title": "x", "start": "2026-01-01T10:00+01:00"}],
            }
        )


def test_an_overriding_calendar_file_is_used(tmp_path, monkeypatch):
    path = tmp_path / "calendar.yaml"
    path.write_text("name: Test Day\nday: {month: 3, day: 2}\nevents: []\n")
    monkeypatch.setenv("PAGES_CALENDAR_FILE", str(path))
    calendar = load_calendar()
    assert (calendar.name, calendar.month, calendar.day) == ("Test Day", 3, 2)
