"""Passkeys in a real browser (issue 9): Chromium with a virtual authenticator (the
DevTools WebAuthn domain) makes a passkey on the security page, and logs in with it as
the second step; a password alone stays at the second step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from consent import db
from consent.models import SecondFactor
from tests.conftest import PASSWORD
from tests.test_browser_freshness import browser, live, open_page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _at_localhost(url: str) -> str:
    # Passkeys need a name, not an IP address; localhost is the loopback by name.
    return url.replace("127.0.0.1", "localhost")


@pytest.fixture
def page_with_authenticator(browser: Browser) -> Iterator[Page]:  # noqa: F811
    page = open_page(browser, viewport=PHONE)
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    options: dict[str, Any] = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    session.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    yield page
    page.context.close()


def _log_in(page: Page, url: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def register_with_passkey(page: Page, url: str, name: str) -> None:
    """A new account, then a passkey made on the security page as a person does."""
    page.goto(url + "/register")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("button", name="I have kept it, continue").click()
    page.goto(url + "/settings/security")
    form = page.locator("form[data-passkey-mode=create]")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_role("button", name="Make a passkey").click()
    expect(page.get_by_text("Your passkey is set up.")).to_be_visible()
    expect(page.locator("li strong", has_text=name)).to_be_visible()  # listed by its name


def test_a_passkey_is_made_and_then_logs_in(live: tuple[str, Flask], page_with_authenticator: Page, browser: Browser):  # noqa: F811
    url, app = live
    url = _at_localhost(url)
    page = page_with_authenticator
    register_with_passkey(page, url, "phone")
    with app.app_context():
        assert db.session().query(SecondFactor).filter_by(kind="passkey").count() == 1

    # Log out, then in: the password leads to the second step, the passkey through it.
    page.get_by_role("button", name="Log out").click()
    _log_in(page, url)
    expect(page.get_by_role("heading", name="Second step")).to_be_visible()
    page.goto(url + "/dashboard")
    expect(page.get_by_role("heading", name="Second step")).to_be_visible()  # nothing else opens
    page.get_by_role("button", name="Use my passkey").click()
    page.wait_for_url(url + "/dashboard")

    # Another browser, with the password but without the passkey, stays at the second step.
    stranger = open_page(browser)  # no authenticator
    _log_in(stranger, url)
    expect(stranger.get_by_role("heading", name="Second step")).to_be_visible()
    stranger.goto(url + "/ledger")
    expect(stranger.get_by_role("heading", name="Second step")).to_be_visible()
    stranger.context.close()


def test_a_passkey_confirms_a_sensitive_change_and_is_removed(live: tuple[str, Flask], page_with_authenticator: Page):  # noqa: F811
    """Ten minutes after the log-in, changing the password asks "confirm it is you": the
    passkey answers, the person is back on the settings; the passkey is listed by its name
    and removed with the password."""
    from datetime import UTC, datetime, timedelta

    from consent.models import Login

    url, app = live
    url = _at_localhost(url)
    page = page_with_authenticator
    register_with_passkey(page, url, "work laptop")

    with app.app_context():  # eleven minutes pass
        s = db.session()
        for row in s.query(Login):
            row.factor_confirmed_at = datetime.now(UTC) - timedelta(minutes=11)
        s.commit()
    page.goto(url + "/settings")
    password = page.locator("form[action='/settings/password']")
    password.get_by_label("Current password").fill(PASSWORD)
    password.get_by_label("New password").fill(PASSWORD + "!")
    password.get_by_label("Repeat the password").fill(PASSWORD + "!")
    password.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_role("button", name="Use my passkey").click()
    page.wait_for_url(url + "/settings")

    page.goto(url + "/settings/security")
    listed = page.locator("li", has_text="work laptop")
    listed.get_by_label("Current password").fill(PASSWORD)
    listed.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("The second factor is removed.")).to_be_visible()
    with app.app_context():
        assert db.session().query(SecondFactor).count() == 0
