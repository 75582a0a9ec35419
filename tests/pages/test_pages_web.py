"""The public pages over HTTP: server-rendered countdown, caching headers, calendar file, filters, staff guard."""

from __future__ import annotations

import datetime as dt
import re

from nmd_pages.mentor_roles import ROLES
from nmd_runtime.staff import sign_in_test_client, staff_routes

from tests.event_data import partner_profile, story_data
from tests.pages.conftest import apply, unique

UTC = dt.UTC


def _units(html: str) -> tuple[int, int, int]:
    found = {
        unit: int(re.search(rf'data-unit="{unit}">(\d+)<', html).group(1)) for unit in ("days", "hours", "minutes")
    }
    return found["days"], found["hours"], found["minutes"]


def _visible(html: str, marker: str) -> bool:
    return re.search(rf"{marker}(?: hidden)?>", html).group(0).endswith(f"{marker}>")


def test_the_countdown_is_right_without_javascript(app, clock):
    client = app.test_client()
    clock["now"] = dt.datetime(2026, 10, 24, 9, 15, 30, tzinfo=UTC)
    html = client.get("/").get_data(as_text=True)
    assert _units(html) == (2, 14, 45)
    assert _visible(html, "data-countdown-running") and not _visible(html, "data-countdown-today")
    assert 'role="timer" aria-live="off"' in html and "Tuesday 27 October 2026" in html

    clock["now"] = dt.datetime(2026, 10, 27, 12, 0, tzinfo=UTC)
    html = client.get("/").get_data(as_text=True)
    assert _visible(html, "data-countdown-today") and "The day is here!" in html

    clock["now"] = dt.datetime(2026, 10, 28, 0, 0, 30, tzinfo=UTC)  # 00:00:30 GMT on the day after
    html = client.get("/").get_data(as_text=True)
    assert not _visible(html, "data-countdown-today") and "National Mentoring Day 2027" in html
    assert _units(html) == (363, 23, 0)  # to 26 Oct 2027 23:00 UTC (00:00 BST)


def test_the_clock_query_parameter_works_only_in_testing(app):
    client = app.test_client()
    html = client.get("/?now=2030-10-26T22:00:00Z").get_data(as_text=True)
    assert _units(html) == (0, 1, 0)  # 27 Oct 2030 00:00 is BST: 26 Oct 23:00 UTC
    app.testing = False
    html = client.get("/?now=2030-10-26T22:00:00Z").get_data(as_text=True)
    assert _units(html) != (0, 1, 0)


def test_pages_are_cacheable_and_set_no_cookie(app):
    client = app.test_client()
    for path in ("/", "/role-of-a-mentor", "/partners", "/stories", "/events"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"].startswith("public, max-age=")
        assert "Set-Cookie" not in response.headers
        etag = response.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""


def test_a_read_model_change_gives_a_new_page_and_etag(app, engine):
    client = app.test_client()
    before = client.get("/partners")
    partner_id, slug = unique("p"), unique("new")
    apply(
        engine,
        "partner.approved",
        partner_id,
        partner_profile(partner_id, slug, "Brand New Partner")
        | {"approved_at": dt.datetime(2026, 1, 1, tzinfo=UTC)},
    )
    after = client.get("/partners", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "Brand New Partner" in after.get_data(as_text=True)


def test_a_signed_in_staff_member_gets_a_private_page(app):
    client = app.test_client()
    sign_in_test_client(client, "editor")
    response = client.get("/")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Staff area (tester)" in response.get_data(as_text=True)


def test_the_role_of_a_mentor_lists_ten_roles_linked_to_the_story_wall(app):
    html = app.test_client().get("/role-of-a-mentor").get_data(as_text=True)
    assert len(ROLES) == 10
    for role in ROLES:
        assert f'id="{role.key}"' in html and f"/stories?theme={role.key}" in html


def test_filters_are_validated_and_applied(app, engine):
    client = app.test_client()
    school, charity = unique("p"), unique("p")
    apply(
        engine,
        "partner.approved",
        school,
        partner_profile(school, unique("s"), "Filter School", country="GB")
        | {"approved_at": dt.datetime(2026, 1, 1, tzinfo=UTC)},
    )
    apply(
        engine,
        "partner.approved",
        charity,
        partner_profile(charity, unique("c"), "Filter Charity", country="IE", type="charity")
        | {"approved_at": dt.datetime(2026, 1, 1, tzinfo=UTC)},
    )
    html = client.get("/partners?country=IE").get_data(as_text=True)
    assert "Filter Charity" in html and "Filter School" not in html
    html = client.get("/partners?type=school&country=").get_data(as_text=True)
    assert "Filter School" in html and "Filter Charity" not in html
    assert client.get("/partners?type=spaceship").status_code == 422
    assert client.get("/partners?type=spaceship", headers={"Accept": "application/json"}).json["errors"]["type"]
    assert client.get("/stories?country=gb").status_code == 422
    mentor, mentee = unique("s"), unique("s")
    apply(engine, "story.published", mentor, story_data(mentor, unique("m"), "Told by a mentor", role="mentor"))
    apply(
        engine,
        "story.published",
        mentee,
        story_data(
            mentee, unique("e"), "Told by a mentee", role="mentee", themes=["accountability"], country="FR"
        ),
    )
    html = client.get("/stories?role=mentor").get_data(as_text=True)
    assert "Told by a mentor" in html and "Told by a mentee" not in html
    html = client.get("/stories?theme=accountability&country=FR").get_data(as_text=True)
    assert "Told by a mentee" in html and "Told by a mentor" not in html


def test_the_calendar_file_follows_rfc_5545(app):
    response = app.test_client().get("/calendar.ics")
    assert response.mimetype == "text/calendar" and "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    lines = body.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in body.replace(b"\r\n", b"")
    unfolded = body.replace(b"\r\n ", b"").decode()
    assert "DTSTART;VALUE=DATE:20261027\r\nDTEND;VALUE=DATE:20261028" in unfolded
    assert "DTSTART;VALUE=DATE:20271027" in unfolded
    assert "DTSTART:20261027T080000Z" in unfolded  # the 08:00 breakfast, GMT that day
    assert unfolded.count("BEGIN:VEVENT") == unfolded.count("END:VEVENT") >= 3
    assert "Ten roles\\, one day" in unfolded  # commas escaped
    for event in unfolded.split("BEGIN:VEVENT")[1:]:
        assert "\r\nUID:" in event and "\r\nDTSTAMP:" in event and "\r\nDTSTART" in event


def test_events_page_lists_editions_and_events(app):
    html = app.test_client().get("/events").get_data(as_text=True)
    assert "Tuesday 27 October 2026" in html and "Wednesday 27 October 2027" in html
    assert "Mentoring breakfast in London" in html


def test_every_staff_route_refuses_anonymous_visitors(app):
    client = app.test_client()
    rules = staff_routes(app)
    assert {"/staff/page-views", "/staff/deadletters", "/staff/"} <= {rule.rule for rule in rules}
    for rule in rules:
        method = "POST" if "POST" in rule.methods else "GET"
        response = client.open(rule.rule, method=method)
        assert response.status_code in (302, 401), rule.rule
    sign_in_test_client(client, "moderator")
    assert client.get("/staff/deadletters").status_code == 403  # admins only
    assert client.get("/staff/").status_code == 200


def test_a_cached_page_is_answered_with_the_same_headers_as_its_first_rendering(app):
    client = app.test_client()
    for path in ("/", "/stories?theme=accountability"):
        first = client.get(path)  # rendered through Flask
        again = client.get(path)  # answered from the page cache, before Flask
        head = client.head(path)
        assert again.data == first.data and head.data == b""
        for answer in (again, head):
            assert answer.status_code == 200
            assert answer.headers["X-Correlation-ID"] != first.headers["X-Correlation-ID"]
            assert _without_correlation(answer.headers) == _without_correlation(first.headers)


def _without_correlation(headers) -> dict[str, str]:
    # Date is the server's to add (gunicorn dates every answer); werkzeug adds one to Flask's when it runs alone.
    return {name: value for name, value in headers.items() if name not in ("X-Correlation-ID", "Date")}
