"""Countries are offered and shown by name in the person's language, and only real ones."""

import pytest

from consent.web.countries import country_choices, country_name


@pytest.fixture
def request_in(app):
    def enter(language: str):
        return app.test_request_context(headers={"Accept-Language": language})

    return enter


def test_the_menu_offers_countries_only(request_in):
    with request_in("en"):
        names = {choice.label for choice in country_choices()}
        codes = {choice.value for choice in country_choices()}
    assert {"Germany", "Ireland", "France", "Kosovo"} <= names
    assert not names & {"Pseudo-Accents", "Pseudo-Bidi", "Eurozone", "United Nations", "European Union"}
    assert "Unknown Region" not in names and "Canary Islands" not in names
    assert len(codes - {""}) == 250  # ISO 3166-1's 249 and Kosovo


def test_the_menu_is_sorted_in_the_persons_language(request_in):
    with request_in("fr"):
        labels = [choice.label for choice in country_choices()][1:]
        assert "Irlande" in labels and "Allemagne" in labels
    assert labels == sorted(labels, key=str.casefold)


@pytest.mark.parametrize(("language", "name"), [("en", "Ireland"), ("fr", "Irlande"), ("de", "Irland")])
def test_a_country_shows_by_name(request_in, language, name):
    with request_in(language):
        assert country_name("IE") == name
        assert country_name("ie") == name


def test_a_value_that_names_no_country_shows_as_stored(request_in):
    with request_in("en"):
        assert country_name("EZ") == "EZ"  # an operator's write: shown, not named, never an error
        assert country_name(None) == ""
        assert country_name("") == ""
