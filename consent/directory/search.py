"""How directory entries are found: one normalised text per entry, and a ranking."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit


def fold(text: str) -> str:
    """Lower case, accents removed, runs of spaces and punctuation made one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\s_.,;:()/'\"!?&+-]+", " ", plain).strip()


def domain(url: str) -> str:
    host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    return host.removeprefix("www.")


def search_text(record: dict[str, Any]) -> str:
    """Name, services run, and web and mail domains, one per line."""
    lines = [fold(record["name"])]
    lines += [fold(service) for service in record.get("runs", [])]
    for field in ("web", "webform"):
        if record.get(field):
            lines.append(domain(record[field]))
    if record.get("email"):
        lines.append(record["email"].split("@")[-1].lower())
    return "\n".join(line for line in lines if line)


def rank(query: str, name: str, runs: Iterable[str], text: str) -> tuple[int, str | None]:
    """(rank, the service that matched): lower ranks come first; None when nothing matches."""
    q = fold(query)
    folded_name = fold(name)
    if folded_name.startswith(q):
        return 0, None
    if any(word.startswith(q) for word in folded_name.split()):
        return 1, None
    for service in runs:
        folded = fold(service)
        if folded.startswith(q) or any(word.startswith(q) for word in folded.split()):
            return 2, service
    raw = query.strip().lower()  # web domains are kept unfolded ("facebook.com")
    if any(line.startswith((q, raw)) for line in text.split("\n")):
        return 3, None
    return (4, None) if q in text or raw in text else (99, None)
