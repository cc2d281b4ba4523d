"""The browser's time zone reaches the app through timezone.js, in Chromium (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, Auth
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, serving

pytestmark = pytest.mark.browser


def _log_in(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/login")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False])
def test_the_settings_page_learns_the_browsers_zone_from_the_form_it_posts(database_url, javascript):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    with serving(database_url) as (url, app), sync_playwright() as p:
        Auth(app.test_client()).register()
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-GB", timezone_id="Asia/Tokyo", java_script_enabled=javascript)
        page = context.new_page()
        page.set_default_timeout(30000)  # a ceiling, not a speed check: parallel workers share the cores
        _log_in(page, url)
        page.goto(url + "/settings")
        save = page.locator("#time-zone ~ form").get_by_role("button", name="Save")
        save.click()
        expect(page.get_by_text("Your time zone is saved.")).to_be_visible()
        note = page.locator("#time-zone-now")
        if javascript:
            expect(note).to_have_text("Times are shown in Asia/Tokyo, the time zone of your browser.")
        else:  # no script: the page names the zone it uses, and offers the menu
            expect(note).to_contain_text("Times are shown in UTC: your browser has not told its time zone")
        page.get_by_label("Time zone").select_option("Europe/Berlin")
        save.click()
        expect(note).to_have_text("Times are shown in Europe/Berlin, as you chose.")
        browser.close()
