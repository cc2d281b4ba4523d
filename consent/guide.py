"""Which companies probably hold my data: from the parts of a person's life to the directory.

Pure: no Flask, no database. The service hands in the directory's companies and packs and
the person's country; this module decides which companies to suggest, and in which order.

A pack is a short list the directory's editors chose: the companies most people of a
country deal with ("choose"), or that hold data on nearly everyone there ("add-all", such
as credit agencies). Those come first; the rest of a category follows, only the companies
relevant to the person's country, up to a limit, so that a suggestion stays a short list
a person can read rather than the 353 advertising companies of the directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from consent.directory.search import fold


@dataclass(frozen=True)
class Situation:
    """A part of life that leaves data with a kind of company."""

    key: str
    categories: tuple[str, ...]  # the directory's categories
    packs: tuple[str, ...] = ()  # pack slugs, looked up for the person's country and for "all"
    everyone: bool = False  # holds data on nearly everyone: suggested without asking


#: In the order the guide asks. Category and pack names are the directory's own.
SITUATIONS: tuple[Situation, ...] = (
    Situation("everyone", ("credit agency", "addresses"), ("credit-agencies", "address-brokers"), everyone=True),
    Situation("social", ("social media",), ("social-media",)),
    Situation("shopping", ("commerce",), ("commerce",)),
    Situation("banking", ("finance",), ("finance",)),
    Situation("phone", ("telecommunication",), ("telecommunication",)),
    Situation("insurance", ("insurance",), ("insurance",)),
    Situation("entertainment", ("entertainment",), ("entertainment",)),
    Situation("travel", ("travel",)),
    Situation("utilities", ("utility",)),
    Situation("health", ("health",)),
    Situation("debt", ("collection agency",)),
)
BY_KEY = {situation.key: situation for situation in SITUATIONS}


@dataclass(frozen=True)
class Company:
    slug: str
    name: str
    categories: frozenset[str]
    countries: frozenset[str]  # lower-case ISO codes, or "all"


@dataclass(frozen=True)
class Suggestion:
    situation: Situation
    companies: tuple[Company, ...]  # the ones to show, editors' picks first
    more: int  # how many others of the same categories the limit left out


def _relevant(company: Company, country: str) -> bool:
    return not country or bool({"all", country} & company.countries)


def suggest(
    situation: Situation,
    companies: Mapping[str, Company],
    packs: Mapping[str, Sequence[str]],
    country: str,
    *,
    limit: int = 12,
) -> Suggestion:
    """The companies that probably hold data of a person of ``country`` in ``situation``.

    ``packs`` maps a pack's key ("de/credit-agencies", "all/social-media") to its slugs.
    The country's own packs come before the worldwide ones, and at most ``limit`` show;
    except that an "everyone" situation shows all of its picks, however many, since each
    such company concerns the person.
    """
    country = country.lower()
    picked: dict[str, Company] = {}
    for scope in (country, "all"):
        for slug in (s for pack in situation.packs for s in packs.get(f"{scope}/{pack}", ())):
            if slug in companies and slug not in picked:
                picked[slug] = companies[slug]
    others = sorted(
        (
            company
            for company in companies.values()
            if company.slug not in picked
            and company.categories & set(situation.categories)
            and _relevant(company, country)
            # Nearly everyone of a country is in the files of that country's agencies and
            # brokers; a worldwide one (a sales-lead tool) is no such certainty.
            and not (situation.everyone and country and country not in company.countries)
        ),
        # The person's country's own companies first: a worldwide category is long.
        key=lambda company: (bool(country) and country not in company.countries, fold(company.name)),
    )
    if situation.everyone and picked:
        return Suggestion(situation, tuple(picked.values()), len(others))
    ranked = [*picked.values(), *others]
    return Suggestion(situation, tuple(ranked[:limit]), len(ranked[limit:]))


def guide(
    chosen: Iterable[str],
    companies: Mapping[str, Company],
    packs: Mapping[str, Sequence[str]],
    country: str,
) -> list[Suggestion]:
    """The suggestions for each situation the person ticked (unknown keys are ignored),
    after the companies that concern everyone; a company shows once, where it comes first."""
    keys = set(chosen)
    wanted = [situation for situation in SITUATIONS if situation.everyone or situation.key in keys]
    seen: set[str] = set()
    result = []
    for situation in wanted:
        found = suggest(situation, companies, packs, country)
        fresh = tuple(company for company in found.companies if company.slug not in seen)
        seen.update(company.slug for company in fresh)
        result.append(Suggestion(situation, fresh, found.more))
    return result
