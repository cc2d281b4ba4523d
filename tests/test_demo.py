"""`consent demo` (issue 11): an account on which every page of the app has something to
show, letters included, all of it vouched for by the ledger."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest

from consent import db
from consent.services import accounts, integrity, ledger, profiles, requests
from consent.web.decisions import request_status_label
from tests.conftest import Auth

#: Pages whose content comes from the shared directory, not from the person's account
#: (the directory is another matter: it is empty in a test database).
_DIRECTORY_PAGES = ("/platforms/bulk", "/platforms/guide", "/platforms/new")
#: The states of a request the demo shows, each at least once.
REQUIRED_STATES = ("draft", "sent", "extended", "overdue", "answered", "complaint_filed", "closed")
#: Links that are no pages of the app for a crawler (the stylesheet and scripts).
_SKIP = ("/static/",)


@pytest.fixture
def demo(app):  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    email = re.search(r"e-mail:\s+(\S+)", result.output)
    password = re.search(r"password:\s+(\S+)", result.output)
    assert email and password, result.output
    return email.group(1), password.group(1)


def _login(app, demo):  # type: ignore[no-untyped-def]
    return accounts.log_in(db.session(), app.extensions["consent.accounts"], email=demo[0], password=demo[1])


def test_the_demo_fills_the_profile_every_letter_needs(app, demo):
    with app.app_context():
        profile = profiles.read_profile(db.session(), _login(app, demo))
    assert profile["full_name"] == "Lena Hoffmann"
    assert profile["postal_address"] == "Torstraße 112\n10119 Berlin"
    assert profile["correspondence_email"] and profile["date_of_birth"] and profile["country"] == "DE"


def test_the_demo_has_a_request_in_every_state_counted_from_today(app, demo):
    today = datetime.now(UTC).date()
    with app.app_context():
        s = db.session()
        login = _login(app, demo)
        found = requests.list_requests(s, login)
        states = {r.status_on(today) for r in found}
        kinds = {r.kind for r in found}
        answered = [requests.get_request(s, login, uuid.UUID(r.id)) for r in found]
    assert set(REQUIRED_STATES) <= states
    assert {"access", "erasure", "portability", "withdrawal", "reminder", "complaint"} <= kinds
    assert any(view and view.files for view in answered)  # an answer came with a file
    assert all(r.status_on(today) != "overdue" for r in found if r.kind == "portability")  # within its month


def test_the_demo_history_spans_a_year_and_its_ledger_verifies(app, demo):
    with app.app_context():
        s = db.session()
        login = _login(app, demo)
        recorded = list(ledger.iter_events(s, login))
        integrity.check(s, login)  # the records follow from the ledger: no alarm
        assert ledger.verify(s, login).ok
    kinds = {e["type"] for e in recorded}
    assert {"platform.added", "use.granted", "use.refused", "use.withdrawn", "use.expired"} <= kinds
    assert {"letter.sent", "request.updated"} <= kinds
    first = datetime.fromisoformat(recorded[0]["at"].replace("Z", "+00:00"))
    assert datetime.now(UTC) - first >= timedelta(days=366)  # over a year
    ats = [e["at"] for e in recorded if e["type"] != "use.expired"]  # expiries are recorded at the next login
    assert ats == sorted(ats), "the backdated history is recorded in the order it happened"


def _links(html: str) -> set[str]:
    found = set()
    for raw in re.findall(r'href="([^"]+)"', html):
        href = unescape(raw)
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/") or href.startswith(_SKIP):
            continue
        found.add(href.split("#")[0])
    return found


def test_every_page_of_the_demo_account_has_content(app, client, demo):
    """Log in with the printed credentials and follow every link from the main pages:
    each answers 200 with content, none shows an empty state or asks for a missing name."""
    auth = Auth(client)
    logged = auth.login(*demo)
    assert logged.status_code == 302, logged.get_data(as_text=True)
    start = ["/dashboard", "/platforms", "/requests", "/ledger", "/settings", "/profile"]
    today = datetime.now(UTC).date()
    start.append(f"/ledger/as-of?date={(today - timedelta(days=100)).isoformat()}")
    seen: dict[str, int] = {}
    queue = list(start)
    pages: dict[str, str] = {}
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        with client.get(path) as response:  # closed: a download streams from a temporary file
            body = response.data
        seen[path] = response.status_code
        if response.status_code == 302 and path == "/":  # the home page leads to the dashboard
            continue
        assert response.status_code == 200, f"GET {path}: {response.status_code}"
        assert body, f"GET {path}: empty body"
        if response.mimetype != "text/html":
            continue
        html = body.decode()
        pages[path] = html
        if not path.startswith(_DIRECTORY_PAGES):
            assert 'class="empty"' not in html, f"{path} shows an empty state"
        assert "Fill in your name" not in html, path
        queue.extend(link for link in _links(html) if link not in seen)
    visited = set(seen)
    # Every kind of page was reached by following links.
    for pattern in (
        r"^/platforms/[0-9a-f-]{36}$",
        r"^/platforms/[0-9a-f-]{36}/letter",
        r"^/requests/[0-9a-f-]{36}$",
        r"^/requests/[0-9a-f-]{36}/letter\.pdf$",
        r"^/requests/[0-9a-f-]{36}/letter\.txt$",
        r"^/requests/[0-9a-f-]{36}/files/",
        r"^/requests/[0-9a-f-]{36}/evidence\.pdf$",
        r"^/ledger/events/\d+$",
        r"^/ledger/events/\d+/receipt\.json$",
        r"^/ledger/export\.json$",
        r"^/ledger/key",
        r"^/settings/logins$",
        r"^/settings/security$",
    ):
        assert any(re.match(pattern, p) for p in visited), f"no page like {pattern} among {sorted(visited)}"
    assert sum(bool(re.match(r"^/platforms/[0-9a-f-]{36}$", p)) for p in visited) == 11  # the archived one too
    assert sum(bool(re.match(r"^/requests/[0-9a-f-]{36}$", p)) for p in visited) >= 8
    # The requests list shows every state, by its label.
    listed = pages["/requests"]
    with app.test_request_context():
        labels = [request_status_label(s) for s in REQUIRED_STATES]
    for label in labels:
        assert f">{label}<" in listed, f"/requests shows no request {label!r}"
    # A letter composes in the person's name, with their Berlin address.
    letters = [p for p in pages if re.match(r"^/platforms/[0-9a-f-]{36}/letter", p)]
    # (rectification, restriction and objection wait for the person's own words first)
    words = re.compile(r"kind=(rectification|restriction|objection)\b")
    unsigned = [p for p in letters if "Lena Hoffmann" not in pages[p] and not words.search(p)]
    assert letters and not unsigned, unsigned
    assert any("10119 Berlin" in pages[p] for p in letters)


@pytest.mark.parametrize("today", ["2025-01-31", "2024-02-29", "2025-12-24", "2026-03-31", "2026-08-15"])
def test_every_state_holds_whatever_day_the_demo_is_made(app, today):
    """Months of 28 to 31 days, holidays and leap years move the deadlines: the states hold."""
    from consent.demo import create_demo

    now = datetime.fromisoformat(today + "T16:45:00+00:00")
    with app.app_context():
        s = db.session()
        email, password = create_demo(s, app.extensions["consent.accounts"], now=now)
        login = accounts.log_in(s, app.extensions["consent.accounts"], email=email, password=password)
        found = requests.list_requests(s, login)
        assert ledger.verify(s, login).ok
    by_kind: dict[str, set[str]] = {}
    for r in found:
        by_kind.setdefault(r.kind, set()).add(r.status_on(now.date()))
    assert set(REQUIRED_STATES) <= set().union(*by_kind.values())
    assert by_kind["portability"] == {"sent"} and by_kind["complaint"] == {"sent"}
