"""The whole everyday journey in a real browser, as a new person walks it, in English, French
and German, on a 390 px phone and a 1280 px screen: register, add Instagram from the
directory, grant, withdraw, write the withdrawal letter, record it as sent, see it overdue,
write the complaint. Every page on the way has 0 axe-core violations (WCAG 2.2 AA) and no
horizontal scrolling. Every button and link is worked with the keyboard (focus, Enter),
none with a mouse.

The labels the test clicks come from the app's own catalogues, so the test reads each
language as the person does and fails where a string is left untranslated.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.support import NullTranslations, Translations
from playwright.sync_api import Page, expect

from consent import db
from tests.a11y import check_axe
from tests.conftest import PASSWORD
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, serving

pytestmark = pytest.mark.browser

CATALOGUES = Path(__file__).resolve().parents[1] / "consent/translations"
LANGUAGES = {"en": "en-GB", "fr": "fr-FR", "de": "de-DE"}
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
#: Labels a language writes as English does.
SAME = {"fr": {"E-mail"}, "de": set()}


def _translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    return Translations.load(str(CATALOGUES), [language])


class Walk:
    """One person's browser, with the checks every page gets."""

    def __init__(self, page: Page, base: str, language: str, width: int) -> None:
        self.page, self.base, self.width, self.language = page, base, width, language
        self.gettext = _translations(language).gettext
        self.seen: list[str] = []

    def t(self, text: str) -> str:
        """The words as the person's language has them: a label left in English fails."""
        words = self.gettext(text)
        same = self.language == "en" or text in SAME[self.language]
        assert same or words != text, f"untranslated into {self.language}: {text!r}"
        return words

    def checked(self) -> None:
        """This page: no axe-core violation, and nothing wider than the screen."""
        self.page.wait_for_load_state("load")
        check_axe(self.page)
        assert self.page.locator("html").get_attribute("lang") == self.language, self.page.url
        scroll = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= self.width, f"{self.page.url} is {scroll} px wide on a {self.width} px screen"
        self.seen.append(self.page.url)

    def press(self, control) -> None:  # type: ignore[no-untyped-def]
        """Act as the keyboard does: the control takes the focus, then Enter (no mouse)."""
        control.focus()
        assert control.evaluate("element => element === document.activeElement"), "the control takes no focus"
        control.press("Enter")  # and waits for the navigation it starts

    def button(self, text: str, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.page.get_by_role("button", name=self.t(text), **kwargs)

    def link(self, text: str, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.page.get_by_role("link", name=self.t(text), **kwargs)

    def label(self, text: str, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.page.get_by_label(self.t(text), **kwargs)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _shipped_directory() -> None:
    """The directory a fresh install has: the snapshot that ships with the app."""
    from consent.services import directory

    with directory.unpacked_snapshot() as found:
        directory.import_unpacked(db.session(), found)


@pytest.mark.parametrize("width", WIDTHS, ids=list(WIDTHS))
@pytest.mark.parametrize("language", LANGUAGES, ids=list(LANGUAGES))
def test_from_registering_to_the_complaint(database_url, browser, language, width):  # type: ignore[no-untyped-def]
    w, h = WIDTHS[width]
    with serving(database_url, _shipped_directory) as (base, _app):
        context = browser.new_context(locale=LANGUAGES[language], viewport={"width": w, "height": h})
        page = context.new_page()
        page.set_default_timeout(30000)  # a ceiling, not a speed check: parallel workers share the cores
        walk = Walk(page, base, language, w)
        try:
            _journey(walk)
        finally:
            context.close()
    assert len(walk.seen) >= 12


def _journey(walk: Walk) -> None:
    page, t = walk.page, walk.t
    page.goto(walk.base)
    walk.checked()
    walk.press(walk.link("Create an account").first)
    walk.checked()
    walk.label("E-mail").fill("ada@example.org")
    walk.label("Password", exact=True).fill(PASSWORD)
    walk.label("Repeat the password").fill(PASSWORD)
    walk.press(walk.button("Create my account"))
    expect(page.locator("#recovery-code")).to_be_visible()
    walk.checked()
    walk.press(walk.button("I have kept it, continue"))
    walk.checked()

    # The letters need a name and an address.
    page.goto(walk.base + "/profile")
    walk.checked()
    walk.label("Full name").fill("Ada Lovelace")
    walk.label("Postal address").fill("12 rue des Lilas\n75011 Paris")
    walk.label("Country").select_option("FR")
    walk.press(walk.button("Save"))
    walk.checked()

    # Instagram from the directory that ships with the app.
    page.goto(walk.base + "/platforms/new")
    walk.checked()
    walk.label("Company, service or website").press_sequentially("insta", delay=40)
    suggestion = page.locator("#directory-results button.suggestion").first
    suggestion.wait_for()
    assert suggestion.locator("strong").inner_text() == "Instagram"
    walk.press(suggestion)
    walk.press(walk.button("Add the platform"))
    expect(page.get_by_role("heading", name="Instagram")).to_be_visible()
    walk.checked()

    # Grant, then withdraw, marketing.
    walk.label("Purpose", exact=True).select_option(value="https://w3id.org/dpv#DirectMarketing")
    walk.press(walk.button("Grant", exact=True).last)
    expect(page.get_by_text(t("Granted and signed into your ledger."))).to_be_visible()
    walk.checked()
    walk.press(walk.button("Withdraw").first)
    expect(page.get_by_text(t("Withdrawn and signed into your ledger."))).to_be_visible()
    walk.checked()

    # The withdrawal letter, sent two months ago: its deadline has passed.
    walk.press(walk.link("Write the withdrawal letter"))
    walk.checked()
    sent_on = date.today() - timedelta(days=70)
    walk.label("Sent on").fill(sent_on.isoformat())
    walk.press(walk.button("I sent it: follow the deadline"))
    walk.checked()  # the page asks first: the deadline starts, it cannot be unsent
    walk.press(walk.button("Yes, record it as sent"))
    walk.checked()
    expect(page.locator("#request-status")).to_have_text(t("Overdue"))

    # The complaint to the authority.
    walk.press(walk.link("Write the complaint to the authority"))
    walk.checked()
    walk.label("Sent on").fill(date.today().isoformat())
    walk.press(walk.button("I sent it: follow the deadline"))
    walk.press(walk.button("Yes, record it as sent"))
    walk.checked()
    expect(page.locator("#request-status")).to_have_text(t("Sent"))
    page.goto(walk.base + "/requests")
    walk.checked()
    assert page.locator("main").get_by_text("Instagram").count() >= 2
