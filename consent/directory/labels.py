"""The directory's words in the person's language: its categories, where a company operates,
and the identification fields it asks for.

The directory is written by volunteers in several languages ("Nom", "E-Mail-Adresse",
"social media"). Known values get an English label marked with N_() and translated where
shown; an unknown value is shown as the directory has it (``Label.known`` is False).
Pure code: no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale, UnknownLocaleError

from consent.directory.search import fold
from consent.vocabulary import N_

#: The format's categories (format.CATEGORIES), as the person reads them.
CATEGORIES: dict[str, str] = {
    "addresses": N_("Address trading"),
    "ads": N_("Advertising"),
    "church": N_("Church"),
    "collection agency": N_("Debt collection"),
    "commerce": N_("Shopping"),
    "credit agency": N_("Credit agency"),
    "entertainment": N_("Entertainment"),
    "finance": N_("Finance"),
    "health": N_("Health"),
    "insurance": N_("Insurance"),
    "nonprofit": N_("Non-profit"),
    "political party": N_("Political party"),
    "public body": N_("Public body"),
    "school": N_("School"),
    "social media": N_("Social media"),
    "telecommunication": N_("Telecommunication"),
    "travel": N_("Travel"),
    "utility": N_("Utility"),
}

ALL_COUNTRIES = N_("All countries")

#: Identification fields the directory names often, in the languages it uses, by what they
#: are (compared folded: case, accents, hyphens and spaces do not matter).
_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    N_("Name"): ("name", "full name", "nom", "nombre", "naam", "nome", "vollstandiger name"),
    N_("E-mail address"): (
        "email",
        "e mail",
        "email address",
        "e mail address",
        "e mail adresse",
        "email adresse",
        "adresse e mail",
        "adresse email",
        "account email",
        "account e mail",
        "correo electronico",
    ),
    N_("Postal address"): ("address", "adresse", "adress", "anschrift", "postanschrift", "direccion", "indirizzo"),
    N_("Date of birth"): ("date of birth", "birthdate", "geburtsdatum", "date de naissance", "fecha de nacimiento"),
    N_("Place of birth"): ("place of birth", "geburtsort", "lieu de naissance"),
    N_("User name"): ("username", "user name", "nutzername", "benutzername", "user id", "nom d utilisateur"),
    N_("Telephone number"): (
        "phone",
        "phone number",
        "telephone number",
        "telefonnummer",
        "handynummer",
        "mobile number",
        "numero d appel",
        "numero de telephone",
    ),
    N_("Customer number"): ("customer number", "kundennummer", "kundenummer", "numero client", "numero de client"),
    N_("Contract number"): ("contract number", "vertragsnummer", "numero de contrat"),
    N_("Membership number"): ("membership number", "mitgliedsnummer"),
}
_FIELDS = {spelling: label for label, spellings in _FIELD_NAMES.items() for spelling in spellings}


@dataclass(frozen=True)
class Label:
    """A value to show: ``known`` ones are English msgids to translate, others shown as they are."""

    text: str
    known: bool


def category(value: str) -> Label:
    label = CATEGORIES.get(value)
    return Label(label, True) if label else Label(value, False)


#: A pack's slug, where it names a category in other words.
_PACK_CATEGORIES = {
    "address-brokers": "addresses",
    "credit-agencies": "credit agency",
    "public-authorities": "public body",
    "social-media": "social media",
}


def pack(key: str) -> tuple[Label, str]:
    """A pack's key ("de/credit-agencies") as the kind of company it lists and where it
    applies: a lower-case country code, or "all"."""
    scope, _, slug = key.partition("/")
    value = _PACK_CATEGORIES.get(slug, slug.replace("-", " "))
    return (category(value) if value in CATEGORIES else Label(slug, False)), scope


def identification(desc: str) -> Label:
    label = _FIELDS.get(fold(desc))
    return Label(label, True) if label else Label(desc, False)


def countries(codes: list[str]) -> list[Label]:
    """Where a company operates: "all" as All countries, else the codes (known=False: the
    template names them with its country filter)."""
    if "all" in codes:
        return [Label(ALL_COUNTRIES, True)]
    return [Label(code.upper(), False) for code in codes]


def language_names(code: str, languages: tuple[str, ...]) -> dict[str, str]:
    """The language of ``code`` ("de") named in each of ``languages`` (the interface's),
    from CLDR: {"en": "German", "fr": "allemand", "de": "Deutsch"}; empty for an unknown code."""
    names: dict[str, str] = {}
    for language in languages:
        try:
            name = Locale.parse(language).languages.get(code)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            names[language] = name
    return names
