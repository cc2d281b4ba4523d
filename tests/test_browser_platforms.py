"""Platforms in a real browser (Debian's Chromium through Playwright): a phone's width,
the folded add-platform form, and undo, archive and search done with the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.test_browser import live_server, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG_NAME = "Internationale Versandhandelsgesellschaft Sonnenschein-Überallundnirgends GmbH & Co. KG"
LONG_EMAIL = "datenschutzbeauftragter.kundenservice@internationale-versandhandelsgesellschaft.example"
LONG_WEBSITE = "https://www.internationale-versandhandelsgesellschaft-sonnenschein.example/datenschutz/erklaerung"
LONG_ID = "KD-2026-000000000000000000000000000471147114711-ABCDEFGHIJKLMNOP"
PURPOSES = (
    "Direct marketing (newsletters, offers by e-mail, post or phone)",
    "Personalised advertising",
    "Analytics of how I use the service",
    "Providing the service I use",
    "Selling my data to third parties",
)


def register(tab: Page, base: str) -> None:
    tab.goto(base + "/register")
    tab.get_by_label("E-mail").fill("ada@example.org")
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_label("Repeat the password").fill(PASSWORD)
    tab.get_by_role("button", name="Create my account").click()
    tab.get_by_text("I have kept it, continue").click()  # a link or a button, as the tab has it
    expect(tab.get_by_role("heading", name="Dashboard")).to_be_visible()


def add_long_platform(tab: Page, base: str) -> None:
    tab.goto(base + "/platforms/new")
    identifiers = tab.locator("#identifiers-fold")
    expect(identifiers).not_to_have_attribute("open", "")
    tab.get_by_role("textbox", name="Name").fill(LONG_NAME)
    tab.get_by_role("textbox", name="Website").fill(LONG_WEBSITE)
    tab.get_by_label("Privacy contact e-mail").fill(LONG_EMAIL)
    tab.get_by_label("Country").select_option("IE")
    # The identifiers are folded until needed: opened from the keyboard.
    identifiers.locator("summary").focus()
    tab.keyboard.press("Enter")
    expect(identifiers).to_have_attribute("open", "")
    tab.locator("#identifiers-0-kind").fill("Kundennummer-und-Vertragskennung-des-Hauptkontos")
    tab.locator("#identifiers-0-value").fill(LONG_ID)
    tab.locator("#identifiers-1-value").fill(LONG_EMAIL)
    tab.get_by_role("button", name="Add the platform").click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text("Versandhandelsgesellschaft")
    for purpose in PURPOSES:
        tab.get_by_label("Purpose", exact=True).select_option(label=purpose)
        tab.get_by_role("button", name="Grant", exact=True).last.click()
        expect(tab.get_by_text("Granted and signed into your ledger.")).to_be_visible()
    tab.get_by_label("Purpose", exact=True).select_option(label="Another purpose (describe it below)")
    tab.get_by_label("Other purpose").fill("Training-their-recommendation-engine-on-my-purchase-history-forever")
    tab.get_by_role("button", name="Refuse", exact=True).last.click()
    expect(tab.get_by_text("Refused and signed into your ledger.")).to_be_visible()


def scroll_width(tab: Page) -> int:
    return int(tab.evaluate("document.documentElement.scrollWidth"))


def test_a_platform_with_long_values_fits_a_390_px_phone(live_server, page, tmp_path):  # noqa: F811
    register(page, live_server)
    add_long_platform(page, live_server)
    platform_url = page.url
    page.set_viewport_size(PHONE)
    for url in (platform_url, live_server + "/platforms", platform_url + "/edit", live_server + "/platforms/new"):
        page.goto(url)
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        assert scroll_width(page) <= PHONE["width"], url
    page.goto(platform_url)
    expect(page.get_by_text("Ireland", exact=True)).to_be_visible()


def test_withdraw_then_undo_with_the_keyboard(live_server, page):  # noqa: F811
    register(page, live_server)
    add_long_platform(page, live_server)
    withdraw = page.get_by_role("button", name="Withdraw: Personalised advertising")
    withdraw.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Withdrawn and signed into your ledger.")).to_be_visible()
    undo = page.get_by_role("button", name="Undo the withdrawal: Personalised advertising")
    undo.focus()
    outline = undo.evaluate("b => getComputedStyle(b).outlineStyle")
    assert outline != "none"  # focus visible
    page.keyboard.press("Enter")
    expect(page.get_by_text("Undone: the use is granted again on the same terms.")).to_be_visible()
    expect(page.get_by_role("button", name="Withdraw: Personalised advertising")).to_be_visible()
    # Providing the service rests on the contract: no Withdraw, a way to end it instead.
    expect(page.get_by_role("button", name="Withdraw: Providing the service I use")).to_have_count(0)
    expect(page.get_by_role("link", name="End it: ask them to erase your data")).to_be_visible()


def test_archive_is_confirmed_and_undone_with_the_keyboard(live_server, page):  # noqa: F811
    register(page, live_server)
    add_long_platform(page, live_server)
    archive = page.get_by_role("button", name="Archive Internationale")
    expect(archive).to_be_hidden()  # one click does not archive: the confirmation is folded
    page.locator("details.confirm > summary", has_text="Archive this platform").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("you can bring it back at any time").first).to_be_visible()
    archive.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="This platform is archived")).to_be_visible()
    # Withdrawing stays open on an archived platform.
    expect(page.get_by_role("button", name="Withdraw: Personalised advertising")).to_be_visible()
    back = page.get_by_role("button", name="Bring it back from the archive")
    back.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The platform is back among your current platforms.")).to_be_visible()


def test_search_the_platforms_without_javascript(live_server, page):  # noqa: F811
    register(page, live_server)
    add_long_platform(page, live_server)
    assert page.context.browser is not None
    plain = page.context.browser.new_context(java_script_enabled=False, locale="en-GB")
    plain.add_cookies(page.context.cookies())
    page = plain.new_page()
    page.goto(live_server + "/platforms")
    search = page.get_by_label("Search by name, website or identifier")
    search.fill("471147114711")
    search.press("Enter")
    assert "471147114711" not in page.url  # posted: what is typed stays out of URLs and logs
    expect(page.get_by_role("link", name=LONG_NAME)).to_be_visible()
    page.get_by_label("Uses").select_option(label="with a withdrawn use")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No platform matches.")).to_be_visible()
    page.get_by_role("link", name="Clear the search").first.click()
    expect(page.get_by_role("link", name=LONG_NAME)).to_be_visible()
    plain.close()
