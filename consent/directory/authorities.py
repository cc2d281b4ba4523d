"""The supervisory authorities shipped with the app (consent/data/authorities.json), and
which of them are competent for a complaint (GDPR Art. 77: the authority of the person's
habitual residence, among others)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Authority:
    id: str
    country: str
    level: str  # "national" or "state"
    name: str
    name_en: str
    address: tuple[str, ...]
    website: str
    webform: str
    email: str
    language: str
    region: str = ""

    @property
    def postal_address(self) -> str:
        return "\n".join(self.address)


@functools.cache
def bundled() -> tuple[Authority, ...]:
    raw = json.loads(resources.files("consent.data").joinpath("authorities.json").read_text(encoding="utf-8"))
    return tuple(Authority(**{**item, "address": tuple(item["address"])}) for item in raw["authorities"])


def by_id(authority_id: str) -> Authority | None:
    return next((a for a in bundled() if a.id == authority_id), None)


def competent_authorities(country: str) -> list[Authority]:
    """The authorities a person living in ``country`` can complain to, the national (or
    federal) one first, then regional ones by name. Empty for a country the app does not
    know (outside the EU, the EEA, the UK and Switzerland)."""
    found = [a for a in bundled() if a.country == country.upper()]
    return sorted(found, key=lambda a: (a.level != "national", a.name.casefold()))


def default_authority(country: str) -> Authority | None:
    competent = competent_authorities(country)
    return competent[0] if competent else None


def authority_for(country: str, region: str = "") -> Authority | None:
    """The authority a person living in ``country`` (and ``region``, a subdivision code such
    as "NW") complains to by default. In Germany it is the Land's: the Länder supervise the
    private sector (§ 40 BDSG), the federal BfDI only public bodies of the Federation and
    telecommunication and postal companies, which the person can still choose."""
    if region:
        found = next((a for a in bundled() if a.region == f"{country.upper()}-{region.upper()}"), None)
        if found is not None:
            return found
    # Without a known region, the national (federal) authority: the person can change it.
    return default_authority(country)
