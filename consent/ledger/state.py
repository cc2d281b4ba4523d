"""What a ledger's events add up to: the platforms and where each use of the data stands.

Redacted events (their platform erased) are not among the events replayed: an erased
platform is simply absent, and its ``platform.erased`` event removes whatever is left.

The database keeps this state as a projection, written with each append; ``replay``
computes it from the events alone, for any past moment, and `consent rebuild-state`
uses it to rebuild the projection. One set of rules serves all three.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from consent.errors import DecisionError
from consent.ledger import events

GRANTED, REFUSED, WITHDRAWN, EXPIRED = "granted", "refused", "withdrawn", "expired"
STATUSES = (GRANTED, REFUSED, WITHDRAWN, EXPIRED)
PLATFORM_FIELDS = (
    "name",
    "website",
    "email",
    "address",
    "country",
    "dpo",
    "categories",
    "other_categories",
    "directory",
)
USE_FIELDS = ("purpose", "label", "description", "legal_basis", "recipients", "expires")


@dataclass
class PlatformState:
    id: str
    name: str = ""
    website: str = ""
    email: str = ""
    address: str = ""
    country: str = ""
    dpo: str = ""
    categories: list[str] = field(default_factory=list)
    other_categories: str = ""
    #: The slug of the directory entry it was filled from, if any.
    directory: str = ""
    archived: bool = False
    since: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UseState:
    id: str
    platform: str
    purpose: str = ""
    label: str = ""
    description: str = ""
    legal_basis: str = ""
    recipients: str = ""
    expires: str | None = None
    status: str = ""
    since: str = ""
    index: int = -1

    def status_on(self, day: date) -> str:
        """The status on ``day``: a grant past its expiry date counts as expired."""
        if self.status == GRANTED and self.expires and date.fromisoformat(self.expires) < day:
            return EXPIRED
        return self.status

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: The status each use event leaves its use in.
STATUS_OF = {
    events.USE_GRANTED: GRANTED,
    events.USE_RENEWED: GRANTED,
    events.USE_REFUSED: REFUSED,
    events.USE_WITHDRAWN: WITHDRAWN,
    events.USE_EXPIRED: EXPIRED,
}


#: What an archived platform still takes: a withdrawal (the person's right whatever the
#: platform's state, GDPR Art. 7(3)), a lapse, letters and answers, its return, and its
#: erasure (the person's right too, GDPR Art. 17).
_WHILE_ARCHIVED = frozenset(
    {
        events.USE_WITHDRAWN,
        events.USE_EXPIRED,
        events.PLATFORM_UNARCHIVED,
        events.PLATFORM_ERASED,
        *events.REQUEST_TYPES,
    }
)


@dataclass
class LedgerState:
    platforms: dict[str, PlatformState] = field(default_factory=dict)
    uses: dict[str, UseState] = field(default_factory=dict)

    def apply(self, event: dict[str, Any], *, strict: bool = True) -> None:
        """Take ``event`` into account. ``strict`` refuses a decision that cannot follow the
        current state (new decisions); replays of recorded history are lenient."""
        if event["type"] == events.RECORDS_SEALED:
            return  # the person's own records: no platform, no use
        kind, platform_id, data = event["type"], event["platform"], event["data"]
        platform = self.platforms.get(platform_id)
        if kind == events.PLATFORM_ADDED:
            if platform is not None and strict:
                raise DecisionError("exists", f"platform {platform_id} exists already")
            platform = self.platforms[platform_id] = PlatformState(platform_id, since=event["at"])
        elif platform is None:
            if strict:
                raise DecisionError("unknown", f"no platform {platform_id}")
            platform = self.platforms[platform_id] = PlatformState(platform_id, since=event["at"])
        elif platform.archived and strict and kind not in _WHILE_ARCHIVED:
            raise DecisionError("archived", f"platform {platform_id} is archived")
        if kind in (events.PLATFORM_ADDED, events.PLATFORM_CHANGED):
            for name in PLATFORM_FIELDS:
                if name in data:
                    setattr(platform, name, data[name])
        elif kind == events.PLATFORM_ARCHIVED:
            platform.archived = True
        elif kind == events.PLATFORM_ERASED:
            # Its earlier events are redacted (a replay never sees them): whatever a lenient
            # replay made of the platform goes, with its uses.
            del self.platforms[platform_id]
            for use_id in [u.id for u in self.uses.values() if u.platform == platform_id]:
                del self.uses[use_id]
        elif kind == events.PLATFORM_UNARCHIVED:
            if strict and not platform.archived:
                raise DecisionError("not_archived", f"platform {platform_id} is not archived")
            platform.archived = False
        elif kind in events.REQUEST_TYPES:
            pass  # letters and answers are on record; they change no use
        else:
            self._apply_use(event, strict)

    def _apply_use(self, event: dict[str, Any], strict: bool) -> None:
        kind, use_id = event["type"], event["use"]
        use = self.uses.get(use_id)
        current = use.status if use else None
        if strict:
            if kind == events.USE_GRANTED and current == GRANTED:
                raise DecisionError("already_granted", f"use {use_id} is granted already")
            if kind == events.USE_REFUSED and current in (GRANTED, REFUSED):
                reason = "already_refused" if current == REFUSED else "granted"
                raise DecisionError(reason, f"use {use_id} is {current}: withdraw a grant instead of refusing it")
            if kind in (events.USE_WITHDRAWN, events.USE_EXPIRED) and current != GRANTED:
                raise DecisionError("not_granted", f"use {use_id} is {current or 'unknown'}, not granted")
            if kind == events.USE_RENEWED and current not in (GRANTED, EXPIRED):
                raise DecisionError("not_granted", f"use {use_id} is {current or 'unknown'}: grant it instead")
        if use is None:
            use = self.uses[use_id] = UseState(use_id, event["platform"])
        for name in USE_FIELDS:
            if name in event["data"]:
                setattr(use, name, event["data"][name])
        use.status = STATUS_OF[kind]
        use.since = event["at"]
        use.index = event["index"]


def replay(recorded: Iterable[dict[str, Any]], *, until: datetime | None = None) -> LedgerState:
    """The state the events add up to; with ``until``, as it stood at that moment.

    For a past moment, only decisions made (``at``) by then count, in the order they were
    made, and grants whose expiry date had passed by then count as expired.
    """
    state = LedgerState()
    if until is None:
        for event in recorded:
            state.apply(event, strict=False)
        return state
    cutoff = events.format_time(until)
    chosen = sorted((e for e in recorded if e["at"] <= cutoff), key=lambda e: (e["at"], e["index"]))
    for event in chosen:
        state.apply(event, strict=False)
    day = until.date()
    for use in state.uses.values():
        if use.status_on(day) == EXPIRED:
            use.status = EXPIRED
    return state
