"""The shared layout: campaign header, navigation, a cookie notice that sets no cookie, assets, form macros."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template_string
from nmd_runtime.web import STATIC_DIR


def test_an_anonymous_page_view_sets_no_cookie(client: Any) -> None:
    response = client.get("/demo/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    html = response.get_data(as_text=True)
    assert "strictly necessary cookies" in html
    assert "data-cookie-notice" in html


def test_error_pages_and_health_set_no_cookie(client: Any) -> None:
    for path in ("/no-such-page", "/healthz", "/assets/site.css"):
        assert "Set-Cookie" not in client.get(path).headers


def test_the_cookie_notice_script_uses_local_storage_not_cookies() -> None:
    script = (STATIC_DIR / "site.js").read_text()
    assert "localStorage" in script
    assert "cookie=" not in script.replace(" ", "") and "document.cookie" not in script


def test_the_layout_has_the_campaign_navigation_and_landmarks(client: Any) -> None:
    html = client.get("/demo/").get_data(as_text=True)
    assert "<title>Demo \u2013 National Mentoring Day</title>" in html
    assert "27 October" in html
    for href in (
        "/",
        "/role-of-a-mentor",
        "/partners",
        "/stories",
        "/partners/register",
        "/stories/share",
        "/newsletter/subscribe",
    ):
        assert f'href="{href}"' in html
    assert 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html and "<nav" in html and "<footer" in html and "<header" in html
    assert '<p class="page-views">42 views</p>' in html  # footer_extra block
    assert 'lang="en-GB"' in html


def test_the_current_section_is_marked(app: Flask) -> None:
    with app.test_request_context("/partners/register"):
        html = render_template_string('{% extends "nmd/layout.html" %}')
    assert '<a href="/partners/register" aria-current="page">' in html
    assert '<a href="/partners" aria-current' not in html


def test_the_layout_renders_outside_a_request(app: Flask) -> None:
    with app.app_context():
        html = render_template_string('{% extends "nmd/layout.html" %}{% block content %}static{% endblock %}')
    assert "static" in html


def test_shared_assets_are_served_at_assets(client: Any) -> None:
    css = client.get("/assets/site.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert client.get("/assets/site.js").status_code == 200
    html = client.get("/demo/").get_data(as_text=True)
    assert "/assets/site.css?v=" in html
    assert "https://" not in html.split("<body")[0]  # no external fonts or CDNs


def test_form_macros_show_the_error_and_keep_the_value(app: Flask) -> None:
    template = """{% import "nmd/forms.html" as forms %}
    {{ forms.error_summary(errors) }}
    {{ forms.text_input("email", "Email", values.email, errors.email, type="email", hint="For the newsletter") }}
    {{ forms.textarea("story", "Your story", values.story, errors.story) }}
    {{ forms.select("role", "You are", [("mentor", "A mentor"), ("mentee", "A mentee")], values.role) }}
    {{ forms.checkbox_group("interests", "Interests", [("news", "News"), ("events", "Events")], values.interests,
                            errors.interests) }}
    {{ forms.checkbox("consent", "I agree", values.consent, errors.consent) }}"""
    values = {
        "email": "kit@<script>",
        "story": "Once <b>upon</b>",
        "role": "mentee",
        "interests": ["events"],
        "consent": False,
    }
    errors = {"email": "Enter a valid email address", "interests": "Choose at least one"}
    with app.test_request_context("/"):
        html = render_template_string(template, values=values, errors=errors)
    assert 'value="kit@&lt;script&gt;"' in html
    assert 'aria-describedby="f-email-hint f-email-error" aria-invalid="true"' in html
    assert 'id="f-email-error"' in html and "Enter a valid email address" in html
    assert 'href="#f-email"' in html and 'href="#f-interests"' in html
    assert "Once &lt;b&gt;upon&lt;/b&gt;</textarea>" in html
    assert '<option value="mentee" selected>' in html
    assert 'value="events" checked' in html and 'value="news" checked' not in html
    assert 'id="f-consent" name="consent" value="yes">' in html


def test_form_macros_tolerate_missing_values(app: Flask) -> None:
    template = (
        '{% import "nmd/forms.html" as forms %}{{ forms.text_input("name", "Name", values.name) }}'
        '{{ forms.checkbox_group("i", "I", ["a", "b"], values.i) }}'
    )
    with app.test_request_context("/"):
        html = render_template_string(template, values={})
    assert 'name="name" type="text" value=""' in html
    assert "checked" not in html
