"""The guide "which companies probably hold my data": parts of life to directory companies."""

from __future__ import annotations

import re

import pytest

from consent import guide
from consent.guide import BY_KEY, Company
from tests.conftest import count_rows
from tests.test_directory import company, run_import, write_directory


def _c(slug: str, *categories: str, countries: tuple[str, ...] = ("de",)) -> Company:
    return Company(slug, slug.title(), frozenset(categories), frozenset(countries))


COMPANIES = {
    c.slug: c
    for c in [
        _c("schufa", "credit agency"),
        _c("crif", "credit agency"),
        _c("banque", "credit agency", countries=("fr",)),
        _c("broker", "addresses"),
        _c("facebook", "social media", countries=("all",)),
        _c("snapgram", "social media", countries=("all",)),
        _c("localnet", "social media"),
        _c("frenchnet", "social media", countries=("fr",)),
        *(_c(f"shop{n:02d}", "commerce") for n in range(30)),
    ]
}
PACKS = {
    "de/credit-agencies": ["crif", "schufa"],
    "all/social-media": ["snapgram", "gone-from-the-directory"],
    "de/commerce": ["shop29"],
}


def test_companies_that_concern_everyone_come_first_without_being_asked():
    (everyone,) = guide.guide([], COMPANIES, PACKS, "DE")
    assert everyone.situation.key == "everyone"
    assert [c.slug for c in everyone.companies] == ["crif", "schufa"]  # every pick, however many
    assert everyone.more == 1  # the address broker no pack names


def test_the_editors_picks_come_first_then_the_rest_for_the_country():
    social = guide.suggest(BY_KEY["social"], COMPANIES, PACKS, "de")
    assert [c.slug for c in social.companies] == ["snapgram", "localnet", "facebook"]  # no French network
    assert social.more == 0


def test_a_worldwide_company_is_not_said_to_hold_data_on_everyone_in_the_country():
    worldwide = {**COMPANIES, "leadtool": _c("leadtool", "addresses", countries=("all",))}
    assert "leadtool" not in {c.slug for c in guide.suggest(BY_KEY["everyone"], worldwide, {}, "de").companies}
    assert "leadtool" in {c.slug for c in guide.suggest(BY_KEY["everyone"], worldwide, {}, "").companies}


def test_a_long_category_is_cut_to_a_readable_list_and_says_how_many_more():
    shopping = guide.suggest(BY_KEY["shopping"], COMPANIES, PACKS, "de")
    assert len(shopping.companies) == 12 and shopping.companies[0].slug == "shop29"
    assert shopping.more == 30 - 12
    picks = guide.suggest(BY_KEY["shopping"], COMPANIES, {"de/commerce": list(COMPANIES)[8:]}, "de", limit=5)
    assert len(picks.companies) == 5 and picks.more == 25  # the editors' picks are cut too


def test_without_a_country_or_its_packs_every_company_of_the_kind_is_a_candidate():
    everyone = guide.suggest(BY_KEY["everyone"], COMPANIES, {}, "")
    assert {c.slug for c in everyone.companies} == {"schufa", "crif", "banque", "broker"}
    french = guide.suggest(BY_KEY["everyone"], COMPANIES, PACKS, "FR")  # no French pack
    assert [c.slug for c in french.companies] == ["banque"]


def test_a_company_shows_once_and_unknown_answers_are_ignored():
    both = {**COMPANIES, "schufa": _c("schufa", "credit agency", "finance")}
    found = guide.guide(["banking", "no-such-part-of-life"], both, PACKS, "de")
    assert [s.situation.key for s in found] == ["everyone", "banking"]
    assert "schufa" not in {c.slug for c in found[1].companies}


# --- the page ---------------------------------------------------------------------------------

SAMPLE = [
    company("creditwatch", "CreditWatch AG", categories=["credit agency"]),
    company("photoshare", "Photoshare Europe Ltd.", categories=["social media"], **{"relevant-countries": ["all"]}),
    company("mailshop", "Mailshop GmbH", categories=["commerce"]),
]


def _seen(html: str) -> dict[str, str]:
    """The fingerprints of the details a page showed, as the browser sends them back."""
    return dict(re.findall(r'name="(seen-[^"]+)" value="([0-9a-f]{64})"', html))


@pytest.fixture
def directory_app(app, tmp_path):
    packs = {"company-packs/de.json": [{"slug": "credit-agencies", "type": "add-all", "companies": ["creditwatch"]}]}
    run_import(app, write_directory(tmp_path / "dir", SAMPLE, **packs))
    return app


def test_the_questions_alone_change_nothing_and_suggest_nothing(directory_app, auth):
    auth.register()
    assert 'href="/platforms/guide"' in auth.client.get("/platforms").get_data(as_text=True)  # found from the list
    html = auth.client.get("/platforms/guide").get_data(as_text=True)
    assert "I shop online" in html and "CreditWatch AG" not in html
    assert 'method="get"' not in html  # what a person ticks stays out of URLs and logs
    assert count_rows(directory_app)["platforms"] == 0


def test_answers_show_the_companies_then_the_ticked_ones_are_added(directory_app, auth):
    auth.register()
    auth.post("/profile", {"country": "DE"})
    html = auth.post("/platforms/guide", {"step": "ask", "life": "social"}).get_data(as_text=True)
    assert "CreditWatch AG" in html and "Photoshare Europe Ltd." in html
    assert "Mailshop GmbH" not in html  # shopping was not ticked
    assert "Example Street 1, 10115 Berlin" in html  # what adding it signs, shown first
    entries_before = count_rows(directory_app)["ledger_entries"]
    form = {"step": "add", "slug": ["creditwatch", "photoshare"], "life": "social", **_seen(html)}
    added = auth.post("/platforms/guide", form)
    assert added.status_code == 302 and added.location.endswith("/platforms")
    rows = count_rows(directory_app)
    assert rows["platforms"] == 2 and rows["ledger_entries"] == entries_before + 2
    again = auth.post("/platforms/guide", {"step": "ask", "life": "social"}).get_data(as_text=True)
    assert again.count("already in your list") == 2


@pytest.mark.parametrize(
    "form",
    [{}, {"slug": "no-such-company"}, {"slug": "creditwatch"}],
    ids=["nothing ticked", "unknown entry", "already listed"],
)
def test_adding_nothing_new_says_so_and_changes_nothing(directory_app, auth, form):
    auth.register()
    shown = auth.post("/platforms/guide", {"step": "ask"}).get_data(as_text=True)
    auth.post("/platforms/guide", {"step": "add", "slug": "creditwatch", **_seen(shown)})
    before = count_rows(directory_app)
    answer = auth.post("/platforms/guide", {"step": "add", **form})
    assert answer.status_code == 400
    assert "Tick at least one company that is not in your list yet." in answer.get_data(as_text=True)
    assert count_rows(directory_app) == before


def test_a_profile_without_a_country_is_told_how_to_sharpen_the_guide(directory_app, auth):
    auth.register()
    html = auth.post("/platforms/guide", {"step": "ask"}).get_data(as_text=True)
    assert "Your profile has no country" in html
    assert "CreditWatch AG" in html  # without a country, every company of the kind


def test_the_guide_is_for_logged_in_people_only(directory_app, client):
    assert client.get("/platforms/guide").status_code == 302
    assert client.post("/platforms/guide", data={"step": "add", "slug": "creditwatch"}).status_code in (302, 400)
    assert count_rows(directory_app)["platforms"] == 0


@pytest.mark.shared
def test_with_the_real_directory_a_german_is_shown_schufa_and_the_big_social_networks(app, auth):
    from consent import db
    from consent.services import directory
    from tests.conftest import shared_path

    with app.app_context():
        directory.import_directory(db.session(), shared_path("datarequests"))
    auth.register()
    auth.post("/profile", {"country": "DE"})
    html = auth.post("/platforms/guide", {"step": "ask", "life": ["social", "banking"]}).get_data(as_text=True)
    assert "SCHUFA Holding AG" in html
    assert "Instagram" in html or "Meta Platforms Ireland" in html
    assert html.count('name="slug"') <= 20 + 12 + 12  # the country's 20 picks, then short lists


def test_an_operator_who_changes_a_company_after_the_page_showed_it_gets_nothing_signed(directory_app, auth):
    """The directory is the operator's to write: the details signed are the ones shown."""
    import sqlalchemy as sa

    from consent.models import DirectoryController
    from tests.test_integrity import operator

    auth.register()
    shown = auth.post("/platforms/guide", {"step": "ask", "life": "social"}).get_data(as_text=True)
    assert "privacy@photoshare.example" not in shown  # the sample has none: its website shows
    swapped = {**SAMPLE[1], "email": "harvest@evil.example"}
    operator(
        directory_app,
        sa.update(DirectoryController).where(DirectoryController.slug == "photoshare").values(record=swapped),
    )
    before = count_rows(directory_app)
    answer = auth.post("/platforms/guide", {"step": "add", "slug": "photoshare", "life": "social", **_seen(shown)})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "The directory changed since this page showed it" in page and "harvest@evil.example" in page
    assert count_rows(directory_app) == before
    again = auth.post("/platforms/guide", {"step": "add", "slug": "photoshare", "life": "social", **_seen(page)})
    assert again.status_code == 302  # seen now, and chosen knowingly
    assert count_rows(directory_app)["platforms"] == 1
