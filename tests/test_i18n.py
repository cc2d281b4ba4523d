"""Every interface language everywhere: each catalogue covers every string, keeps its placeholders and
markup, and pages use it."""

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import PASSWORD, Auth
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, serving

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "consent/translations"
#: The interface languages besides English, the language of the ids.
LANGUAGES = ["fr", "de"]


def _catalogue_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES"


def _read_catalogue(language: str) -> Catalog:
    with (_catalogue_path(language) / "messages.po").open("rb") as f:
        return read_po(f)


def _extracted(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            Path(sys.executable).with_name("pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-o",
            pot,
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_in_the_code_has_a_translation(tmp_path, language):
    translated = {
        m.id
        for m in _read_catalogue(language)
        if m.id and "fuzzy" not in m.flags and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = _extracted(tmp_path) - translated
    assert missing == set(), f"run `make translations` and translate into {language}: {sorted(missing, key=str)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_po_file(language):
    def plain(value):  # plural entries come as tuples from a .po file, lists from a .mo
        return tuple(value) if isinstance(value, (list, tuple)) else value

    po = {plain(m.id): plain(m.string) for m in _read_catalogue(language) if m.id and "fuzzy" not in m.flags}
    with (_catalogue_path(language) / "messages.mo").open("rb") as f:
        mo = {plain(m.id): plain(m.string) for m in read_mo(f) if m.id}
    assert mo == po, f"{language}/messages.mo is stale: run `make translations`"


_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def _shape(text: str) -> tuple[list[str], list[str]]:
    """The placeholders and the HTML tags of a text, in a comparable form."""
    return sorted(set(_PLACEHOLDER.findall(text)) - {"%%"}), sorted(_TAG.findall(text))


def _broken(message: Message) -> list[str]:
    """What a translation lost or added against its id: placeholders or markup."""
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    wanted = _shape(ids[-1])  # the plural id: a singular form may spell the number out, as English does
    problems = []
    for index, string in enumerate(strings):
        if not string:
            continue  # a missing translation is the other test's business
        placeholders, tags = _shape(string)
        expected_placeholders = wanted[0]
        if isinstance(message.id, tuple) and index == 0:
            expected_placeholders = _shape(ids[0])[0]
        if placeholders != expected_placeholders or tags != wanted[1]:
            problems.append(f"{ids[0]!r} -> {string!r}")
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_the_placeholders_and_markup_of_its_id(language):
    problems = [problem for m in _read_catalogue(language) if m.id for problem in _broken(m)]
    assert problems == []


@pytest.mark.parametrize(
    ("msgid", "msgstr", "broken"),
    [
        ("Edit %(name)s", "%(name)s bearbeiten", False),
        ("Edit %(name)s", "%(nom)s bearbeiten", True),  # a renamed placeholder: KeyError at runtime
        ("Edit %(name)s", "Bearbeiten", True),  # a lost one: the page says less than it should
        ("Wait %(n)d seconds.", "Warten Sie %(n)s Sekunden.", True),
        ("Read <a href='/x'>this</a>.", "Lesen Sie <a href='/x'>dies</a>.", False),
        ("Read <a href='/x'>this</a>.", "Lesen Sie dies.", True),
        (("%(num)d event", "%(num)d events"), ("%(num)d Ereignis", "%(num)d Ereignisse"), False),
        (("%(num)d event", "%(num)d events"), ("%(num)d Ereignis", "Ereignisse"), True),
    ],
)
def test_the_shape_check_catches_broken_translations(msgid, msgstr, broken):
    assert bool(_broken(Message(msgid, msgstr))) is broken


#: A sentence of the start page in each language, and the word for "Password" and "Dashboard".
START_PAGE = {
    "fr": "Décidez qui peut utiliser vos données, et pour quoi.",
    "de": "Entscheiden Sie, wer Ihre Daten verwenden darf und wofür.",
}
PASSWORD_LABEL = {"fr": "Mot de passe", "de": "Passwort"}
DASHBOARD = {"fr": "Tableau de bord", "de": "Übersicht"}
TOO_SHORT = {"fr": "Utilisez au moins 12 caractères.", "de": "Verwenden Sie mindestens 12 Zeichen."}
WRONG_LOGIN = {
    "fr": "L’adresse e-mail ou le mot de passe est erroné.",
    "de": "E-Mail-Adresse oder Passwort ist falsch.",
}


@pytest.mark.parametrize(("accept", "language"), [("fr-FR,fr;q=0.9,en;q=0.5", "fr"), ("de-AT,de;q=0.9,en;q=0.5", "de")])
def test_browser_language_picks_the_interface_language(client, accept, language):
    page = html.unescape(client.get("/", headers={"Accept-Language": accept}).get_data(as_text=True))
    assert f'<html lang="{language}">' in page
    assert START_PAGE[language] in page


def test_default_is_english(client):
    page = client.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Decide who may use your data" in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_anonymous_choice_wins_over_the_browser(client, auth, language):
    response = auth.post("/", {"language": language, "next": "/login"}, action="/language")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert PASSWORD_LABEL[language] in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_account_language_follows_the_person(client, auth, app, language):
    auth.register()
    auth.post("/settings", {"language": language}, action="/language")
    auth.logout()
    other_browser = app.test_client()
    Auth(other_browser).login()
    page = other_browser.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert DASHBOARD[language] in page


def _english_sentences_in(page: str, language: str) -> list[str]:
    """Sentences of the catalogue that the page shows in English although they have a translation."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"\s+", " ", page)))
    return sorted(
        m.id
        for m in _read_catalogue(language)
        if isinstance(m.id, str) and len(m.id.split()) >= 3 and m.string and m.string != m.id and m.id in text
    )


def test_choosing_deutsch_in_the_footer_turns_the_dashboard_german(client, auth):
    auth.register()
    english = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="en">' in english and _english_sentences_in(english, "de") != []

    response = auth.post("/dashboard", {"language": "de", "next": "/dashboard"}, action="/language")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "<h1>Übersicht</h1>" in page
    assert 'aria-current="true">Deutsch</button>' in page
    assert _english_sentences_in(page, "de") == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_of_the_demo_shows_no_english_sentence_in_the_chosen_language(app, language):
    """A sentence shown in English although the catalogue translates it: a string translated
    once at import time, or a template that bypasses the catalogue."""
    from consent import db
    from consent.demo import create_demo

    with app.app_context():
        email, password = create_demo(db.session(), app.extensions["consent.accounts"])
        db.session().commit()
    client = app.test_client()
    auth = Auth(client)
    auth.login(email, password)
    auth.post("/dashboard", {"language": language, "next": "/dashboard"}, action="/language")

    skip = re.compile(r"logout|\.(pdf|txt|eml|zip|json|ics)$|/files/|/static/|[?#]")
    seen: set[str] = set()
    queue = ["/dashboard", "/platforms", "/requests", "/ledger", "/settings", "/profile", "/verify"]
    english: dict[str, list[str]] = {}
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = response.get_data(as_text=True)
        queue += [link for link in map(html.unescape, re.findall(r'href="(/[^"]*)"', page)) if not skip.search(link)]
        if left := _english_sentences_in(page, language):
            english[path] = left
    assert len(seen) > 30, f"the walk reached only {sorted(seen)}"
    assert english == {}


def test_settings_language_menu_offers_every_interface_language(client, auth):
    auth.register()
    page = client.get("/settings").get_data(as_text=True)
    menu = re.search(r'<select[^>]*name="language"[^>]*>(.*?)</select>', page, re.S)
    assert menu, "the settings page has no language menu"
    for code, name in [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]:
        assert re.search(rf'<option[^>]*value="{code}"[^>]*>{name}</option>', menu.group(1)), name


@pytest.mark.parametrize("language", LANGUAGES)
def test_unknown_language_is_refused_in_the_language_already_chosen(client, auth, language):
    auth.post("/", {"language": language}, action="/language")
    response = auth.post("/", {"language": "xx", "next": "/login"}, action="/language")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = html.unescape(client.get("/login").get_data(as_text=True))
    assert f'<html lang="{language}">' in page
    refusal = _read_catalogue(language).get("Choose a language from the list.")
    assert refusal and refusal.string, f"no {language} translation of the refusal"
    assert refusal.string in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_form_errors_are_translated(client, auth, language):
    auth.post("/", {"language": language}, action="/language")
    response = auth.post("/register", {"email": "ada@example.org", "password": "court", "confirm": "court"})
    assert TOO_SHORT[language] in html.unescape(response.get_data(as_text=True))
    response = auth.post("/login", {"email": "ada@example.org", "password": PASSWORD})
    assert WRONG_LOGIN[language] in html.unescape(response.get_data(as_text=True))


#: The login form's labels and button, and the dashboard's heading, in each language.
LOGIN = {
    "fr": ("E-mail", "Mot de passe", "Se connecter", "Tableau de bord"),
    "de": ("E-Mail", "Passwort", "Anmelden", "Übersicht"),
}
PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_main_page_fits_a_phone_in_each_language(database_url, language):
    """Longer words must not push a page wider than a 390 px phone (German did, on a platform's page)."""
    from flask import current_app
    from playwright.sync_api import expect, sync_playwright

    from consent import db
    from consent.demo import create_demo

    account: dict[str, str] = {}

    def prepare() -> None:
        settings = current_app.extensions["consent.accounts"]
        account["email"], account["password"] = create_demo(db.session(), settings)
        db.session().commit()

    email_label, password_label, log_in, dashboard = LOGIN[language]
    with serving(database_url, prepare) as (url, _app), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="en-GB", viewport=PHONE).new_page()
        page.set_default_timeout(15000)
        page.goto(url + "/login")
        page.locator(f'footer button[value="{language}"]').click()
        page.get_by_label(email_label).fill(account["email"])
        page.get_by_label(password_label).fill(account["password"])
        page.get_by_role("main").get_by_role("button", name=log_in).click()
        expect(page.get_by_role("heading", name=dashboard, exact=True)).to_be_visible()
        platform = re.search(r'href="(/platforms/[0-9a-f-]{36})"', page.content())
        page.goto(url + "/requests")
        request = re.search(r'href="(/requests/[0-9a-f-]{36})"', page.content())
        assert platform and request, "the demo account shows no platform or no request"

        paths = ["/dashboard", "/platforms", platform.group(1), platform.group(1) + "/letter", "/platforms/new"]
        paths += ["/requests", request.group(1), "/ledger", "/profile", "/settings", "/settings/security"]
        too_wide = {}
        for path in paths:
            page.goto(url + path)
            assert page.locator("html").get_attribute("lang") == language, path
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[path] = width
        browser.close()
    assert too_wide == {}
