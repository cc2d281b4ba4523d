"""What a postal address, typed or imported as free text, tells about where it is. Pure.

An address is lines, the country usually last, as in the datarequests.org directory
("c/o Meta Platforms Ireland Limited\\n4 Grand Canal Square\\nGrand Canal Harbour\\nDublin 2\\nIreland").
From it come:

- ``country_of``: the ISO 3166-1 alpha-2 code of the country its last line names;
- ``region_of``: the subdivision, as the `holidays` package names it, whose public holidays
  count for a deadline (see `consent.deadlines`), where the postal code says so exactly;
- ``town_of``: the town, for a letter's date line;
- ``regions``: the subdivisions a person may choose from, where choosing one changes a date.

Each answers "" (or []) when unsure, and none raises on odd input. An unknown region costs
little: then only national holidays count, which in the countries handled here are a subset
of each region's, so a deadline can come a day early, never later than the law allows.
docs/deadlines.md says how the rules were made and how well they do on the directory.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass

import holidays
from babel import Locale

#: Only the end of an address is read, its last lines, each cut to this length: enough for
#: any real address, and what a hostile one of megabytes costs stays small.
_TAIL_READ = 65_536
_LINES_READ = 12
_LINE_LENGTH = 200

#: Territory names in these languages: English and the languages of Europe.
_LANGUAGES = (
    "en de fr es it nl pl pt sv da fi cs sk sl hu el ro bg hr et lv lt ga mt lb nb nn is ca eu gl cy rm"
).split()
#: Babel's territories include groupings (EU, UN, "Eurozone") and private-use codes.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})
#: Names real addresses use that Babel's territory lists do not have.
_COUNTRY_ALIASES = {
    "The Netherlands": "NL",
    "Holland": "NL",
    "Czech Republic": "CZ",
    "United States of America": "US",
    "USA": "US",
    "U.S.A.": "US",
    "U.S.": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Republic of Singapore": "SG",
    "Republic of Ireland": "IE",
    "Hong Kong": "HK",
    "Macau": "MO",
    "Macao": "MO",
    "Turkey": "TR",
    "Slovak Republic": "SK",
    "Russian Federation": "RU",
    "Republic of Korea": "KR",
}


def _clean_lines(address: str) -> list[str]:
    """The last non-empty lines, without control or invisible format characters."""
    lines: list[str] = []
    for raw in reversed(address[-_TAIL_READ:].splitlines()):
        line = "".join(" " if unicodedata.category(c) == "Cc" else c for c in raw[:_LINE_LENGTH])
        line = "".join(c for c in unicodedata.normalize("NFC", line) if unicodedata.category(c) != "Cf")
        line = " ".join(line.split())
        if line:
            lines.append(line)
            if len(lines) == _LINES_READ:
                break
    return lines[::-1]


def _name_key(name: str) -> str:
    """A name compared without case, accents or punctuation: "Österreich" as "osterreich"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(" " if not c.isalnum() else c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.split())


@functools.cache
def _country_names() -> dict[str, str]:
    codes_by_name: dict[str, set[str]] = {}
    for language in _LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
                codes_by_name.setdefault(_name_key(name), set()).add(code)
    # A name two countries share in some language ("Kongo") names neither.
    names = {name: next(iter(codes)) for name, codes in codes_by_name.items() if len(codes) == 1}
    names.update((_name_key(alias), code) for alias, code in _COUNTRY_ALIASES.items())
    return names


def _country_line(line: str) -> str:
    names = _country_names()
    code = names.get(_name_key(line), "")
    if not code and "," in line:  # a one-line address: "…, 40213 Düsseldorf, Germany"
        code = names.get(_name_key(line.rsplit(",", 1)[1]), "")
    return code


def country_of(address: str) -> str:
    """The ISO 3166-1 alpha-2 code of the country the address's last line names, or ""."""
    lines = _clean_lines(address)
    return _country_line(lines[-1]) if lines else ""


def _lines_above_country(address: str) -> tuple[str, list[str]]:
    """The country's code and the lines above the one naming it (all lines when none does)."""
    lines = _clean_lines(address)
    if not lines:
        return "", []
    country = _country_line(lines[-1])
    if not country:
        return "", lines
    if _name_key(lines[-1]) in _country_names():
        return country, lines[:-1]
    return country, [*lines[:-1], lines[-1].rsplit(",", 1)[0]]


# --- Postal codes -------------------------------------------------------------------------


@dataclass(frozen=True)
class _PostalFormat:
    code: str  # the postal code's pattern
    town_first: bool  # the town before the code ("London SW1A 1AA"), else after ("75017 Paris")


_FIVE_DIGITS = _PostalFormat(r"\d{2} ?\d{3}", town_first=False)  # "85 609" is typed too
_FOUR_DIGITS = _PostalFormat(r"\d{4}", town_first=False)
_THREE_TWO = _PostalFormat(r"\d{3} ?\d{2}", town_first=False)
_POSTAL_FORMATS = {
    **dict.fromkeys(("DE", "FR", "ES", "IT", "FI", "HR", "EE", "LT", "MC", "SM", "VA"), _FIVE_DIGITS),
    **dict.fromkeys(("AT", "CH", "BE", "DK", "LU", "LI", "NO", "HU", "BG", "SI", "CY", "LV"), _FOUR_DIGITS),
    **dict.fromkeys(("SE", "CZ", "SK", "GR"), _THREE_TWO),
    "NL": _PostalFormat(r"\d{4}(?: ?[A-Z]{2})?", town_first=False),
    "PL": _PostalFormat(r"\d{2}-\d{3}", town_first=False),
    "PT": _PostalFormat(r"\d{4}-\d{3}", town_first=False),
    "RO": _PostalFormat(r"\d{6}", town_first=False),
    "RU": _PostalFormat(r"\d{6}", town_first=False),
    "IS": _PostalFormat(r"\d{3}", town_first=False),
    "IL": _PostalFormat(r"\d{7}", town_first=False),
    "SG": _PostalFormat(r"\d{6}", town_first=False),
    **dict.fromkeys(("GB", "IM", "JE", "GG"), _PostalFormat(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", town_first=True)),
    "IE": _PostalFormat(r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[\dAC-FHKNPRTV-Y]{4}", town_first=True),  # Eircode
    "US": _PostalFormat(r"\d{5}(?:-\d{4})?", town_first=True),
    "CA": _PostalFormat(r"[A-Z]\d[A-Z] ?\d[A-Z]\d", town_first=True),
    "AU": _PostalFormat(r"\d{4}", town_first=True),
    "NZ": _PostalFormat(r"\d{4}", town_first=True),
    "MT": _PostalFormat(r"[A-Z]{3} ?\d{4}", town_first=True),
}
#: Before a code: a country's letters and a dash ("D-", "L-", "LT-"); the dashes people type
#: are the hyphen-minus, the hyphen (U+2010) and the en dash (U+2013).
_PREFIX = r"(?:[A-Z]{1,3} ?[-\u2010\u2013] ?)?"
_TOWN = r"['\u2019]?[^\W\d_].*"  # begins with a letter ("'s-Hertogenbosch" with an apostrophe)


@functools.cache
def _postal_patterns(code: str) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """A line with the code then the town, with the town then the code, and the code alone."""
    return (
        re.compile(rf"{_PREFIX}(?P<code>{code})(?: ?[-\u2010\u2013,] ?| )(?P<town>{_TOWN})", re.IGNORECASE),
        re.compile(rf"(?P<town>.*?[^\W\d_]\.?(?: \d{{1,2}}W?)?),? {_PREFIX}(?P<code>{code})", re.IGNORECASE),
        re.compile(rf"{_PREFIX}(?P<code>{code})", re.IGNORECASE),
    )


@dataclass(frozen=True)
class _PostalLine:
    code: str  # upper case, without spaces
    town: str  # as written beside the code, or on the line before or after a lone code
    index: int  # of the line in the address
    alone: bool = False  # the code has a line of its own


def _postal_line(country: str, lines: list[str]) -> _PostalLine | None:
    """The lowest line that carries the country's postal code, with the town written by it."""
    postal_format = _POSTAL_FORMATS.get(country)
    if postal_format is None:
        return None
    code_then_town, town_then_code, code_alone = _postal_patterns(postal_format.code)
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        found = code_alone.fullmatch(line)
        if found:
            # A lone code: the town is on the next line (Dutch "4600 AS" / "Bergen op Zoom"),
            # or, where the town comes first, on the line before ("London" / "W6 9PE").
            beside = index - 1 if postal_format.town_first else index + 1
            town = lines[beside] if 0 <= beside < len(lines) else ""
            return _PostalLine(_code(found["code"]), town, index, alone=True)
        # "Avenida 24 de Julho, N 102-E, 1200-870 Lisboa": the code may follow a comma.
        for text in (line, line.rsplit(",", 1)[-1].strip()) if "," in line else (line,):
            found = code_then_town.fullmatch(text) or town_then_code.fullmatch(text)
            if found:
                return _PostalLine(_code(found["code"]), found["town"], index)
    return None


def _code(text: str) -> str:
    return "".join(text.split()).upper()


# --- Regions ------------------------------------------------------------------------------

#: Germany: the Land of each range of five-digit postal codes (Postleitzahlen), written for
#: this module from two public lists of which codes serve which municipality: OpenStreetMap's
#: postal areas (as published by suche-postleitzahl.org, 2023) and GeoNames' postal codes
#: (2026). A range runs between codes both lists place in the same Land, and over the codes
#: of post-office boxes and large customers where every code sharing their first three digits
#: (or, with none, two) lies in one Land. In no range: codes a list places in two Länder
#: (07919, 12529, 14715, 17337, 19273, 19357, 21039, 22113, 22145, 34355, 59969, 63928, 64754,
#: 65391, 69412, 69434, 74731, 89081, 97896), codes between two Länder, and codes of large
#: customers that GeoNames places in another Land than their neighbours.
_GERMAN_RANGES = {
    "BB": (
        "01945-01998 03000-03074 03076-03999 04895-04999 14400-14456 14458-14712 14727-15226 15228-16999 "
        "17268-17291 17326 19309-19348 "
    ),
    "BE": (
        "10000-10857 10859-10874 10876-10897 10899-10907 10911-11511 11513-12520 12522-12527 12555-12677 "
        "12679-12711 12713-13659 13661-14199 "
    ),
    "BW": (
        "68100-68399 68526-68549 68700-69234 69242-69259 69427-69429 69436-69469 69493-69502 69514 "
        "70000-70789 70791-71028 71030-74063 74065-74070 74072-74722 74736-75012 75014-76709 77000-78457 "
        "78459-79999 88000-88099 88147 88200-88296 88298-89069 89071-89079 89100-89199 89500-89699 97877 "
        "97900 97922-97999 "
    ),
    "BY": (
        "63700-63927 63930-63939 80000-86134 86136-87999 88131-88145 88149-88179 89200-89499 90000-90743 "
        "90745-96034 96036-96038 96040-96062 96064-96075 96077-96499 97000-97418 97420-97859 97892 "
        "97901-97909 "
    ),
    "HB": (
        "27500-27599 28100-28103 28105-28181 28183-28779 "
    ),
    "HE": (
        "34100-34329 34359-34399 34454-35507 35509-36399 37200-37299 55246-55252 60000-60646 60648-60650 "
        "60653-63474 63476-63699 64200-64517 64519-64753 64756-65163 65165-65388 65396-65556 65589-65620 "
        "65627 65700-65999 68519 68600-68699 69239 69483-69488 69509 69517-69518 "
    ),
    "HH": (
        "20000-20082 20084-21037 21073-21171 21173-21199 22000-22032 22034-22111 22115-22138 22141-22143 "
        "22147-22757 22759-22779 22782-22799 27499 "
    ),
    "MV": (
        "17000-17239 17241-17258 17309-17322 17328-17335 17348-19260 19288-19306 19370-19499 23923-23999 "
    ),
    "NI": (
        "21200-21449 21522 21600-21799 26000-26059 26061-26065 26067-27478 27600-27899 28790-29399 "
        "29439-30685 30687-31130 31132-31773 31775-31828 31830-31999 34346 37000-37199 37400-37649 37691 "
        "37697-38479 38500-38799 48455-48465 48480 48488 48499-48531 49000-49446 49448-49459 49565-49899 "
    ),
    "NW": (
        "32000-33686 33688-33999 34414-34439 37671-37688 37696 40000-42894 42896-47788 47790-48432 48477 "
        "48485 48493-48496 48565-48799 49477-49549 50000-50422 50425-50605 50607-51597 51600-53288 "
        "53290-53399 53604 53639-53999 57000-57499 58000-59964 "
    ),
    "RP": (
        "51598 53400-53599 53619 54000-55239 55257-55540 55542-56475 56477-56999 57500-57699 65558-65582 "
        "65623-65626 65629 66482-66509 66849-67999 76726-76899 "
    ),
    "SH": (
        "21465-21521 21524-21529 22800-22865 22867-23919 24000-25999 27498 "
    ),
    "SL": (
        "66100-66459 66538-66839 "
    ),
    "SN": (
        "01067-01936 02000-02999 04100-04159 04161-04599 04643-04889 07952 07985 08000-09999 "
    ),
    "ST": (
        "06100-06543 06600-06999 29410-29416 38486-38489 38800-38998 39000-39999 "
    ),
    "TH": (
        "04600-04639 06556-06578 07300-07907 07922-07950 07955-07980 07987 36400-36499 37300-37399 "
        "96500-96599 98000-99999 "
    ),
}


@functools.cache
def _german_ranges() -> tuple[list[int], list[tuple[int, str]]]:
    """The ranges' first codes, sorted, and beside each its last code and its Land."""
    ranges = sorted(
        (int(first), int(last or first), land)
        for land, text in _GERMAN_RANGES.items()
        for first, _, last in (span.partition("-") for span in text.split())
    )
    return [first for first, _, _ in ranges], [(last, land) for _, last, land in ranges]


def _german_land(postal_code: str) -> str:
    firsts, rest = _german_ranges()
    index = bisect.bisect_right(firsts, int(postal_code)) - 1
    if index < 0:
        return ""
    last, land = rest[index]
    return land if int(postal_code) <= last else ""


#: Cities with public holidays of their own in the package, by their delivery postal codes,
#: none shared with another municipality: Augsburg (Peace Festival, 8 August; Assumption) and
#: Barcelona (Whit Monday, La Mercè).
_CITIES = {
    ("DE", code): "Augsburg"
    for code in "86150 86152 86153 86154 86156 86157 86159 86161 86163 86165 86167 86169 86179 86199".split()
} | {("ES", f"080{number:02d}"): "Barcelona" for number in range(1, 43)}

#: France: the départements of Alsace-Moselle keep Good Friday and 26 December as public
#: holidays (local law kept in 1924). A metropolitan postal code begins with its
#: département's number; GeoNames' list of French codes has no exception for 57, 67 or 68.
_FRENCH_REGIONS = {"57": "57", "67": "6AE", "68": "6AE"}
#: The overseas départements, whose codes begin with 97 and their number. Saint-Barthélemy
#: (97133) and Saint-Martin (97150) share Guadeloupe's 971 but are collectivities of their own.
_FRENCH_OVERSEAS = {"971": "971", "972": "972", "973": "973", "974": "974", "976": "976"}
_FRENCH_OVERSEAS_EXCEPTIONS = {"97133": "BL", "97150": "MF"}

#: Spain: a postal code begins with its province's number (INE), and each province lies in
#: one autonomous community, named here as the package names it.
_SPANISH_PROVINCES = {
    "AN": "04 11 14 18 21 23 29 41",
    "AR": "22 44 50",
    "AS": "33",
    "CB": "39",
    "CE": "51",
    "CL": "05 09 24 34 37 40 42 47 49",
    "CM": "02 13 16 19 45",
    "CN": "35 38",
    "CT": "08 17 25 43",
    "EX": "06 10",
    "GA": "15 27 32 36",
    "IB": "07",
    "MC": "30",
    "MD": "28",
    "ML": "52",
    "NC": "31",
    "PV": "01 20 48",
    "RI": "26",
    "VC": "03 12 46",
}
_SPANISH_COMMUNITIES = {
    province: community for community, provinces in _SPANISH_PROVINCES.items() for province in provinces.split()
}
#: Codes that also serve villages of a neighbouring province, so of another community (the
#: Treviño enclave, Tresviso, Petilla de Aragón, ...), from GeoNames' list of Spanish codes.
_SPANISH_SHARED_CODES = frozenset(
    "01118 01211 01427 03657 13110 14449 22583 22584 26127 26212 28189 28190 28310 33554 39232 "
    "39250 39419 42269 50686".split()
)

#: The United Kingdom: postcode areas (the letters a postcode begins with) that lie within
#: one nation, after GeoNames' postcode districts. Areas across a border (CH, DG, HR, LA, LD,
#: LL, NP, SY, TD) are in none; England and Wales have the same bank holidays, so those
#: cost nothing but the name. BX and the other non-geographic areas are in none either.
_UK_AREAS = {
    "NIR": "BT",
    "SCT": "AB DD EH FK G HS IV KA KW KY ML PA PH ZE",
    "WLS": "CF SA",
    "ENG": (
        "AL B BA BB BD BH BL BN BR BS CA CB CM CO CR CT CV CW DA DE DH DL DN DT DY E EC EN EX FY GL GU "
        "HA HD HG HP HU HX IG IP KT L LE LN LS LU M ME MK N NE NG NN NR NW OL OX PE PL PO PR RG RH RM S "
        "SE SG SK SL SM SN SO SP SR SS ST SW TA TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO"
    ),
}
_UK_NATIONS = {area: nation for nation, areas in _UK_AREAS.items() for area in areas.split()}


def region_of(country: str, address: str) -> str:
    """The subdivision of ``country`` (as the `holidays` package names it) that the address's
    postal code lies in, where that is exact; "" when the code is missing, unknown or shared,
    or when the address's last line names another country.

    Germany (the Land; Augsburg), France (Alsace-Moselle, the overseas départements), Spain
    (the autonomous community; Barcelona) and the United Kingdom (the nation). Other
    countries give "": docs/deadlines.md says why, Austria's case included.
    """
    code = country.strip().upper()
    named, lines = _lines_above_country(address)
    # A code is read as the country's only where the address names no other country.
    if code not in ("DE", "FR", "ES", "GB") or named not in ("", code):
        return ""
    found = _postal_line(code, lines)
    if found is None:
        return ""
    postal_code = found.code
    if code == "GB":
        return _UK_NATIONS.get(postal_code[: 2 if postal_code[1].isalpha() else 1], "")
    if (code, postal_code) in _CITIES:
        return _CITIES[code, postal_code]
    if code == "DE":
        return _german_land(postal_code)
    if code == "FR":
        if postal_code in _FRENCH_OVERSEAS_EXCEPTIONS:
            return _FRENCH_OVERSEAS_EXCEPTIONS[postal_code]
        return _FRENCH_REGIONS.get(postal_code[:2], "") or _FRENCH_OVERSEAS.get(postal_code[:3], "")
    return "" if postal_code in _SPANISH_SHARED_CODES else _SPANISH_COMMUNITIES.get(postal_code[:2], "")


# --- Towns --------------------------------------------------------------------------------

_CEDEX = re.compile(r"\s+cedex(?:\s+\d{1,3})?$", re.IGNORECASE)
_ORTSTEIL = re.compile(r"\s+(?:OT|Ortsteil)\s+.*$")
#: A district's number after the town: "Dublin 2", "Praha 4", "Paris 9e".
_DISTRICT = re.compile(r"\s+\d{1,2}(?:W|e|er)?\.?$", re.IGNORECASE)
#: British and Irish counties, which may stand between the post town and the postcode.
_COUNTY = re.compile(
    r"(?:.*shire|Co\.? .*|County .*|Surrey|Kent|Essex|Middlesex|Middx|(?:East |West )?Sussex|Cornwall|Devon|"
    r"Dorset|Norfolk|Suffolk|Cumbria|Merseyside|Greater London|Greater Manchester|West Midlands|Tyne (?:and|&) Wear|"
    r"Northumberland|Somerset|Rutland|Isle of Wight|(?:North|South|East|West) Yorkshire|Avon|Cleveland|Fife|"
    r"(?:Mid|East|West)lothian)",
    re.IGNORECASE,
)


#: Words of English street and building names, which a town's line does not have.
_STREET_OR_BUILDING = re.compile(
    r"\b(?:Street|Road|Rd|Avenue|Ave|Lane|Way|Drive|Terrace|Quay|Square|House|Plaza|Building|Centre|"
    r"Center|Tower|Business|Floor|Suite|Unit|Office|PO Box)\b",
    re.IGNORECASE,
)


@functools.cache
def _state_names(country: str) -> frozenset[str]:
    """The codes and names of the states or provinces written after a town (US, CA, AU)."""
    aliases = getattr(holidays, country).get_subdivision_aliases()
    return frozenset(_name_key(name) for code, names in aliases.items() for name in (code, *names))


def _is_state(country: str, text: str) -> bool:
    return country in ("US", "CA", "AU") and _name_key(text.strip(" ,")) in _state_names(country)


def _without_state(country: str, text: str) -> str:
    """"San Francisco CA" as "San Francisco"; "New York" stays (a town named as its state)."""
    words = text.split()
    for cut in range(1, min(4, len(words))):
        if _is_state(country, " ".join(words[-cut:])):
            return " ".join(words[:-cut])
    return text


def _plain_town(country: str, text: str) -> str:
    """The town in ``text`` as a date line writes it, or "" when it does not look like one."""
    parts = [part.strip() for part in _ORTSTEIL.sub("", _CEDEX.sub("", text)).split(",") if part.strip()]
    # "Orpington, Kent", "Montreal, QC": the town comes before its county or state.
    while len(parts) > 1 and (_COUNTY.fullmatch(parts[-1]) or _is_state(country, parts[-1])):
        parts.pop()
    town = _DISTRICT.sub("", _without_state(country, parts[-1])).strip(" ;-") if parts else ""
    if not town or len(town) > 60 or any(c.isdigit() for c in town) or _COUNTY.fullmatch(town):
        return ""
    return town


def town_of(address: str) -> str:
    """The town the address is in, as a letter's date line names it ("Strasbourg"), or "".

    Taken from the line that carries the postal code: "67000 Strasbourg" and "75334 Paris
    Cedex 07" give the town after the code, "London SW1A 1AA" the one before it; a code on a
    line of its own gives the town beside it ("London" above "W6 9PE"; "Dublin 2" above
    "D02 R296" as "Dublin"). Irish addresses, which seldom have a code, give their last line.
    """
    country, lines = _lines_above_country(address)
    if not country:  # no country named: only a last line such as "40213 Düsseldorf"
        last_line = _postal_patterns(r"\d{4,5}")[0].fullmatch(lines[-1]) if lines else None
        return _plain_town("", last_line["town"]) if last_line else ""
    found = _postal_line(country, lines)
    town = ""
    if found and not _is_state(country, found.town) and not (found.alone and _STREET_OR_BUILDING.search(found.town)):
        town = _plain_town(country, found.town)
    if found and not town and _POSTAL_FORMATS[country].town_first:
        # "New York" / "NY 10017", "Staffordshire" / "WS15 1LH": the town is further up,
        # unless that line is a street or a building's ("Burlington Plaza" / "D04 RH96").
        above = _skip_county(lines, found.index)
        town = "" if _STREET_OR_BUILDING.search(above) else _plain_town(country, above)
    if not town and country == "IE":  # most Irish addresses end with the town, or its county
        town = _plain_town(country, _skip_county(lines, len(lines)))
    return town


def _skip_county(lines: list[str], below: int) -> str:
    """The nearest line above line ``below`` that is not a county ("Surrey", "Co. Cork")."""
    for line in reversed(lines[max(0, below - 2) : below]):
        if not _COUNTY.fullmatch(line):
            return line
    return ""


# --- Choosing a region --------------------------------------------------------------------

#: The years over which a subdivision's holidays are compared with the nation's.
_COMPARED_YEARS = range(2024, 2036)


def _readable_name(code: str, aliases: list[str]) -> str:
    """The subdivision's first alias that is a name (not another code), accents kept."""
    names = [alias for alias in aliases if any(c.islower() for c in alias)]
    if not names:
        return code
    first = names[0]
    accented = [name for name in names if _name_key(name) == _name_key(first) and not name.isascii()]
    return accented[0] if accented else first


@functools.cache
def _regions(country: str) -> tuple[tuple[str, str], ...]:
    if country not in holidays.list_supported_countries():
        return ()
    national = set(holidays.country_holidays(country, years=_COMPARED_YEARS))
    choices = []
    for code, aliases in getattr(holidays, country).get_subdivision_aliases().items():
        # School zones, and regions whose public holidays are the nation's, change no date.
        if set(holidays.country_holidays(country, subdiv=code, years=_COMPARED_YEARS)) != national:
            choices.append((str(code), _readable_name(str(code), list(aliases))))
    return tuple(sorted(choices, key=lambda choice: _name_key(choice[1])))


def regions(country: str) -> list[tuple[str, str]]:
    """The subdivisions of ``country`` a person may choose from, as (code, name), by name:
    those whose public holidays differ from the nation's, so that choosing one can change a
    deadline. [] for a country without any (Austria, Belgium, Ireland) or unknown."""
    code = country.strip().upper()
    if not (len(code) == 2 and code.isalpha()):
        return []
    return list(_regions(code))
