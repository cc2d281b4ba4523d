"""Every page of the app, checked by axe-core (WCAG 2.2 AA) in a real browser (issue 11).

The pages come from the URL map, as in tests/test_routes_generated.py, and are filled by its
`World` (Ada with a platform, a use, a sent request with an answer, a calendar link and a
second factor): a page added later is checked without anyone remembering to. Each page is
seen logged in (and, when it is public, logged out), at a phone's 390 px and a desktop's
1280 px, in the light and the dark colour scheme: no axe violation, one <h1>, no id used
twice, and at 390 px nothing may scroll sideways.
The keyboard tests walk the navigation and the dashboard with Tab alone.

One server, one World and one browser serve the whole module; one context per width and
login state, the colour scheme switched in place (emulate_media)."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.serving import make_server

from consent import create_app, db, migrate
from tests.a11y import axe_violations, describe
from tests.conftest import PG_URL, Auth, count_rows, test_settings
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_integrity import _granted_state_written_back_after_a_withdrawal, assert_alarm, roll_back
from tests.test_platforms import add_platform, add_use
from tests.test_routes_generated import PUBLIC, World

pytestmark = pytest.mark.browser

WIDTHS = {"phone": 390, "desktop": 1280}
#: GET routes that answer with a file, not a page (their rule names a file, or it is
#: an answer file the person uploaded).
DOWNLOADS = {"static", "main.calendar", "requests.file"}

#: Pages owned by other templates that axe still faults: endpoint -> why. Each one is an
#: expected failure (strict): when its owner fixes it, the test says so and it leaves the list.
KNOWN: dict[str, str] = {}
#: The same, for what only the demo account's fuller pages show: endpoint -> why. The demo
#: test is an expected failure while one of them fails, and fails when one no longer does.
KNOWN_DEMO: dict[str, str] = {}


def _page_rules() -> list[Rule]:
    app = create_app(test_settings("sqlite:///:memory:"))
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint not in DOWNLOADS and "." not in rule.rule.rsplit("/", 1)[-1]
    ]
    return sorted(rules, key=lambda r: r.rule)


RULES = _page_rules()


def _cases() -> list[Any]:
    cases = []
    for width in WIDTHS:
        for rule in RULES:
            for who in ("ada", "visitor") if rule.endpoint in PUBLIC else ("ada",):
                marks = []
                if rule.endpoint in KNOWN:
                    marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[rule.endpoint]))
                cases.append(pytest.param(width, who, rule.endpoint, id=f"{width}-{who}-{rule.endpoint}", marks=marks))
    return cases


@pytest.fixture(scope="module")
def module_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """conftest's database_url for one module: new SQLite files, or PostgreSQL schemas."""
    schemas: list[str] = []

    def new() -> str:
        if not PG_URL:
            return f"sqlite:///{tmp_path_factory.mktemp('a11y') / 'consent.db'}"
        schemas.append(f"test_{secrets.token_hex(6)}")
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schemas[-1]}"'))
        return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schemas[-1]}"

    admin = sa.create_engine(PG_URL) if PG_URL else None
    try:
        yield new
    finally:
        if admin is not None:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@contextmanager
def _serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        with app.app_context():
            db.engine().dispose()


def _new_app(database_url: str) -> Flask:
    app = create_app(test_settings(database_url))
    with app.app_context():
        migrate.upgrade(db.engine())
    return app


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _tab(browser: Any, width: int, url: str, client: FlaskClient | None = None) -> Any:
    """A page in a context of its own at ``width``, carrying a test client's cookies (its
    session, second step done) when one is given."""
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
    if client is not None:
        context.add_cookies([
            {"name": cookie.key, "value": cookie.value, "url": url}
            for cookie in client._cookies.values()  # werkzeug lists them nowhere public
        ])
    page = context.new_page()
    page.set_default_timeout(30000)  # a ceiling, not a speed check: parallel workers share the cores
    return page


@dataclass
class Site:
    url: str
    world: World
    pages: dict[tuple[str, str], Any]  # (width, who) -> a Playwright page


@pytest.fixture(scope="module")
def site(module_databases: Callable[[], str], browser: Any) -> Iterator[Site]:
    app = _new_app(module_databases())
    world = World(app)
    with _serving(app) as url:
        pages = {
            (name, who): _tab(browser, width, url, world.ada.client if who == "ada" else None)
            for name, width in WIDTHS.items()
            for who in ("ada", "visitor")
        }
        yield Site(url, world, pages)
        for page in pages.values():
            page.context.close()


def _faults(site: Site, width: str, who: str, endpoint: str) -> list[str]:
    rule = next(r for r in RULES if r.endpoint == endpoint)
    page = site.pages[(width, who)]
    path = site.world.path(rule)
    response = page.goto(site.url + path)
    assert response is not None and "text/html" in response.headers.get("content-type", ""), (
        f"{path} is not a page: add {endpoint} to DOWNLOADS"
    )
    if who == "ada":
        assert page.url.split("?")[0] != site.url + "/login", f"{path}: Ada's browser was sent to log in"
    return _page_faults(page, WIDTHS[width])


def _page_faults(page: Any, width: int) -> list[str]:
    """What is wrong with the page the browser shows: axe's violations in each colour
    scheme, the number of <h1>, ids used twice, and a sideways scroll on a phone."""
    faults = []
    headings = page.locator("h1").count()
    if headings != 1:
        faults.append(f"expected one <h1>, got {headings}")
    twice = page.evaluate(
        "() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id); return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))]; }"
    )
    if twice:
        faults.append(f"ids used twice: {twice}")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        violations = axe_violations(page)
        if violations:
            faults.append(f"{scheme} scheme:\n{describe(violations)}")
    page.emulate_media(color_scheme="light")
    if width <= 390:
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width:
            wide = page.evaluate(
                """(w) => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > w + 1 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')
                    .slice(-5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + (e.id ? '#' + e.id : '')
                                   + ' ' + e.outerHTML.slice(0, 80))""",
                width,
            )
            faults.append(f"scrolls sideways: {scroll} px wide at {width} px (widest: {', '.join(wide)})")
    return faults


@pytest.mark.parametrize(("width", "who", "endpoint"), _cases())
def test_every_page_passes_axe_in_both_schemes(site, width, who, endpoint):
    faults = _faults(site, width, who, endpoint)
    assert not faults, f"{endpoint} ({who}, {WIDTHS[width]} px):\n" + "\n".join(faults)


def test_an_error_page_passes_axe(site):
    for width in WIDTHS:
        page = site.pages[(width, "visitor")]
        response = page.goto(site.url + "/no-such-page")
        assert response is not None and response.status == 404
        faults = _page_faults(page, WIDTHS[width])
        assert not faults, f"the 404 page at {WIDTHS[width]} px:\n" + "\n".join(faults)


# --- the integrity alarm, which stands in for any page -------------------------------------


@pytest.mark.parametrize("what", ["rolled back", "a value replaced"])
def test_the_integrity_alarm_passes_axe(module_databases, browser, what):
    """The page that says the records were changed behind the person's back must be as
    readable as any: both kinds (a ledger cut short; a record the ledger can rebuild)."""
    app = _new_app(module_databases())
    ada = Auth(app.test_client())
    ada.register()
    ada.post("/profile", {"full_name": "Ada Lovelace", "postal_address": "1 Street\nLondon", "country": "GB"})
    if what == "rolled back":
        platform_id = add_platform(ada)
        add_use(ada, platform_id, "Marketing")
        roll_back(app, to_size=2)
    else:
        _granted_state_written_back_after_a_withdrawal(ada, app)
    assert_alarm(ada.client.get("/dashboard"))
    with _serving(app) as url:
        faults = {}
        for name, width in WIDTHS.items():
            page = _tab(browser, width, url, ada.client)
            page.goto(url + "/dashboard")
            assert page.locator("#integrity-alarm").count() == 1
            page.locator("details summary").first.click()  # the technical details, open
            faults[name] = _page_faults(page, width)
            page.context.close()
    assert faults == {name: [] for name in WIDTHS}, faults


# --- the demo account: every kind of page, full of content -----------------------------------

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<=/)\d+(?=/|$)")


def _demo_pages(app: Flask, client: FlaskClient) -> dict[str, str]:
    """One path for each kind of HTML page the demo account links to (by its URL with
    ids left out), found by following links from the main pages: path -> endpoint."""
    adapter = app.url_map.bind("localhost")
    queue = ["/dashboard", "/platforms", "/requests", "/ledger", "/settings", "/profile"]
    seen: set[str] = set()
    kinds: dict[str, str] = {}
    while queue:
        path = queue.pop(0)
        kind = _ID.sub("<id>", path.split("?")[0])
        # Each request once (a request page differs with its state), any other kind of page once.
        if path in seen or (kind in kinds.values() and kind != "/requests/<id>") or path.startswith("/static/"):
            continue
        seen.add(path)
        with client.get(path) as response:
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
        kinds[path] = kind
        queue += [unescape(h).split("#")[0] for h in re.findall(r'href="(/[^"/][^"]*)"', html)]
    return {path: adapter.match(path.split("?")[0])[0] for path in kinds}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_kind_of_page_of_the_demo_account_passes_axe(module_databases, browser, width):
    """`consent demo` fills every page (requests in every state, letters, answers): each
    kind of page it links to, once, passes as the bare World's pages do."""
    app = _new_app(module_databases())
    result = app.test_cli_runner().invoke(args=["demo"])
    email, password = re.search(r"e-mail:\s+(\S+)", result.output), re.search(r"password:\s+(\S+)", result.output)
    assert result.exit_code == 0 and email and password, result.output
    lena = Auth(app.test_client())
    assert lena.login(email.group(1), password.group(1)).status_code == 302
    pages = _demo_pages(app, lena.client)
    assert len(set(pages.values())) >= 18, pages
    print(f"\n{len(pages)} pages of {len(set(pages.values()))} kinds: {sorted(set(pages.values()))}")
    expected = KNOWN | KNOWN_DEMO
    with _serving(app) as url:
        page = _tab(browser, WIDTHS[width], url, lena.client)
        faults: dict[str, list[str]] = {}
        for path in pages:
            page.goto(url + path)
            if found := _page_faults(page, WIDTHS[width]):
                faults[path] = found
        page.context.close()
    unexpected = {path: found for path, found in faults.items() if pages[path] not in expected}
    assert not unexpected, "\n".join(f"{path} ({pages[path]}):\n" + "\n".join(found) for path, found in unexpected.items())
    still = {pages[path] for path in faults}
    fixed = set(KNOWN_DEMO) - still
    assert not fixed, f"fixed on every page of the demo: remove {sorted(fixed)} from KNOWN_DEMO"
    if still:
        pytest.xfail("; ".join(f"{endpoint}: {expected[endpoint]}" for endpoint in sorted(still)))


# --- the footer's language switcher -------------------------------------------------------


@pytest.mark.parametrize("choice", ["xx", "fr\u202e", "<script>", "e" * 300])
def test_a_language_no_menu_offers_changes_nothing_and_says_so(auth, client, app, choice):
    auth.register()
    auth.post("/dashboard", {"language": "en", "next": "/dashboard"}, action="/language")
    before = count_rows(app)
    response = auth.post("/dashboard", {"language": choice, "next": "/dashboard"}, action="/language")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    # Still the language chosen before, whatever the browser asks for; the reason is shown.
    page = client.get("/dashboard", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert '<p class="flash flash-error" role="status">Choose a language from the list.</p>' in page
    assert count_rows(app) == before


# --- a refused form -----------------------------------------------------------------------


def test_a_refused_form_lists_every_field_to_correct_each_a_link_to_it(auth, client, app):
    auth.register()
    before = count_rows(app)
    response = auth.post("/profile", {"full_name": "x" * 5000, "postal_address": "", "country": "ZZ", "correspondence_email": "nope"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary" role="alert">(.*?)</div>', html, re.S)
    assert summary, "no error summary"
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary.group(1))
    assert links == [("full_name", "Full name"), ("correspondence_email", "E-mail for correspondence"), ("country", "Country of residence")]
    for field_id, _label in links:
        assert f'id="{field_id}"' in html and f'id="{field_id}-error"' in html
    assert count_rows(app) == before


# --- the keyboard alone --------------------------------------------------------------------

#: What Tab may stop at: every control a mouse can use.
_MARK_CONTROLS = """() => {
    const all = document.querySelectorAll(
        'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), '
        + 'textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])');
    // Shown: rendered, not hidden, not folded in a closed <details> (checkVisibility sees all three).
    const shown = [...all].filter(e => e.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true}));
    shown.forEach((e, i) => { e.dataset.walk = i; });
    return shown.map(e => (e.getAttribute('aria-label') || e.innerText || e.value || e.name || e.tagName).trim().slice(0, 40));
}"""
_FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body || e.dataset.walk === undefined) return null;
    const style = getComputedStyle(e), box = e.getBoundingClientRect();
    return {walk: Number(e.dataset.walk), visible: e.matches(':focus-visible'), outline: style.outlineStyle,
            width: parseFloat(style.outlineWidth), left: box.left, right: box.right};
}"""


def _tab_through(page: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Marks every visible control, then presses Tab from the top of the page until the
    focus leaves it; returns the controls and where each Tab landed."""
    controls = page.evaluate(_MARK_CONTROLS)
    # Start from the top, as a person arriving does, even on a page that put the focus on
    # its form (autofocus): from a focus point before everything else.
    page.evaluate(
        """() => { const start = document.createElement('span'); start.tabIndex = -1;
                   document.body.prepend(start); start.focus(); }"""
    )
    stops: list[dict[str, Any]] = []
    # A date field takes several Tabs (day, month, year, its picker): up to four a control.
    for _ in range(4 * len(controls) + 5):
        page.keyboard.press("Tab")
        stop = page.evaluate(_FOCUSED)
        if stop is None or (stops and stop["walk"] == 0):  # left the page, or came round again
            break
        if not stops or stop["walk"] != stops[-1]["walk"]:
            stops.append(stop)
    return controls, stops


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize(("who", "path"), [("ada", "/dashboard"), ("visitor", "/")])
def test_tab_reaches_every_control_in_order_with_a_visible_focus(site, width, who, path):
    page = site.pages[(width, who)]
    page.goto(site.url + path)
    controls, stops = _tab_through(page)
    assert len(controls) >= (12 if who == "ada" else 6), controls
    # Every control, once, in the order of the page (no positive tabindex, no trap).
    assert [stop["walk"] for stop in stops] == list(range(len(controls))), (
        f"Tab order on {path}: {[controls[s['walk']] for s in stops]}, expected {controls}"
    )
    for stop in stops:
        name = controls[stop["walk"]]
        assert stop["visible"] and stop["outline"] != "none" and stop["width"] >= 2, f"{name!r}: no visible focus ({stop})"
        assert stop["left"] >= 0 and stop["right"] <= WIDTHS[width] + 1, f"{name!r} is focused off the screen ({stop})"
    assert controls[0] == "Skip to content"


@pytest.mark.parametrize("endpoint", [rule.endpoint for rule in RULES])
def test_tab_walks_every_page_in_order_with_a_visible_focus(site, endpoint):
    """Every page, as Ada at 1280 px: Tab stops at each control once, in the page's order,
    and each shows its focus ring (no control only a mouse reaches, no trap)."""
    page = site.pages[("desktop", "ada")]
    page.goto(site.url + site.world.path(next(r for r in RULES if r.endpoint == endpoint)))
    controls, stops = _tab_through(page)
    assert [stop["walk"] for stop in stops] == list(range(len(controls))), (
        f"Tab order: {[controls[s['walk']] for s in stops]}, expected {controls}"
    )
    blind = [controls[stop["walk"]] for stop in stops if not (stop["visible"] and stop["outline"] != "none" and stop["width"] >= 2)]
    assert not blind, f"no visible focus on {blind}"


def test_the_skip_link_moves_the_focus_to_the_page_s_content(site):
    page = site.pages[("phone", "ada")]
    page.goto(site.url + "/dashboard")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is the page's first control, past the navigation
    assert page.evaluate("() => document.activeElement.closest('main') !== null")


def _tab_to(page: Any, name: str) -> None:
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => (document.activeElement.getAttribute('aria-label') || document.activeElement.innerText || '').trim()")
        if focused.startswith(name):
            return
    pytest.fail(f"Tab never reached {name!r}")


def test_the_language_is_switched_with_the_keyboard(site):
    page = site.pages[("desktop", "visitor")]
    page.goto(site.url + "/login")
    _tab_to(page, "Deutsch")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == site.url + "/login" and page.evaluate("() => document.documentElement.lang") == "de"
    _tab_to(page, "English")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.evaluate("() => document.documentElement.lang") == "en"


def test_a_consent_is_withdrawn_from_the_dashboard_with_the_keyboard(site):
    page = site.pages[("phone", "ada")]
    page.goto(site.url + "/dashboard")
    _tab_to(page, "Withdraw: Marketing")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == site.url + "/dashboard"
    assert page.locator(".card .status-withdrawn").inner_text() == "Withdrawn: 1"
    _tab_to(page, "Write the withdrawal letter")  # the next step is reachable the same way
