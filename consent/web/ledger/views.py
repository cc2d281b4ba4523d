"""Ledger events made readable: one line per event, and the timeline drawn as SVG."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import format_date, ngettext

from consent.ledger import events
from consent.ledger.state import STATUS_OF
from consent.web.decisions import event_label, letter_label, records_label, request_status_label, use_label
from consent.web.times import day_of, made_from_a_day

#: The drawing's size in SVG user units; the page scales it to the screen.
WIDTH, LABEL_WIDTH, ROW, TOP = 960, 240, 26, 24


def describe(event: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """What the event page and lists show of one event."""
    at, recorded = events.parse_time(event["at"]), events.parse_time(event["recorded"])
    data = event["data"]
    if event["type"] in events.USE_TYPES:
        what = use_label(str(data.get("purpose", "")), str(data.get("label", "")))
    elif event["type"] in events.REQUEST_TYPES:
        what = letter_label(str(data.get("kind", ""))) or request_status_label(str(data.get("status", "")))
    elif event["type"] == events.RECORDS_SEALED:
        what = ", ".join(str(records_label(kind)) for kind in data.get("records", []))
    elif event["type"] == events.PLATFORM_ERASED:
        count = len(data.get("redacted", []))
        what = ngettext("%(num)d event redacted", "%(num)d events redacted", count)
    else:
        what = str(data.get("name", ""))
    return {
        "index": event["index"],
        "type": event["type"],
        "label": event_label(event["type"]),
        "status": STATUS_OF.get(event["type"], "request" if event["type"] in events.REQUEST_TYPES else "platform"),
        "what": what,
        "platform": names.get(event.get("platform", ""), ""),
        "platform_id": event.get("platform", ""),
        "at": at,
        "recorded": recorded,
        "backdated": (recorded - at).total_seconds() > 3600,
        #: Dated to a day the person gave (or an expiry date): no time of day to show.
        "date_only": made_from_a_day(at, recorded),
        #: The day it was decided, for the person (see consent.web.times.day_of).
        "day": at.date() if made_from_a_day(at, recorded) else day_of(at),
        "data": data,
    }


#: The kinds of event in the order the ledger page's filter offers them.
_KIND_ORDER = (
    events.USE_GRANTED,
    events.USE_REFUSED,
    events.USE_WITHDRAWN,
    events.USE_RENEWED,
    events.USE_EXPIRED,
    events.PLATFORM_ADDED,
    events.PLATFORM_CHANGED,
    events.PLATFORM_ARCHIVED,
    events.PLATFORM_ERASED,
    events.LETTER_SENT,
    events.REQUEST_UPDATED,
    events.RECORDS_SEALED,
)


def event_kinds() -> list[str]:
    """Every kind of event, the usual ones first (kinds added later come last)."""
    return [k for k in _KIND_ORDER if k in events.TYPES] + sorted(events.TYPES - set(_KIND_ORDER))


def matches(
    entry: dict[str, Any], *, platform: str | None, kind: str | None, start: date | None, end: date | None
) -> bool:
    """Whether a describe()d event passes the ledger page's filters (None: any)."""
    return (
        (platform is None or entry["platform_id"] == platform)
        and (kind is None or entry["type"] == kind)
        and (start is None or entry["day"] >= start)
        and (end is None or entry["day"] <= end)
    )


@dataclass
class Segment:
    x: float
    width: float
    status: str


@dataclass
class Mark:
    x: float
    status: str
    index: int
    title: str


@dataclass
class Row:
    label: str
    y: float
    segments: list[Segment] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


@dataclass
class Timeline:
    rows: list[Row]
    ticks: list[tuple[float, str]]
    width: int
    height: int
    start: datetime
    end: datetime


def timeline_for(
    recorded: Iterable[dict[str, Any]], *, now: datetime, names: dict[str, str] | None = None
) -> Timeline | None:
    """One row per use: a bar coloured by status from each decision to the next, and a
    mark at each decision. None when there is no decision about a use yet."""
    by_use: dict[str, list[dict[str, Any]]] = {}
    for event in recorded:
        if event["type"] in events.USE_TYPES:
            by_use.setdefault(event["use"], []).append(event)
    if not by_use:
        return None
    for history in by_use.values():
        history.sort(key=lambda e: (e["at"], e["index"]))
    start = min(events.parse_time(h[0]["at"]) for h in by_use.values())
    end = max(now, start)
    span = max((end - start).total_seconds(), 1.0)
    plot = WIDTH - LABEL_WIDTH - 10

    def x(moment: datetime) -> float:
        return round(LABEL_WIDTH + plot * (moment - start).total_seconds() / span, 1)

    ordered = sorted(
        by_use.values(),
        key=lambda h: ((names or {}).get(h[0]["platform"], "").casefold(), _last_label(h).casefold()),
    )
    rows = []
    for n, history in enumerate(ordered):
        label = _last_label(history)
        if names:
            label = f"{names.get(history[0]['platform'], '')} · {label}"
        row = Row(label=label, y=TOP + n * ROW)
        for i, event in enumerate(history):
            begin = events.parse_time(event["at"])
            finish = events.parse_time(history[i + 1]["at"]) if i + 1 < len(history) else end
            status = STATUS_OF[event["type"]]
            row.segments.append(Segment(x(begin), max(x(finish) - x(begin), 1.5), status))
            day = begin.date() if made_from_a_day(begin, event["recorded"]) else begin  # a datetime: the person's zone
            title = f"{event_label(event['type'])} · {format_date(day)}"
            row.marks.append(Mark(x(begin), status, event["index"], title))
        rows.append(row)
    return Timeline(rows, _ticks(start, end, x), WIDTH, TOP + len(rows) * ROW + 10, start, end)


def _last_label(history: list[dict[str, Any]]) -> str:
    data = history[-1]["data"]
    return use_label(str(data.get("purpose", "")), str(data.get("label", "")))


def _ticks(start: datetime, end: datetime, x: Any) -> list[tuple[float, str]]:
    """First days of months between start and end, thinned to at most about 12."""
    months = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month == 13:
            year, month = year + 1, 1
        moment = datetime(year, month, 1, tzinfo=UTC)
        if moment > end:
            break
        months.append(moment)
    step = max(1, len(months) // 12 + (1 if len(months) % 12 else 0))
    return [(x(m), format_date(m, "MMM yyyy")) for m in months[::step]]
