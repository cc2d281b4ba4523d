"""The guide "which companies probably hold my data": the directory read for one person."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent import guide
from consent.errors import ConsentError
from consent.models import DirectoryController, DirectoryPack
from consent.services import directory, platforms, profiles
from consent.services.accounts import ActiveLogin


@dataclass(frozen=True)
class Guide:
    country: str  # the person's, upper case, or "" when their profile has none
    suggestions: list[guide.Suggestion]
    listed: frozenset[str]  # directory entries already among the person's platforms
    #: What adding each suggested company would sign (shown on the page) and its fingerprint.
    details: dict[str, dict[str, Any]]
    fingerprints: dict[str, str]


class DirectoryChanged(ConsentError):
    """A company's details changed in the directory since the page showed them."""


def _companies(s: Session) -> dict[str, guide.Company]:
    rows = s.execute(sa.select(DirectoryController.slug, DirectoryController.name, DirectoryController.record))
    return {
        slug: guide.Company(
            slug,
            name,
            frozenset(record.get("categories", [])),
            frozenset(code.lower() for code in record.get("relevant-countries", [])),
        )
        for slug, name, record in rows
    }


def _packs(s: Session) -> dict[str, list[str]]:
    return {key: list(slugs) for key, slugs in s.execute(sa.select(DirectoryPack.key, DirectoryPack.companies))}


def _listed(s: Session, login: ActiveLogin) -> frozenset[str]:
    """Archived platforms count too: the person has them already."""
    views = platforms.list_platforms(s, login, archived=None)
    return frozenset(view.state.directory for view in views if view.state.directory)


def for_person(s: Session, login: ActiveLogin, chosen: Iterable[str]) -> Guide:
    """What the guide suggests to the person for the parts of life they ticked."""
    country = (profiles.read_profile(s, login).get("country") or "").upper()
    suggestions = guide.guide(chosen, _companies(s), _packs(s), country)
    details = {}
    for company in (c for suggestion in suggestions for c in suggestion.companies):
        entry = directory.resolve(s, company.slug)
        if entry is not None:
            details[company.slug] = directory.platform_details(entry)
    fingerprints = {slug: directory.fingerprint(value) for slug, value in details.items()}
    return Guide(country, suggestions, _listed(s, login), details, fingerprints)


def add(s: Session, login: ActiveLogin, slugs: Iterable[str], seen: Mapping[str, str]) -> int:
    """Add the ticked directory entries as platforms, one ledger event each, in one
    transaction, with exactly the details the page showed (``seen``: each slug's
    fingerprint); if one changed since, DirectoryChanged and nothing is added. Entries the
    person has already, or that the directory does not know, are left out; with none
    left, nothing changes and the answer is 0."""
    listed = _listed(s, login)
    entries = {slug: directory.resolve(s, slug) for slug in dict.fromkeys(slugs) if slug not in listed}
    found = {slug: directory.platform_details(entry) for slug, entry in entries.items() if entry is not None}
    found = {slug: details for slug, details in found.items() if details["directory"] not in listed}
    if not found:
        return 0
    if not all(directory.shown(details, seen.get(slug)) for slug, details in found.items()):
        raise DirectoryChanged("a company's details changed in the directory since the page showed them")
    return platforms.add_many(s, login, list(found.values()))
