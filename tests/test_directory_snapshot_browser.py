"""In a real browser, with nothing but what the app ships: typing "insta" suggests Instagram,
and a platform added from the directory (its address sent by the browser with CR LF) shows
no false "newer details", neither at once nor after saving it through Edit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from consent import db
from consent.services import directory
from tests.conftest import PASSWORD
from tests.test_browser import page, serving  # noqa: F401  (the page fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def snapshot_server(database_url: str) -> Iterator[str]:
    """A live server whose directory holds the shipped snapshot, loaded as on first start."""

    def first_start() -> None:
        assert directory.is_empty(db.session())
        with directory.unpacked_snapshot() as found:
            directory.import_unpacked(db.session(), found)

    with serving(database_url, first_start) as (url, _app):
        yield url


def test_insta_suggests_instagram_from_the_shipped_snapshot_and_its_address_is_not_newer(snapshot_server, page):  # noqa: F811
    page.goto(snapshot_server + "/register")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#recovery-code")).to_be_visible()
    page.goto(snapshot_server + "/platforms/new")
    page.get_by_label("Company, service or website").press_sequentially("insta", delay=60)
    suggestion = page.locator("#directory-results button.suggestion").first
    suggestion.wait_for()
    assert suggestion.locator("strong").inner_text() == "Instagram"
    suggestion.click()
    hints = page.locator("section.hints")
    expect(hints).to_contain_text("Kind of company: Entertainment, Social media")
    expect(hints).to_contain_text("Where they offer their services: All countries")
    assert "\n" in page.get_by_role("textbox", name="Postal address").input_value()
    page.get_by_role("button", name="Add the platform").click()
    expect(page.get_by_role("heading", name="Instagram")).to_be_visible()
    expect(page.get_by_text("The directory has newer details")).to_have_count(0)

    page.get_by_role("link", name="Edit").first.click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Instagram")).to_be_visible()
    expect(page.get_by_text("The directory has newer details")).to_have_count(0)


def test_twins_are_told_apart_as_the_person_types(snapshot_server, page):  # noqa: F811
    page.goto(snapshot_server + "/register")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#recovery-code")).to_be_visible()
    page.goto(snapshot_server + "/platforms/new")
    page.get_by_label("Company, service or website").press_sequentially("vinted", delay=60)
    results = page.locator("#directory-results button.suggestion strong")
    expect(results.first).to_be_visible()
    shown = results.all_inner_texts()
    assert "Vinted UAB (DE, vinted.de)" in shown and "Vinted UAB (PL, vinted.pl)" in shown
