"""Requests in a real browser: at phone width nothing scrolls sideways, the kind of letter
updates the letter at once, a letter edited by hand is recorded as written, and the steps
that cannot be undone ask first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.test_browser import live_server, page  # noqa: F401  (fixtures used by name)

pytestmark = pytest.mark.browser

LONG_NAMES = (
    "Boutique Éclair Internationale des Produits Numériques et des Services en Ligne SARL",
    "Kundenbindungsprogrammgesellschaftsverwaltung GmbH & Co. KG",
)
PHONE = {"width": 390, "height": 844}
SHOP = {"email": "privacy@shop.example", "address": "3 rue de Rivoli\n75004 Paris\nFrance", "country": "FR"}


def _post(tab: Page, form_path: str, data: dict, action: str | None = None) -> str:
    """A form posted with the browser's own cookies and the page's CSRF token; the URL it ends on."""
    base = re.match(r"https?://[^/]+", tab.url).group(0)  # the page is on the app already
    html = tab.request.get(base + form_path).text()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = tab.request.post(base + (action or form_path), form={"csrf_token": token, **data}, max_redirects=0)
    assert response.status in (200, 302), (action or form_path, response.status, response.text()[:800])
    return response.headers.get("location", "")


def _letter(tab: Page, platform: str, **data) -> str:
    form = {"kind": "access", "language": "fr", "channel": "email", "include_address": "y", "include_email": "y"}
    if data.get("step") == "sent":
        form["confirm"] = "y"
    form.update(data)
    return _post(tab, f"/platforms/{platform}/letter?kind={form['kind']}", form, f"/platforms/{platform}/letter")


def _account_with_requests_in_every_status(tab: Page, base: str) -> dict[str, str]:
    tab.goto(base + "/register")
    tab.get_by_label("E-mail").fill("ada@example.org")
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_label("Repeat the password").fill(PASSWORD)
    tab.get_by_role("button", name="Create my account").click()
    expect(tab.locator("#recovery-code")).to_be_visible()
    _post(tab, "/profile", {"full_name": "Zoë Dupré", "postal_address": "12 rue de la Paix\n75002 Paris", "country": "FR"})
    shops = [
        _post(tab, "/platforms/new", {**SHOP, "name": name}).rsplit("/", 1)[1]
        for name in LONG_NAMES
    ]
    today = datetime.now(UTC).date()
    made = {
        "overdue": _letter(tab, shops[0], step="sent", sent_on="2026-09-01"),
        "draft": _letter(tab, shops[1], kind="erasure", step="draft"),
        "due_soon": _letter(tab, shops[1], step="sent", sent_on=(today - timedelta(days=27)).isoformat()),
        "extended": _letter(tab, shops[1], kind="portability", step="sent"),
        "answered": _letter(tab, shops[0], kind="erasure", step="sent"),
        "filed": _letter(tab, shops[0], step="sent", sent_on="2026-08-03"),
    }
    ids = {name: location.rsplit("/", 1)[1] for name, location in made.items()}
    for name, status in (("extended", "extended"), ("answered", "answered")):
        _post(tab, f"/requests/{ids[name]}", {"status": status}, f"/requests/{ids[name]}/update")
    _letter(tab, shops[0], kind="reminder", parent=ids["overdue"], step="sent")
    _letter(tab, shops[0], kind="complaint", parent=ids["filed"], authority="fr-cnil", channel="webform", step="sent")
    return {**ids, "shop": shops[0], "bank": shops[1]}


def _scroll_width(tab: Page) -> int:
    return int(tab.evaluate("document.documentElement.scrollWidth"))


def test_requests_pages_fit_a_phone(live_server, page):  # noqa: F811
    ids = _account_with_requests_in_every_status(page, live_server)
    page.set_viewport_size(PHONE)
    for path in (
        "/requests",
        "/requests?status=overdue",
        "/requests?status=draft",
        f"/requests/{ids['overdue']}",
        f"/requests/{ids['draft']}",
        f"/platforms/{ids['shop']}/letter?kind=access",
        f"/platforms/{ids['bank']}/letter?kind=complaint&parent={ids['due_soon']}",
    ):
        page.goto(live_server + path)
        assert _scroll_width(page) <= 390, f"{path} is {_scroll_width(page)} px wide on a 390 px phone"
    page.goto(live_server + "/requests")
    statuses = page.locator("#request-list .status").all_inner_texts()
    for shown in ("Overdue", "Draft", "Sent", "Extended by the platform", "Answered", "Complaint filed", "Reminder sent"):
        assert shown in statuses, (shown, statuses)


def test_the_search_form_filters_without_putting_what_is_typed_in_the_url(live_server, page):  # noqa: F811
    _account_with_requests_in_every_status(page, live_server)
    page.goto(live_server + "/requests")
    page.get_by_label("Platform").fill("kundenbindung")
    page.get_by_label("Status").select_option("draft")
    page.get_by_role("button", name="Show").click()
    assert "kundenbindung" not in page.url  # posted: what is typed stays out of URLs and logs
    expect(page.locator("#request-list > li")).to_have_count(1)
    page.get_by_label("Status").select_option("complaint_filed")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#no-match")).to_contain_text("No request matches.")
    page.locator("#clear-filters").click()
    expect(page.locator("#request-list > li")).to_have_count(8)


def test_kind_edit_confirm_and_delete_in_the_browser(live_server, page):  # noqa: F811
    ids = _account_with_requests_in_every_status(page, live_server)
    page.goto(live_server + f"/platforms/{ids['shop']}/letter?kind=access")
    letter = page.locator("#letter-text")
    expect(letter).to_contain_text("Demande d'accès à mes données personnelles")
    # Choosing another kind writes the letter again at once (the script submits the form).
    page.get_by_label("Kind of letter").select_option("erasure")
    expect(letter).to_contain_text("Demande d'effacement de mes données personnelles")
    expect(page.get_by_label("Kind of letter")).to_be_focused()

    # Edit it by hand, then record it as sent: a confirmation says what follows.
    text = letter.input_value().replace("Madame, Monsieur,", "Madame la déléguée,")
    letter.fill(text)
    page.get_by_role("button", name="I sent it: follow the deadline").click()
    confirm = page.locator("#confirm-sent")
    expect(confirm).to_be_focused()  # the page opens on the question, not at its top
    expect(confirm).to_contain_text("It cannot be unsent")
    expect(confirm).to_contain_text("You edited the text by hand")
    page.locator("#confirm-sent-yes").click()
    expect(page.locator("#letter-edited")).to_have_text("Edited by hand")
    with page.expect_download() as download:
        page.get_by_role("link", name="text").click()
    assert download.value.path().read_text(encoding="utf-8") == text.replace("\r\n", "\n")

    # An edit, then a change of kind: the browser asks before dropping it.
    page.goto(live_server + f"/platforms/{ids['shop']}/letter?kind=access")
    page.locator("#letter-text").fill("Madame, Monsieur,\n\nMon texte à moi.\n")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_label("Kind of letter").select_option("portability")
    expect(page.get_by_label("Kind of letter")).to_have_value("access")
    expect(page.locator("#letter-text")).to_have_value("Madame, Monsieur,\n\nMon texte à moi.\n")

    # A draft is deleted only once confirmed.
    page.goto(live_server + f"/requests/{ids['draft']}")
    page.get_by_role("button", name="Delete this draft").click()
    expect(page.get_by_role("heading", name="Delete this draft?")).to_be_visible()
    page.get_by_role("button", name="Yes, delete the draft").click()
    expect(page.get_by_text("The draft is deleted.")).to_be_visible()
    assert page.request.get(live_server + f"/requests/{ids['draft']}").status == 404
