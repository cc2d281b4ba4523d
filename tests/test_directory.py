"""The directory: bundled authorities, importing the datarequests.org format, finding entries."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa

from consent import db
from consent.directory import authorities
from consent.directory.format import RecordError, check_company
from consent.models import DirectoryController, DirectoryRedirect
from consent.services import accounts, directory, ledger
from tests.conftest import PASSWORD, count_rows, shared_path

EU_EEA_UK_CH = set(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO GB CH".split()
)


def company(slug: str, name: str, **extra) -> dict:
    record = {
        "slug": slug,
        "relevant-countries": ["de"],
        "name": name,
        "address": f"{name}\nExample Street 1\n10115 Berlin\nGermany",
        "sources": ["https://example.org/source"],
        "quality": "verified",
    }
    record.update(extra)
    return record


def write_directory(folder: Path, companies: list[dict], **files: object) -> Path:
    (folder / "companies").mkdir(parents=True, exist_ok=True)
    for record in companies:
        (folder / "companies" / f"{record['slug']}.json").write_text(json.dumps(record))
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


SAMPLE = [
    company(
        "photoshare",
        "Photoshare Europe Ltd.",
        runs=["Snapgram", "Photoshare Messenger"],
        web="https://www.photoshare.example/",
        email="privacy@photoshare.example",
        **{
            "required-elements": [{"desc": "Account e-mail", "type": "email"}],
            "needs-id-document": True,
            "suggested-transport-medium": "webform",
            "webform": "https://photoshare.example/privacy-form",
            "relevant-countries": ["all"],
        },
    ),
    company("creditwatch", "CreditWatch AG", categories=["credit agency"], web="https://creditwatch.example/"),
    company("scorebureau", "Score Bureau GmbH", categories=["credit agency"]),
]
PACKS = [{"slug": "credit-agencies", "type": "add-all", "companies": ["creditwatch", "scorebureau"]}]


def run_import(app, folder: Path) -> directory.ImportReport:
    with app.app_context():
        return directory.import_directory(db.session(), folder)


# --- bundled authorities ---------------------------------------------------------------------


def test_every_eu_eea_uk_and_swiss_country_has_one_national_authority():
    national = [a for a in authorities.bundled() if a.level == "national"]
    assert sorted(a.country for a in national) == sorted(EU_EEA_UK_CH)
    for a in authorities.bundled():
        assert a.name and a.address and a.website.startswith("https://"), a.id
        assert a.webform or a.email, f"{a.id}: no way to file a complaint"


def test_germany_has_the_federal_authority_first_then_the_states():
    german = authorities.competent_authorities("de")
    assert german[0].id == "de-bfdi" and german[0].level == "national"
    assert len(german) == 17 and {a.level for a in german[1:]} == {"state"}
    assert len({a.region for a in german[1:]}) == 16
    assert authorities.default_authority("DE").id == "de-bfdi"
    assert [a.id for a in authorities.competent_authorities("FR")] == ["fr-cnil"]
    assert authorities.competent_authorities("US") == [] and authorities.default_authority("US") is None


def _words(name: str) -> set[str]:
    plain = "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))
    return {w for w in re.findall(r"[a-z]{5,}", plain)}


def _domain(url: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", url or "").split("/")[0].lower()


@pytest.mark.shared
def test_bundled_authorities_agree_with_the_datarequests_directory():
    folder = shared_path("datarequests", "supervisory-authorities")
    reference: dict[str, list[dict]] = {}
    for path in folder.glob("*.json"):
        record = json.loads(path.read_text())
        for country in record["relevant-countries"]:
            reference.setdefault(country.upper(), []).append(record)
    for a in authorities.bundled():
        candidates = reference.get(a.country, [])
        assert candidates, f"{a.id}: the reference has no authority for {a.country}"
        same_site = [r for r in candidates if _domain(r.get("web", "")) == _domain(a.website)]
        assert len(same_site) == 1, f"{a.id}: no reference authority of {a.country} at {_domain(a.website)}"
        shared_words = _words(a.name) & _words(same_site[0]["name"])
        assert shared_words or _words(a.name_en) & _words(same_site[0]["name"]), (a.id, same_site[0]["name"])


# --- import ------------------------------------------------------------------------------------


def test_import_then_import_again_changes_nothing(app, tmp_path):
    folder = write_directory(tmp_path / "dir", SAMPLE, **{"company-packs/de.json": PACKS})
    first = run_import(app, folder)
    assert (first.controllers.added, first.packs.added, first.rejected) == (3, 1, [])
    second = run_import(app, folder)
    assert (second.controllers.unchanged, second.packs.unchanged) == (3, 1) and not second.changed


def test_changed_record_is_updated_and_obsolete_one_redirects(app, tmp_path):
    folder = write_directory(tmp_path / "dir", SAMPLE)
    run_import(app, folder)
    changed = dict(SAMPLE[1], email="dpo@creditwatch.example")
    write_directory(
        folder,
        [changed],
        **{
            "obsolete-records/scorebureau.json": {
                "slug": "scorebureau",
                "name": "Score Bureau",
                "reason": "company-acquired",
                "redirect-to": "creditwatch",
            }
        },
    )
    report = run_import(app, folder)
    assert report.controllers.updated == 1 and report.controllers.retired == 1 and report.redirects.added == 1
    with app.app_context():
        s = db.session()
        assert s.get(DirectoryController, "scorebureau") is None
        assert directory.resolve(s, "scorebureau").slug == "creditwatch"
        assert directory.resolve(s, "creditwatch").record["email"] == "dpo@creditwatch.example"
        assert directory.resolve(s, "nothing-here") is None


@pytest.mark.parametrize(
    ("file", "content", "reason"),
    [
        ("companies/broken.json", "{not json", "not valid JSON"),
        (
            "companies/noaddress.json",
            json.dumps({k: v for k, v in company("noaddress", "No Address").items() if k != "address"}),
            "missing required field: address",
        ),
        (
            "companies/Bad_Slug.json",
            json.dumps(company("Bad_Slug", "Bad Slug")),
            "slug: expected a slug of a-z, 0-9 and -",
        ),
        (
            "companies/mismatch.json",
            json.dumps(company("other", "Other")),
            "slug: expected 'mismatch' (the file's name)",
        ),
        (
            "companies/badcountry.json",
            json.dumps(company("badcountry", "Bad", **{"relevant-countries": ["us"]})),
            "relevant-countries: unknown value 'us'",
        ),
        (
            "companies/badquality.json",
            json.dumps(company("badquality", "Bad", quality="great")),
            "quality: expected one of",
        ),
        ("companies/extra.json", json.dumps(company("extra", "Extra", ceo="Someone")), "unknown field: ceo"),
        (
            "companies/badphone.json",
            json.dumps(company("badphone", "Bad", phone="0800 123")),
            "phone: expected an international number",
        ),
        (
            "supervisory-authorities/xx.json",
            json.dumps({"slug": "xx", "name": "Xland"}),
            "missing required fields: relevant-countries, address, sources",
        ),
        (
            "company-packs/bad.json",
            json.dumps([{"slug": "p", "type": "maybe", "companies": []}]),
            "type: expected add-all or choose",
        ),
    ],
)
def test_malformed_record_is_rejected_with_its_file_and_reason_and_changes_nothing(
    app, tmp_path, file, content, reason
):
    folder = write_directory(tmp_path / "dir", SAMPLE)
    run_import(app, folder)
    with app.app_context():
        before = {row.slug: row.digest for row in db.session().scalars(sa.select(DirectoryController))}
    write_directory(folder, [], **{file: content})
    report = run_import(app, folder)
    assert report.rejected == [(file, report.rejected[0][1])] and reason in report.rejected[0][1]
    assert not report.changed
    with app.app_context():
        after = {row.slug: row.digest for row in db.session().scalars(sa.select(DirectoryController))}
    assert after == before


def test_missing_or_empty_directory_is_refused(app, tmp_path):
    with app.app_context():
        s = db.session()
        with pytest.raises(directory.DirectoryError, match="no such directory"):
            directory.import_directory(s, tmp_path / "absent")
        (tmp_path / "empty").mkdir()
        with pytest.raises(directory.DirectoryError, match="found neither"):
            directory.import_directory(s, tmp_path / "empty")
    assert count_rows(app)["directory_controllers"] == 0
    result = app.test_cli_runner().invoke(args=["directory", "import", str(tmp_path / "absent")])
    assert result.exit_code == 1 and "no such directory" in result.output


def test_format_check_refuses_a_non_object():
    with pytest.raises(RecordError, match="expected a JSON object, got list"):
        check_company([], "x")


@pytest.mark.shared
def test_import_the_real_snapshot_twice(app):
    folder = shared_path("datarequests")
    first = app.test_cli_runner().invoke(args=["directory", "import", str(folder)])
    assert first.exit_code == 0, first.output
    added = int(re.search(r"controllers\s+(\d+) added", first.output).group(1))
    assert added > 3000
    assert "authorities  57 added" in first.output
    assert (
        "rejected     companies/asos-shop.json: web: expected an http(s) address, got 'httsp://www.asos.com'"
        in first.output
    )
    second = app.test_cli_runner().invoke(args=["directory", "import", str(folder)])
    assert "No changes: the directory was already up to date." in second.output
    assert f"controllers  0 added, 0 updated, {added} unchanged" in second.output
    with app.app_context():
        s = db.session()
        assert directory.search(s, "insta")[0].name == "Instagram"
        messenger = [m for m in directory.search(s, "Messenger") if m.name == "Meta Platforms Ireland Limited"]
        assert messenger and messenger[0].service == "Messenger (www.messenger.com)"
        assert "Meta Platforms Ireland Limited" in [m.name for m in directory.search(s, "facebook.com")]
        assert s.scalar(sa.select(sa.func.count()).select_from(DirectoryRedirect)) > 100


# --- finding and using entries ---------------------------------------------------------------------


@pytest.fixture
def sample(app, tmp_path):
    run_import(app, write_directory(tmp_path / "dir", SAMPLE, **{"company-packs/de.json": PACKS}))
    return app


@pytest.mark.parametrize(
    ("query", "first", "service"),
    [
        ("photo", "Photoshare Europe Ltd.", None),
        ("snap", "Photoshare Europe Ltd.", "Snapgram"),
        ("photoshare.example", "Photoshare Europe Ltd.", None),
        ("CREDIT", "CreditWatch AG", None),
        ("bureau", "Score Bureau GmbH", None),
    ],
)
def test_search_by_name_service_and_domain(sample, query, first, service):
    with sample.app_context():
        matches = directory.search(db.session(), query)
    assert matches[0].name == first and matches[0].service == service


@pytest.mark.parametrize("query", ["", "x", "zzzz", "%", "_"])
def test_search_finds_nothing_for_nothing(sample, query):
    with sample.app_context():
        assert directory.search(db.session(), query) == []


def test_add_platform_from_the_directory_without_javascript(sample, auth, client):
    auth.register()
    page = auth.post("/platforms/new", {"step": "search", "q": "snap"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Snapgram" in html and "Photoshare Europe Ltd." in html
    chosen = auth.post("/platforms/new", {"step": "choose", "directory": "photoshare", "service": "Snapgram"})
    html = chosen.get_data(as_text=True)
    assert 'value="Snapgram (Photoshare Europe Ltd.)"' in html
    assert 'value="privacy@photoshare.example"' in html and 'name="directory" type="hidden" value="photoshare"' in html
    assert "They ask for an ID document." in html and "Account e-mail" in html and "with their web form" in html
    created = auth.post(
        "/platforms/new",
        {
            "step": "create",
            "name": "Snapgram (Photoshare Europe Ltd.)",
            "email": "privacy@photoshare.example",
            "directory": "photoshare",
        },
    )
    assert created.status_code == 302
    platform_id = created.headers["Location"].rsplit("/", 1)[1]
    show = client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    assert "They ask for an ID document." in show


def test_choosing_an_unknown_entry_is_a_404(sample, auth):
    auth.register()
    assert auth.post("/platforms/new", {"step": "choose", "directory": "nope"}).status_code == 404


def test_suggestions_as_json_by_post_with_csrf(sample, auth, client):
    auth.register()
    from tests.conftest import csrf_token

    token = csrf_token(client, "/platforms/new")
    response = client.post("/directory/suggest", json={"q": "snap"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.json[0] == {
        "slug": "photoshare",
        "name": "Photoshare Europe Ltd.",
        "service": "Snapgram",
        "address": "Photoshare Europe Ltd.",
        "domain": "photoshare.example",
    }
    assert client.post("/directory/suggest", json={"q": "snap"}).status_code == 400  # no CSRF token
    assert client.post("/directory/suggest", json={"q": 5}, headers={"X-CSRFToken": token}).status_code == 400
    assert client.post("/directory/suggest", json={"q": "x" * 201}, headers={"X-CSRFToken": token}).status_code == 400
    assert client.get("/directory/suggest?q=snap").status_code == 405


def test_directory_updates_are_offered_and_recorded(sample, auth, client, tmp_path):
    auth.register()
    created = auth.post(
        "/platforms/new",
        {
            "step": "create",
            "name": "CreditWatch AG",
            "directory": "creditwatch",
            "website": "https://creditwatch.example/",
            "address": SAMPLE[1]["address"],
        },
    )
    platform_id = created.headers["Location"].rsplit("/", 1)[1]
    assert "The directory has newer details" not in client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    run_import(sample, write_directory(tmp_path / "dir", [dict(SAMPLE[1], email="dpo@creditwatch.example")]))
    page = client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    assert "The directory has newer details" in page and "dpo@creditwatch.example" in page
    seen = {"seen": re.search(r'name="seen" value="([0-9a-f]{64})"', page).group(1)}
    # The operator writes the directory: a change after the page showed it is not signed.
    run_import(sample, write_directory(tmp_path / "dir2", [dict(SAMPLE[1], email="harvest@evil.example")]))
    refused = auth.post(f"/platforms/{platform_id}", seen, action=f"/platforms/{platform_id}/directory-update")
    page = client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    assert "The directory changed since this page showed it" in page and "harvest@evil.example" in page
    assert refused.status_code == 302 and "dpo@creditwatch.example" not in page
    run_import(sample, write_directory(tmp_path / "dir3", [dict(SAMPLE[1], email="dpo@creditwatch.example")]))
    page = client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    seen = {"seen": re.search(r'name="seen" value="([0-9a-f]{64})"', page).group(1)}
    response = auth.post(f"/platforms/{platform_id}", seen, action=f"/platforms/{platform_id}/directory-update")
    assert response.status_code == 302
    with sample.app_context():
        s = db.session()
        login = accounts.log_in(s, sample.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        last = list(ledger.iter_events(s, login))[-1]
    assert last["type"] == "platform.changed" and last["data"] == {"email": "dpo@creditwatch.example"}
    assert "The directory has newer details" not in client.get(f"/platforms/{platform_id}").get_data(as_text=True)


def test_add_a_whole_pack_at_once(sample, auth, client):
    auth.register()
    listed = auth.post("/platforms/bulk", {"step": "list", "pack": "de/credit-agencies"})
    html = listed.get_data(as_text=True)
    assert "CreditWatch AG" in html and "Score Bureau GmbH" in html
    assert "Example Street 1, 10115 Berlin" in html  # what adding them signs, shown first
    seen = dict(re.findall(r'name="(seen-[^"]+)" value="([0-9a-f]{64})"', html))
    form = {"step": "add", "pack": "de/credit-agencies", "slug": ["creditwatch", "scorebureau"]}
    unseen = auth.post("/platforms/bulk", form)  # details the page did not show are not signed
    assert unseen.status_code == 400 and "The directory changed since this page showed it" in unseen.get_data(as_text=True)
    assert count_rows(sample)["platforms"] == 0
    added = auth.post("/platforms/bulk", {**form, **seen})
    assert added.status_code == 302
    assert count_rows(sample)["platforms"] == 2 and count_rows(sample)["ledger_entries"] == 2
    again = auth.post("/platforms/bulk", {"step": "list", "pack": "de/credit-agencies"}).get_data(as_text=True)
    assert again.count("already in your list") == 2
    nothing = auth.post("/platforms/bulk", {"step": "add", "pack": "de/credit-agencies", "slug": ["creditwatch"]})
    assert nothing.status_code == 400 and "Tick at least one company." in nothing.get_data(as_text=True)
    assert count_rows(sample)["platforms"] == 2


def test_groups_and_categories_are_named_in_the_persons_language(sample, auth, client):
    """Not "de/credit-agencies" or "credit agency" as the directory spells them."""
    auth.register()
    html = client.get("/platforms/bulk").get_data(as_text=True)
    assert ">Credit agency · Germany</option>" in html and ">Credit agency</option>" in html
    assert ">de/credit-agencies<" not in html and ">credit agency<" not in html
    auth.post("/dashboard", {"language": "fr"}, action="/language")
    html = client.get("/platforms/bulk").get_data(as_text=True)
    assert "· Allemagne</option>" in html


def test_showing_nothing_chosen_asks_for_a_group_or_a_category(sample, auth):
    auth.register()
    answer = auth.post("/platforms/bulk", {"step": "list"})
    assert answer.status_code == 400 and "Choose a group or a category." in answer.get_data(as_text=True)
    assert "No company in this group." not in answer.get_data(as_text=True)


def test_add_by_category_for_the_persons_country(sample, auth):
    auth.register()
    auth.post("/profile", {"country": "FR"})
    html = auth.post("/platforms/bulk", {"step": "list", "category": "credit agency"}).get_data(as_text=True)
    assert "No company in this group." in html  # both are German companies
    auth.post("/profile", {"country": "DE"})
    html = auth.post("/platforms/bulk", {"step": "list", "category": "credit agency"}).get_data(as_text=True)
    assert "CreditWatch AG" in html and "Score Bureau GmbH" in html


@pytest.mark.parametrize(
    ("country", "authority", "accepted"),
    [
        ("DE", "de-by-lda", True),
        ("DE", "de-bfdi", True),
        ("DE", "fr-cnil", False),
        ("", "fr-cnil", False),
        ("FR", "", True),
    ],
)
def test_complaint_authority_must_be_competent_for_the_country(auth, client, country, authority, accepted):
    auth.register()
    response = auth.post("/profile", {"country": country, "authority": authority})
    assert (response.status_code == 302) is accepted
    if not accepted:
        assert "Choose an authority of your country of residence." in response.get_data(as_text=True)
    else:
        html = client.get("/profile").get_data(as_text=True)
        if authority:
            assert f'<option selected value="{authority}">' in html


def test_pure_directory_modules_need_no_flask():
    import subprocess
    import sys

    code = "import sys, consent.directory.format, consent.directory.search, consent.directory.authorities; print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy'}))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


@pytest.mark.shared
def test_known_fields_are_exactly_those_of_the_format():
    from consent.directory import format as fmt

    company = json.loads(shared_path("datarequests", "schema.json").read_text())["properties"]
    authority = json.loads(shared_path("datarequests", "schema-supervisory-authorities.json").read_text())["properties"]
    assert fmt._COMPANY_FIELDS == set(company) and fmt._AUTHORITY_FIELDS == set(authority)
