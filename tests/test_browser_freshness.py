"""The person's browser as a witness of their ledger (static/freshness.js), in the system
Chromium: it keeps the checkpoint it verified, follows the ledger's growth by consistency
proofs, and puts up a banner on a rollback, a fork, a changed key or a bad signature."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, Route, expect

from consent import db
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.merkle import Frontier
from consent.ledger.note import VerifierKey
from consent.models import LedgerCheckpoint, LedgerEntry, LedgerHead, User
from tests.conftest import PASSWORD
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, serving

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PURPOSES = [
    "Direct marketing (newsletters, offers by e-mail, post or phone)",
    "Personalised advertising",
    "Analytics of how I use the service",
    "Marketing",
    "Personalising the service",
    "Research and development",
]


@pytest.fixture
def live(database_url: str) -> Iterator[tuple[str, Flask]]:
    with serving(database_url) as served:
        yield served


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(browser: Browser, viewport: dict[str, int] = DESKTOP, **options: Any) -> Page:
    page = browser.new_context(locale="en-GB", viewport=viewport, **options).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(30000)  # a ceiling, not a speed check: parallel workers share the cores
    return page


# --- the person's steps ----------------------------------------------------------------------


def register(page: Page, url: str) -> str:
    """A new account; returns its ledger's origin, as the page gives it to the script."""
    page.goto(url + "/register")
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("button", name="I have kept it, continue").click()
    origin = page.locator("#ledger-freshness").get_attribute("data-origin")
    assert origin and origin.startswith("consent-ledger/")
    return origin


def add_platform(page: Page, url: str) -> None:
    page.goto(url + "/platforms/new")
    page.get_by_role("textbox", name="Name").fill("Shopwise Online")
    page.get_by_role("textbox", name="Website").fill("https://shopwise.example")
    page.get_by_label("Privacy contact e-mail").fill("privacy@shopwise.example")
    page.get_by_label("Country").select_option("DE")
    page.get_by_role("button", name="Add the platform").click()
    expect(page.get_by_role("heading", name="Shopwise Online")).to_be_visible()


def grant(page: Page, purpose: str) -> None:
    """On the platform's page: grant one use."""
    page.get_by_label("Purpose", exact=True).select_option(label=purpose)
    # The page before shows the same flash after a grant: wait for the new one to load.
    with page.expect_navigation():
        page.get_by_role("button", name="Grant", exact=True).last.click()
    expect(page.get_by_text("Granted and signed into your ledger.")).to_be_visible()


# --- what the browser holds --------------------------------------------------------------------


def held(page: Page, origin: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = page.evaluate("k => JSON.parse(localStorage.getItem(k))", f"consent-ledger:{origin}")
    return value


def hold(page: Page, origin: str, value: dict[str, Any]) -> None:
    page.evaluate("([k, v]) => localStorage.setItem(k, JSON.stringify(v))", [f"consent-ledger:{origin}", value])


def wait_until_held(page: Page, origin: str, size: int) -> None:
    """Until the script has verified and kept the checkpoint of ``size``."""
    page.wait_for_function(
        "([k, n]) => { const v = JSON.parse(localStorage.getItem(k)); return v !== null && v.size === n; }",
        arg=[f"consent-ledger:{origin}", size],
    )


def expect_no_warning(page: Page) -> None:
    """Call after wait_until_held: the check is over by then, so nothing is still to come."""
    banner = page.locator("#ledger-freshness")
    expect(banner).to_be_empty()
    assert banner.get_attribute("class") is None and banner.get_attribute("data-problem") is None


def expect_warning(page: Page, problem: str, text: str) -> None:
    banner = page.locator("#ledger-freshness")
    expect(banner).to_contain_text(text)
    expect(banner).to_have_attribute("data-problem", problem)
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_have_class("flash flash-error banner-alarm")
    expect(banner).to_be_visible()
    expect(banner).to_be_in_viewport()


def checkpoint(app: Flask, size: int) -> dict[str, Any]:
    """What the browser keeps once it has verified the stored checkpoint of ``size``."""
    with app.app_context():
        s = db.session()
        note = s.scalar(sa.select(LedgerCheckpoint.note).where(LedgerCheckpoint.size == size))
        public = s.scalar(sa.select(User.signing_public_key))
    assert note is not None and public is not None
    key = VerifierKey(note.split("\n", 1)[0], public)
    root = base64.b64encode(open_checkpoint(note, key).root).decode()
    return {"key": str(key), "size": size, "root": root, "note": note}


def roll_back(app: Flask, size: int) -> None:
    """What an operator restoring an old backup of the ledger tables does: the newest events
    and checkpoints gone, the head set back to the older tree (no signature needed)."""
    with app.app_context():
        s = db.session()
        s.execute(sa.delete(LedgerEntry).where(LedgerEntry.index >= size))
        s.execute(sa.delete(LedgerCheckpoint).where(LedgerCheckpoint.size > size))
        frontier = Frontier()
        for leaf in s.scalars(sa.select(LedgerEntry.leaf_hash).order_by(LedgerEntry.index)):
            frontier.append(leaf)
        s.execute(sa.update(LedgerHead).values(size=frontier.size, frontier=frontier.to_bytes()))
        s.commit()
    assert frontier.size == size


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_growth_is_followed_quietly_and_a_rollback_gets_a_banner(live, browser, viewport, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, app = live
    page = open_page(browser, viewport)
    origin = register(page, url)
    wait_until_held(page, origin, 0)  # the key is pinned before anything is signed
    assert held(page, origin)["note"] is None  # type: ignore[index]

    add_platform(page, url)
    wait_until_held(page, origin, 1)
    for purpose in PURPOSES[:2]:
        grant(page, purpose)
    wait_until_held(page, origin, 3)
    expect_no_warning(page)

    # Every form the page posts carries what the browser holds.
    page.get_by_label("Purpose", exact=True).select_option(label=PURPOSES[2])
    with (
        page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/uses")) as posted,
        page.expect_navigation(),
    ):
        page.get_by_role("button", name="Grant", exact=True).last.click()
    assert "held_checkpoint=" in (posted.value.post_data or "")
    wait_until_held(page, origin, 4)

    # Three decisions while the script cannot ask: the next visit proves the jump 4 -> 7.
    page.route("**/ledger/checkpoint.json*", lambda route: route.abort())
    for purpose in PURPOSES[3:]:
        grant(page, purpose)
    page.unroute("**/ledger/checkpoint.json*")
    assert held(page, origin)["size"] == 4  # type: ignore[index]
    page.reload()
    wait_until_held(page, origin, 7)
    expect_no_warning(page)

    # From each older checkpoint a browser could hold, the proof to the newest verifies.
    for size in range(1, 7):
        hold(page, origin, checkpoint(app, size))
        page.reload()
        wait_until_held(page, origin, 7)
        expect_no_warning(page)
    newest = held(page, origin)
    assert newest == checkpoint(app, 7)

    roll_back(app, 3)
    page.goto(url + "/dashboard")
    expect_warning(
        page,
        "rolled_back",
        "This ledger was rolled back: your browser saw more events in it than the server now "
        "shows (your browser: 7, the server: 3).",
    )
    expect(page.locator("#ledger-freshness")).to_contain_text("do not clear this site's data")
    page.screenshot(path=str(tmp_path / "rolled-back.png"), full_page=True)
    assert held(page, origin) == newest  # the evidence is kept, not replaced by the older tree
    page.reload()
    expect_warning(page, "rolled_back", "(your browser: 7, the server: 3)")
    assert held(page, origin) == newest


def test_a_changed_key_gets_a_banner_and_the_pinned_key_is_kept(live, browser) -> None:  # type: ignore[no-untyped-def]
    url, _ = live
    page = open_page(browser, PHONE)
    origin = register(page, url)
    add_platform(page, url)
    wait_until_held(page, origin, 1)
    pinned = held(page, origin)
    assert pinned is not None
    # As if the browser had pinned another key: the server's is not the one it saw first.
    other = {**pinned, "key": str(VerifierKey(origin, hashlib.sha256(b"another key").digest()))}
    hold(page, origin, other)
    page.reload()
    expect_warning(page, "key", "The key that signs your ledger changed")
    assert held(page, origin) == other


def test_a_fork_and_a_bad_signature_get_a_banner(live, browser) -> None:  # type: ignore[no-untyped-def]
    url, app = live
    page = open_page(browser, DESKTOP)
    origin = register(page, url)
    add_platform(page, url)
    for purpose in PURPOSES[:3]:
        grant(page, purpose)
    wait_until_held(page, origin, 4)
    expect_no_warning(page)
    same = held(page, origin)
    assert same is not None

    # Another root at a size the browser saw: a fork.
    forked = {**same, "root": base64.b64encode(hashlib.sha256(b"another history").digest()).decode()}
    hold(page, origin, forked)
    page.reload()
    expect_warning(page, "forked", "This ledger was forked")
    assert held(page, origin) == forked

    # A smaller tree held; the server's proof does not lead from it: a fork too.
    hold(page, origin, checkpoint(app, 3))

    def bad_proof(route: Route) -> None:
        answer = route.fetch().json()
        proof = [base64.b64decode(h) for h in answer["proof"]]
        proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
        route.fulfill(json={**answer, "proof": [base64.b64encode(h).decode() for h in proof]})

    page.route("**/ledger/checkpoint.json*", bad_proof)
    page.reload()
    expect_warning(page, "forked", "(your browser: 3, the server: 4)")
    assert held(page, origin) == checkpoint(app, 3)
    page.unroute("**/ledger/checkpoint.json*")

    # The newest checkpoint with its signature altered.
    def bad_signature(route: Route) -> None:
        answer = route.fetch().json()
        body, _, line = answer["checkpoint"].partition("\n\n")
        name, encoded = line.rstrip("\n").rsplit(" ", 1)
        raw = bytearray(base64.b64decode(encoded))
        raw[-1] ^= 1
        note = f"{body}\n\n{name} {base64.b64encode(bytes(raw)).decode()}\n"
        route.fulfill(json={**answer, "checkpoint": note})

    page.route("**/ledger/checkpoint.json*", bad_signature)
    page.reload()
    expect_warning(page, "invalid", "does not carry a valid signature by your key")
    assert held(page, origin) == checkpoint(app, 3)


def test_without_javascript_the_pages_work_as_before(live, browser) -> None:  # type: ignore[no-untyped-def]
    url, app = live
    page = open_page(browser, DESKTOP, java_script_enabled=False)
    register(page, url)
    add_platform(page, url)
    grant(page, PURPOSES[0])
    expect(page.locator("#ledger-freshness")).to_be_empty()
    assert checkpoint(app, 2)["size"] == 2
