"""English and French everywhere: the French catalogue covers every string, and pages use it."""

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import PASSWORD, Auth

ROOT = Path(__file__).resolve().parents[1]
FR = ROOT / "consent/translations/fr/LC_MESSAGES"


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


def test_every_string_in_the_code_has_a_french_translation(tmp_path):
    with (FR / "messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {
        m.id
        for m in catalog
        if m.id and "fuzzy" not in m.flags and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = _extracted(tmp_path) - translated
    assert missing == set(), f"run `make translations` and translate: {sorted(missing)}"


def test_compiled_catalogue_matches_the_po_file():
    def plain(value):  # plural entries come as tuples from a .po file, lists from a .mo
        return tuple(value) if isinstance(value, (list, tuple)) else value

    with (FR / "messages.po").open("rb") as f:
        po = {plain(m.id): plain(m.string) for m in read_po(f) if m.id}
    with (FR / "messages.mo").open("rb") as f:
        mo = {plain(m.id): plain(m.string) for m in read_mo(f) if m.id}
    assert mo == po, "messages.mo is stale: run `make translations`"


def test_browser_language_picks_french(client):
    html = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Décidez qui peut utiliser vos données, et pour quoi." in html


def test_default_is_english(client):
    html = client.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Decide who may use your data" in html


def test_anonymous_choice_wins_over_the_browser(client, auth):
    response = auth.post("/", {"language": "fr", "next": "/login"}, action="/language")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Mot de passe" in html


def test_account_language_follows_the_person(client, auth, app):
    auth.register()
    auth.post("/settings", {"language": "fr"}, action="/language")
    auth.logout()
    other_browser = app.test_client()
    Auth(other_browser).login()
    html = other_browser.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Tableau de bord" in html


def test_unknown_language_is_refused(client, auth):
    response = auth.post("/", {"language": "xx"}, action="/language")
    assert response.status_code == 400
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_form_errors_are_translated(client, auth):
    auth.post("/", {"language": "fr"}, action="/language")
    response = auth.post("/register", {"email": "ada@example.org", "password": "court", "confirm": "court"})
    assert "Utilisez au moins 12 caractères." in response.get_data(as_text=True)
    response = auth.post("/login", {"email": "ada@example.org", "password": PASSWORD})
    assert "L’adresse e-mail ou le mot de passe est erroné." in response.get_data(as_text=True)
