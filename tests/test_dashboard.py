"""The dashboard: what needs doing first, most urgent first, then the platforms (issue 11)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from consent import db
from consent.services import overview
from tests.conftest import count_rows
from tests.test_directory import SAMPLE, run_import, write_directory
from tests.test_platforms import _login, add_platform, add_use
from tests.test_requests import FRENCH_SHOP, post_letter


def _reasons(html: str) -> list[str]:
    """The reasons of the list "what needs doing", in the order the page shows them."""
    todo = html[html.index('id="todo"') : html.index('id="platforms-title"')]
    return re.findall(r'data-reason="([a-z_]+)"', todo)


def test_what_needs_doing_comes_first_most_urgent_first(person, client, app, tmp_path):
    today = datetime.now(UTC).date()
    run_import(app, write_directory(tmp_path / "dir", SAMPLE))
    shop = add_platform(person, **FRENCH_SHOP)
    credit = add_platform(
        person, name="CreditWatch AG", directory="creditwatch", website="https://creditwatch.example/", address=SAMPLE[1]["address"]
    )
    add_use(person, shop, "DirectMarketing", expires=(today + timedelta(days=20)).isoformat())
    post_letter(person, shop, step="draft", channel="post")
    post_letter(person, shop, step="sent", sent_on=(today - timedelta(days=27)).isoformat())  # due in a few days
    post_letter(person, credit, step="sent", sent_on=(today - timedelta(days=90)).isoformat())  # overdue
    assert _reasons(client.get("/dashboard").get_data(as_text=True)) == ["overdue", "due_soon", "expiring", "draft"]

    # The directory learns a new address for CreditWatch: the dashboard says so, last.
    run_import(app, write_directory(tmp_path / "dir2", [dict(SAMPLE[1], email="dpo@creditwatch.example")]))
    html = client.get("/dashboard").get_data(as_text=True)
    assert _reasons(html) == ["overdue", "due_soon", "expiring", "draft", "directory"]
    assert "overdue since" in html and "answer due by" in html and "written, not sent yet" in html
    assert "valid until" in html and "The directory has newer details" in html
    # First what needs doing, then the platforms, each with its own heading.
    assert html.index("Needs your attention") < html.index("Your platforms") < html.index("Boutique Éclair SARL</a></h3>")
    assert 'href="/platforms/' + credit + '"' in html[html.index('data-reason="directory"') :]


def test_nothing_to_do_says_so_and_shows_the_platforms(person, client):
    platform_id = add_platform(person)
    add_use(person, platform_id, "DirectMarketing")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Nothing needs doing now" in html and _reasons(html) == []
    assert "Granted: 1" in html and "Fill in my profile" not in html


def test_a_missing_profile_is_something_to_do(auth, client):
    auth.register()
    add_platform(auth)
    html = client.get("/dashboard").get_data(as_text=True)
    todo = html[html.index('id="todo"') : html.index('id="platforms-title"')]
    assert 'href="/profile">Fill in my profile</a>' in todo
    assert "Nothing needs doing now" not in html


def test_a_new_account_gets_the_first_steps(auth, client):
    auth.register()
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Welcome! Here is where to start." in html and 'id="todo"' not in html


def test_reading_the_dashboard_changes_nothing(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "DirectMarketing")
    before = count_rows(app)
    assert client.get("/dashboard").status_code == 200
    assert count_rows(app) == before


def test_expiring_is_counted_from_the_moment_given(person, app):
    """The service reads the clock, or takes ``now``: a consent ending in 40 days is not
    "expiring" today, and is in 15 days (the dashboard's window is 30 days)."""
    today = datetime.now(UTC)
    platform_id = add_platform(person)
    add_use(person, platform_id, "DirectMarketing", expires=(today + timedelta(days=40)).date().isoformat())
    with app.app_context():
        s = db.session()
        login = _login(app)
        assert overview.overview(s, login, now=today).count("expiring") == 0
        later = overview.overview(s, login, now=today + timedelta(days=15))
    assert later.count("expiring") == 1 and later.todo[0].use is not None and later.todo[0].use.purpose.endswith("DirectMarketing")
    assert later.today == (today + timedelta(days=15)).date()


def test_an_error_page_leads_back_to_the_dashboard_or_the_start(auth, client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and 'href="/">Back to the start page</a>' in page.get_data(as_text=True)
    auth.register()
    page = client.get("/platforms/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404 and 'href="/dashboard">Back to my dashboard</a>' in page.get_data(as_text=True)


def test_the_page_layout_shows_an_undo_offer_as_a_one_click_form(app):
    """A flash of category "undo-offer" ("<use id> <event index>", platforms/_undo_offer.html)
    is drawn by base.html as the Undo button, on any page."""
    from flask import flash, render_template_string

    use_id = "6f1c1a52-52a8-4f4e-9d0b-0c8a3c1e2b11"
    with app.test_request_context("/dashboard"):
        flash(f"{use_id} 7", "undo-offer")
        html = render_template_string('{% extends "base.html" %}{% block content %}<h1>x</h1>{% endblock %}')
    assert f'action="/uses/{use_id}/undo"' in html and 'name="index" value="7"' in html
    assert ">Undo the withdrawal</button>" in html and f"{use_id} 7" not in html
