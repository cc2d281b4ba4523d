"""Register -> second step -> log in -> reset in a real browser, at a phone's width and a
desktop's, with the keyboard alone (issue 11): every control labelled, the focus always
visible, and the recovery code never lost to the footer's language switch."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import NEW_PASSWORD, PASSWORD
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, live_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

#: What each focused control must show: an outline or a ring of its own.
_FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return true;  // past the last control, Tab goes round to the window
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return outline || s.boxShadow !== 'none';
}"""

#: The visible controls of the page that have no name a screen reader could announce.
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
  .filter(el => el.type !== 'hidden' && !el.hidden && el.getClientRects().length > 0)
  .filter(el => {
    const named = (el.labels && [...el.labels].some(l => l.textContent.trim()))
      || (el.getAttribute('aria-label') || '').trim()
      || el.getAttribute('aria-labelledby')
      || (['BUTTON', 'A'].includes(el.tagName) && el.textContent.trim());
    return !named;
  })
  .map(el => el.outerHTML.slice(0, 120))"""


@pytest.fixture(params=[390, 1280], ids=["phone", "desktop"])
def page(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    width = request.param
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 844 if width < 600 else 900})
        tab = context.new_page()
        tab.set_default_timeout(30000)  # a ceiling, not a speed check: parallel workers share the cores
        yield tab
        context.close()
        browser.close()


def _check_page(page: Page) -> None:
    """Every control named; nothing wider than the window."""
    assert page.evaluate(_UNLABELLED) == [], page.url
    width = page.evaluate("() => window.innerWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, f"{page.url} scrolls sideways"


def _tab_to(page: Page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus, checking that every stop shows it."""
    target = page.locator(selector)
    expect(target).to_have_count(1)
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert page.evaluate(_FOCUS_SHOWN), (
            f"the focus is not visible on {page.evaluate('() => document.activeElement.outerHTML.slice(0, 120)')}"
        )
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} was not reached with {limit} presses of Tab on {page.url}")


def _type_into(page: Page, selector: str, text: str) -> None:
    _tab_to(page, selector)
    page.keyboard.type(text)


def _recovery_code(page: Page) -> str:
    code = page.locator("#recovery-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){7}", code), code
    return code


def _keep_code_through_french(page: Page, code: str) -> None:
    """Switch the interface to French on the recovery code page: the code is still there;
    then back to English, and confirm it was kept (Space on the button)."""
    _tab_to(page, 'footer button[lang="fr"]')
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert _recovery_code(page) == code
    _check_page(page)
    _tab_to(page, 'footer button[lang="en"]')
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert _recovery_code(page) == code
    _tab_to(page, "#code-kept")
    page.keyboard.press("Space")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _log_out(page: Page) -> None:
    _tab_to(page, 'header form[action="/logout"] button')
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are logged out.")).to_be_visible()


def test_french_in_the_footer_keeps_the_recovery_code(live_server, page):  # noqa: F811
    page.goto(live_server + "/register")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    code = _recovery_code(page)
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert "This form has expired" not in page.content()
    assert _recovery_code(page) == code and code not in page.url
    page.reload()  # a reload shows it again too
    assert _recovery_code(page) == code


def test_register_second_step_login_and_reset_with_the_keyboard_alone(live_server, page):  # noqa: F811
    # Register, with every error shown at once first.
    page.goto(live_server + "/register")
    _check_page(page)
    _type_into(page, "#email", "ada@")
    _type_into(page, "#password", "short")
    _type_into(page, "#confirm", "other")
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_be_visible()
    assert page.locator("p.error").count() == 3
    _check_page(page)
    page.locator("#email").fill("")
    _type_into(page, "#email", "ada@example.org")
    _type_into(page, "#password", PASSWORD)
    _type_into(page, "#confirm", PASSWORD)
    _tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    code = _recovery_code(page)
    _check_page(page)
    _keep_code_through_french(page, code)
    _check_page(page)

    # Turn on an authenticator app.
    page.goto(live_server + "/settings/security")
    _check_page(page)
    secret = re.search(r'name="totp-secret" type="hidden" value="([A-Z2-7]+)"', page.content())
    assert secret
    _type_into(page, "#totp-name", "phone")
    _type_into(page, "#totp-code", pyotp.TOTP(secret.group(1)).now())
    _type_into(page, "#totp-current", PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_text("phone", exact=True).first).to_be_visible()
    _log_out(page)

    # Log in: the password, then the second step with the recovery code (a new one follows).
    page.goto(live_server + "/login")
    _check_page(page)
    _type_into(page, "#email", "ada@example.org")
    _type_into(page, "#password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Code from your authenticator app")).to_be_visible()
    _check_page(page)
    _tab_to(page, "main details summary")  # "No access to your app?" unfolds the recovery code
    page.keyboard.press("Enter")
    expect(page.get_by_label("Or your recovery code")).to_be_visible()
    _type_into(page, "#recovery_code", code)
    page.keyboard.press("Enter")
    second = _recovery_code(page)
    assert second != code
    _check_page(page)
    _keep_code_through_french(page, second)
    _log_out(page)

    # Reset the forgotten password with the recovery code.
    page.goto(live_server + "/reset")
    _check_page(page)
    _type_into(page, "#email", "ada@example.org")
    _type_into(page, "#recovery_code", second)
    _type_into(page, "#password", NEW_PASSWORD)
    _type_into(page, "#confirm", NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your new recovery code")).to_be_visible()
    third = _recovery_code(page)
    assert third not in (code, second)
    _check_page(page)
    _keep_code_through_french(page, third)
