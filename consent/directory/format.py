"""The datarequests.org directory format: its records, checked against the format's rules.

Written here rather than run through a JSON Schema validator: a directory need not ship
its schema files, and each rule gets a message in our words ("expected X, got Y") that
the import report can show next to the file it comes from.
"""

from __future__ import annotations

import json
import re
from typing import Any

# The format's patterns are ECMAScript's (JSON Schema), where $ ends the text, . stops at
# a line break and \d is an ASCII digit. Python's $ also matches before a final newline and
# its \d takes any script's digits: hence \Z, [0-9] and an explicit class for the dot here.
SLUG = re.compile(r"^[a-z0-9-]+\Z")
_NAME = re.compile(r"^\S[^\n\r\u2028\u2029]*\S\Z")
_PHONE = re.compile(r"^\+[0-9]+ [0-9]+ (?:[0-9]+ )*[0-9]+(?: ext\. [0-9]+)?\Z")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*\Z", re.I)
#: One @ and no space; the dot the domain needs is looked for apart (_check_contact).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\Z")
_LANGUAGE = re.compile(r"^[a-z]{2}\Z")
#: Characters that make text show other than it is: C0 and C1 controls except tab and line
#: breaks, and the bidi embeddings, overrides and isolates (the web forms refuse the same).
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

COUNTRIES = frozenset(
    "all at be bg hr cy cz dk ee fi fr de gr hu ie it lv lt lu mt nl pl pt ro sk si es se gb no is li ch".split()
)
CATEGORIES = frozenset(
    {
        "addresses",
        "ads",
        "church",
        "collection agency",
        "commerce",
        "credit agency",
        "entertainment",
        "finance",
        "health",
        "insurance",
        "nonprofit",
        "political party",
        "public body",
        "school",
        "social media",
        "telecommunication",
        "travel",
        "utility",
    }
)
QUALITIES = frozenset({"tested", "verified", "imported", "scraped"})
MEDIA = frozenset({"fax", "letter", "email", "webform"})
ELEMENT_TYPES = frozenset({"input", "textarea", "email", "address", "name", "birthdate"})
OBSOLETE_REASONS = frozenset(
    {"company-acquired", "company-defunct", "company-merged", "duplicate", "gdpr-not-applicable", "out-of-scope"}
)

#: How to reach a controller or an authority: fields both kinds of record share.
_CONTACT_FIELDS = {
    "slug",
    "relevant-countries",
    "name",
    "address",
    "phone",
    "fax",
    "email",
    "webform",
    "pgp-fingerprint",
    "pgp-url",
    "web",
    "sources",
    "suggested-transport-medium",
    "comments",
}
_COMPANY_FIELDS = _CONTACT_FIELDS | {
    "categories",
    "runs",
    "required-elements",
    "request-language",
    "custom-access-template",
    "custom-erasure-template",
    "custom-rectification-template",
    "custom-objection-template",
    "needs-id-document",
    "quality",
    "facet-group",
    "nsfw",
}
_AUTHORITY_FIELDS = _CONTACT_FIELDS | {"complaint-language"}
_OBSOLETE_FIELDS = {"slug", "name", "reason", "redirect-to", "sources", "quality"}


class RecordError(ValueError):
    """A record breaks a rule of the format; the message says which."""


def _require(record: dict[str, Any], fields: tuple[str, ...]) -> None:
    missing = [name for name in fields if name not in record]
    if missing:
        raise RecordError(f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")


def _only(record: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise RecordError(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")


def _string(record: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None, what: str = "") -> None:
    if name not in record:
        return
    value = record[name]
    if not isinstance(value, str):
        raise RecordError(f"{name}: expected a string, got {type(value).__name__}")
    if pattern is not None and not pattern.match(value):
        raise RecordError(f"{name}: expected {what or 'a value matching ' + pattern.pattern}, got {value[:60]!r}")


def _one_of(record: dict[str, Any], name: str, allowed: frozenset[str]) -> None:
    if name in record and (not isinstance(record[name], str) or record[name] not in allowed):
        got = repr(record[name][:60]) if isinstance(record[name], str) else type(record[name]).__name__
        choices = sorted(allowed)
        expected = " or ".join(choices) if len(choices) == 2 else f"one of {', '.join(choices)}"
        raise RecordError(f"{name}: expected {expected}, got {got}")


def _list_of(record: dict[str, Any], name: str, allowed: frozenset[str] | None = None, *, min_items: int = 0) -> None:
    if name not in record:
        return
    value = record[name]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RecordError(f"{name}: expected a list of strings")
    if len(value) < min_items:
        raise RecordError(f"{name}: expected at least {min_items} item(s), got {len(value)}")
    if len(set(value)) != len(value):
        raise RecordError(f"{name}: items must be unique")
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise RecordError(f"{name}: unknown value{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")


def _common(record: Any, slug: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    _string(record, "slug", SLUG, "a slug of a-z, 0-9 and -")
    if "slug" in record and record["slug"] != slug:
        raise RecordError(f"slug: expected {slug[:60]!r} (the file's name), got {record['slug'][:60]!r}")
    _string(record, "name", _NAME, "a name without leading or trailing space")
    return record


def check_company(record: Any, slug: str) -> dict[str, Any]:
    checked = record = _common(record, slug)
    _require(record, ("slug", "relevant-countries", "name", "address", "sources", "quality"))
    _only(record, _COMPANY_FIELDS)
    _check_contact(record)
    _list_of(record, "relevant-countries", COUNTRIES, min_items=1)
    _list_of(record, "categories", CATEGORIES)
    _list_of(record, "runs")
    _list_of(record, "comments")
    _one_of(record, "quality", QUALITIES)
    _string(record, "request-language", _LANGUAGE, "an ISO 639-1 language code")
    for flag in ("needs-id-document", "nsfw"):
        if flag in record and not isinstance(record[flag], bool):
            raise RecordError(f"{flag}: expected true or false")
    elements = record.get("required-elements", [])
    if not isinstance(elements, list):
        raise RecordError("required-elements: expected a list")
    for element in elements:
        if not isinstance(element, dict) or not {"desc", "type"} <= set(element) <= {"desc", "type", "optional"}:
            raise RecordError("required-elements: each needs desc and type (and may say optional)")
        if not isinstance(element["desc"], str) or not isinstance(element.get("optional", False), bool):
            raise RecordError("required-elements: desc is a string, optional true or false")
        if not isinstance(element["type"], str) or element["type"] not in ELEMENT_TYPES:
            raise RecordError(f"required-elements: unknown type {str(element['type'])[:60]!r}")
    return checked


def check_authority(record: Any, slug: str) -> dict[str, Any]:
    checked = record = _common(record, slug)
    _require(record, ("slug", "relevant-countries", "name", "address", "sources"))
    _only(record, _AUTHORITY_FIELDS)
    _check_contact(record)
    _list_of(record, "relevant-countries", COUNTRIES, min_items=1)
    _string(record, "complaint-language", _LANGUAGE, "an ISO 639-1 language code")
    return checked


def check_obsolete(record: Any, slug: str) -> dict[str, Any]:
    checked = record = _common(record, slug)
    _require(record, ("slug", "name", "reason"))
    _only(record, _OBSOLETE_FIELDS)
    _one_of(record, "reason", OBSOLETE_REASONS)
    _string(record, "redirect-to", SLUG, "a slug")
    return checked


def check_packs(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise RecordError("expected a list of company packs")
    for pack in value:
        if not isinstance(pack, dict) or set(pack) != {"slug", "type", "companies"}:
            raise RecordError("each pack has exactly slug, type and companies")
        _string(pack, "slug", SLUG, "a slug")
        _one_of(pack, "type", frozenset({"add-all", "choose"}))
        _list_of(pack, "companies")
    slugs = [pack["slug"] for pack in value]
    for slug in slugs:
        if slugs.count(slug) > 1:
            raise RecordError(f"slug: {slug[:60]!r} names two packs")
    return value


def _check_contact(record: dict[str, Any]) -> None:
    _string(record, "address")
    for name in ("phone", "fax"):
        _string(record, name, _PHONE, "an international number like +49 30 1234567")
    for name in ("web", "webform", "pgp-url"):
        _string(record, name, _URL, "an http(s) address")
    _string(record, "email", _EMAIL, "an e-mail address")
    # Not in the pattern: [^@\s]+\.[^@\s]+ backtracks over every dot for every dot, which
    # is hours for a file of dots under the size cap.
    if "email" in record and "." not in record["email"].rpartition("@")[2][1:-1]:
        raise RecordError(f"email: expected an e-mail address, got {record['email'][:60]!r}")
    _list_of(record, "sources")
    _one_of(record, "suggested-transport-medium", MEDIA)


#: How deep a record's JSON may nest (the real ones nest four levels at most).
MAX_DEPTH = 32
#: What no database stores in a string: NUL, and a half of a surrogate pair.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Numbers a database's JSON keeps exactly (JavaScript's safe integers).
_MAX_NUMBER = 2**53


def parse(text: str) -> Any:
    """A record file's JSON, or RecordError: no NaN or Infinity (PostgreSQL's JSON has
    none), nothing nested deeper than MAX_DEPTH, no NUL or lone surrogate in a string (no
    database stores them), no invisible control character, no number beyond 2^53."""

    def refuse_constant(name: str) -> Any:
        raise RecordError(f"{name} is not a JSON number")

    if _nesting(text) > MAX_DEPTH:
        raise RecordError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=refuse_constant)
    except RecordError:
        raise
    except ValueError as e:
        raise RecordError(f"not valid JSON: {e}") from None
    _check_plain(value)
    return value


def _nesting(text: str) -> int:
    """How deep brackets nest, outside strings: measured before parsing, so that 100,000
    levels cost a scan and not the parser's recursion."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot nest deeper, and the scan below costs a Python step a character
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _check_plain(value: Any) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise RecordError("a string holds a NUL character or a lone surrogate")
            if _INVISIBLE.search(item):
                raise RecordError("a string holds an invisible control character")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float) and not abs(item) <= _MAX_NUMBER:
            raise RecordError(f"a number beyond 2^53: {str(item)[:30]}")
