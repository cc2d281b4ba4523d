"""A real browser (the system Chromium, driven by Playwright) through the account's life."""

from __future__ import annotations

import io
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import expect
from werkzeug.serving import make_server

from consent import create_app, db, migrate
from tests.conftest import NEW_PASSWORD, PASSWORD, test_settings

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CONSENT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def serving(database_url: str, prepare: Callable[[], None] = lambda: None) -> Iterator[tuple[str, Flask]]:
    """The app on a free loopback port, its database migrated and prepared, for one test;
    the app too, for a test that changes its database behind its back."""
    app = create_app(test_settings(database_url))
    with app.app_context():
        migrate.upgrade(db.engine())
        prepare()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join()
        with app.app_context():
            db.engine().dispose()


@pytest.fixture
def live_server(database_url: str) -> Iterator[str]:
    with serving(database_url) as (url, _app):
        yield url


#: Debian's Chromium, headless, with nothing reaching for the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def page(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(30000)  # a ceiling, not a speed check: parallel workers share the cores
        yield page
        context.close()
        browser.close()


def test_register_keep_the_code_log_out_and_back_in(live_server, page, tmp_path):
    page.goto(live_server)
    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()

    code = page.locator("#recovery-code").inner_text().strip()
    assert len(code) == 39
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a text file").click()
    saved = tmp_path / "code.txt"
    download.value.save_as(saved)
    assert code in saved.read_text(encoding="utf-8")
    assert "ada@example.org" in saved.read_text(encoding="utf-8")
    page.screenshot(path=str(tmp_path / "recovery-code.png"), full_page=True)

    page.get_by_role("button", name="I have kept it, continue").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # The kept code opens the account when the password is forgotten.
    page.get_by_role("button", name="Log out").click()
    page.goto(live_server + "/reset")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Recovery code").fill(code.replace("-", " ").lower())
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Your new recovery code")).to_be_visible()
    assert page.locator("#recovery-code").inner_text().strip() != code
    if os.environ.get("CONSENT_SCREENSHOTS"):
        shutil.copytree(tmp_path, os.environ["CONSENT_SCREENSHOTS"], dirs_exist_ok=True)


def test_main_path_platform_three_grants_one_withdrawal_timeline_verify(live_server, page, tmp_path):
    page.goto(live_server + "/register")
    page.get_by_label("E-mail").fill("grace@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("button", name="I have kept it, continue").click()

    page.get_by_role("main").get_by_role("link", name="Add a platform").click()
    page.get_by_role("textbox", name="Name").fill("Shopwise Online")
    page.get_by_role("textbox", name="Website").fill("https://shopwise.example")
    page.get_by_label("Privacy contact e-mail").fill("privacy@shopwise.example")
    page.get_by_label("Country").select_option("DE")
    page.get_by_text("Personal data they hold (optional)").click()  # folded until needed
    page.get_by_role("checkbox", name="Purchases and spending habits").check()
    page.get_by_role("button", name="Add the platform").click()
    expect(page.get_by_role("heading", name="Shopwise Online")).to_be_visible()

    for purpose in (
        "Direct marketing (newsletters, offers by e-mail, post or phone)",
        "Personalised advertising",
        "Analytics of how I use the service",
    ):
        page.get_by_label("Purpose", exact=True).select_option(label=purpose)
        page.get_by_role("button", name="Grant", exact=True).last.click()
        expect(page.get_by_text("Granted and signed into your ledger.")).to_be_visible()

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("Granted: 3")).to_be_visible()
    page.get_by_role("button", name="Withdraw: Personalised advertising · Shopwise Online").click()
    expect(page.get_by_text("Withdrawn and signed into your ledger.")).to_be_visible()
    expect(page.get_by_text("Withdrawn: 1")).to_be_visible()

    page.get_by_role("link", name="Ledger", exact=True).click()
    timeline = page.locator("figure.timeline svg")
    expect(timeline).to_be_visible()
    assert page.locator("rect.seg-withdrawn").count() == 1
    assert page.locator("rect.seg-granted").count() == 3
    page.screenshot(path=str(tmp_path / "ledger.png"), full_page=True)
    page.get_by_role("button", name="Verify my ledger").click()
    assert page.locator("#verify-result").inner_text() == "Your ledger is intact."
    expect(page.get_by_text("5 events: each one decrypts and hashes to its leaf in the tree.")).to_be_visible()
    if os.environ.get("CONSENT_SCREENSHOTS"):
        shutil.copytree(tmp_path, os.environ["CONSENT_SCREENSHOTS"], dirs_exist_ok=True)


@pytest.fixture
def directory_server(database_url: str) -> Iterator[str]:
    """A live server whose directory holds the real datarequests.org snapshot."""
    from consent.services import directory
    from tests.conftest import shared_path

    folder = shared_path("datarequests")

    def import_snapshot() -> None:
        directory.import_directory(db.session(), folder)

    with serving(database_url, import_snapshot) as (url, _app):
        yield url


@pytest.mark.shared
def test_typing_insta_suggests_instagram_and_choosing_it_fills_the_form(directory_server, page, tmp_path):
    page.goto(directory_server + "/register")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#recovery-code")).to_be_visible()  # registered, before going on
    page.goto(directory_server + "/platforms/new")
    page.get_by_label("Company, service or website").press_sequentially("insta", delay=60)
    suggestion = page.locator("#directory-results button.suggestion").first
    suggestion.wait_for()
    assert suggestion.locator("strong").inner_text() == "Instagram"
    assert "Meta Platforms Ireland Limited" in suggestion.inner_text()
    page.screenshot(path=str(tmp_path / "suggestions.png"), full_page=True)
    suggestion.click()
    assert page.get_by_role("textbox", name="Name").input_value() == "Instagram"
    assert page.get_by_role("textbox", name="Website").input_value() == "https://www.instagram.com/"
    assert "Meta Platforms Ireland Limited" in page.get_by_role("textbox", name="Postal address").input_value()
    expect(page.get_by_text("What the directory says about writing to them")).to_be_visible()
    page.get_by_role("button", name="Add the platform").click()
    expect(page.get_by_role("heading", name="Instagram")).to_be_visible()
    if os.environ.get("CONSENT_SCREENSHOTS"):
        shutil.copytree(tmp_path, os.environ["CONSENT_SCREENSHOTS"], dirs_exist_ok=True)


def test_the_key_cards_qr_code_on_a_phone_screen_reads_back_as_the_key(live_server, page):
    """The QR code as a phone shows it (390 px wide) is whole, quiet zone included, and
    reads back as the verifier key the page prints."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/register")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#recovery-code")).to_be_visible()
    page.goto(live_server + "/ledger/key")
    key = page.locator("#verifier-key").inner_text().strip()
    shot = page.locator(".key-card figure.qr svg").screenshot()
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert code.text == key
