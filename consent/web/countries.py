"""Countries as a person knows them: named in their language, never as a bare code."""

from __future__ import annotations

from flask_babel import get_locale
from wtforms import SelectChoice

#: Two-letter codes CLDR names that are not countries one lives in or a company sits in:
#: groupings (EU, Eurozone, United Nations), pseudo-locales, "unknown", and ISO's
#: exceptionally reserved codes (Ascension, Canary Islands...). Kosovo (XK) stays.
_NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"})


def countries() -> dict[str, str]:
    """Each country's code and its name in the person's language."""
    return {
        code: name
        for code, name in get_locale().territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }


def country_choices() -> list[SelectChoice]:
    """The countries for a menu, sorted by name in the person's language, after a blank."""
    named = sorted((SelectChoice(code, name) for code, name in countries().items()), key=lambda c: c.label.casefold())
    return [SelectChoice("", "—"), *named]


def country_name(code: str | None) -> str:
    """The country's name, or the code as stored when it names none (never an error)."""
    if not code:
        return ""
    return countries().get(code.upper(), code)
