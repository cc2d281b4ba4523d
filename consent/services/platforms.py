"""Platforms and the uses of the person's data: every change is a ledger decision.

The details of a platform and every decision about a use are recorded in the ledger
(consent.services.ledger); what the person keeps to themselves about a platform (their
identifiers there, free notes) is stored beside it, sealed, and never enters the ledger.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent.directory.format import SLUG
from consent.errors import DecisionError
from consent.ledger import events
from consent.ledger.state import EXPIRED, GRANTED, PLATFORM_FIELDS, USE_FIELDS, PlatformState, UseState
from consent.models import Platform, Use
from consent.services import integrity
from consent.services.accounts import ActiveLogin
from consent.services.ledger import LedgerWriter

#: "Expiring soon" on the dashboard.
EXPIRING_WITHIN = timedelta(days=30)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Identifier:
    kind: str
    value: str


@dataclass
class PlatformView:
    """A platform as the person sees it: its ledger details, their private notes, its uses."""

    state: PlatformState
    identifiers: list[Identifier] = field(default_factory=list)
    notes: str = ""
    uses: list[UseState] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.state.id

    def uses_with(self, status: str, on: date) -> list[UseState]:
        return [u for u in self.uses if u.status_on(on) == status]

    def expiring(self, on: date) -> list[UseState]:
        limit = on + EXPIRING_WITHIN
        return [
            u for u in self.uses if u.status_on(on) == GRANTED and u.expires and date.fromisoformat(u.expires) <= limit
        ]


def _clean_platform(details: dict[str, Any]) -> dict[str, Any]:
    unknown = set(details) - set(PLATFORM_FIELDS)
    if unknown:
        raise ValueError(f"expected platform fields {PLATFORM_FIELDS}, got {sorted(unknown)}")
    clean: dict[str, Any] = {
        name: (details.get(name) or "").strip() for name in PLATFORM_FIELDS if name != "categories"
    }
    clean["categories"] = sorted(set(details.get("categories") or []))
    if not clean["name"]:
        raise DecisionError("no_name", "a platform needs a name")
    if clean["directory"] and not SLUG.match(clean["directory"]):
        raise ValueError(f"directory: expected a slug, got {clean['directory']!r}")
    if not clean["directory"]:
        del clean["directory"]  # most platforms have none: keep their events short
    return clean


def _write_private(login: ActiveLogin, row: Platform, identifiers: Sequence[Identifier], notes: str) -> None:
    payload = {"identifiers": [i.__dict__ for i in identifiers if i.value.strip()], "notes": notes.strip()}
    login.vault.write_bytes(row, "private", json.dumps(payload, ensure_ascii=False).encode())


def add_platform(
    s: Session,
    login: ActiveLogin,
    details: dict[str, Any],
    *,
    identifiers: Sequence[Identifier] = (),
    notes: str = "",
    now: datetime | None = None,
) -> uuid.UUID:
    now = now or _now()
    data = _clean_platform(details)
    platform_id = uuid.uuid4()
    with integrity.personal_transaction(s, login):
        LedgerWriter(s, login, now).record(events.PLATFORM_ADDED, platform=platform_id, data=data)
        row = s.get(Platform, platform_id)
        assert row is not None  # noqa: S101 - written by record() a line above
        _write_private(login, row, identifiers, notes)
    return platform_id


def add_many(s: Session, login: ActiveLogin, details: Sequence[dict[str, Any]], *, now: datetime | None = None) -> int:
    """Add several platforms in one step (one transaction, one ledger event each)."""
    cleaned = [_clean_platform(item) for item in details]
    if not cleaned:
        return 0
    with integrity.personal_transaction(s, login):
        writer = LedgerWriter(s, login, now or _now())
        for data in cleaned:
            writer.record(events.PLATFORM_ADDED, platform=uuid.uuid4(), data=data)
    return len(cleaned)


def edit_platform(
    s: Session,
    login: ActiveLogin,
    platform_id: uuid.UUID,
    details: dict[str, Any],
    *,
    identifiers: Sequence[Identifier],
    notes: str,
    now: datetime | None = None,
) -> None:
    """Record changed details (only when something changed) and save the private part."""
    now = now or _now()
    data = _clean_platform(details)
    with integrity.personal_transaction(s, login):
        row = _own_platform(s, login, platform_id)
        current = json.loads(login.vault.read_bytes(row, "details"))
        changed = {name: value for name, value in data.items() if current.get(name) != value}
        if changed:
            LedgerWriter(s, login, now).record(events.PLATFORM_CHANGED, platform=platform_id, data=changed)
        _write_private(login, row, identifiers, notes)


def archive_platform(s: Session, login: ActiveLogin, platform_id: uuid.UUID, *, now: datetime | None = None) -> None:
    with integrity.personal_transaction(s, login):
        _own_platform(s, login, platform_id)
        LedgerWriter(s, login, now or _now()).record(events.PLATFORM_ARCHIVED, platform=platform_id)


def _own_platform(s: Session, login: ActiveLogin, platform_id: uuid.UUID) -> Platform:
    row = s.scalar(sa.select(Platform).where(Platform.id == platform_id, Platform.user_id == login.user.id))
    if row is None:
        raise DecisionError("unknown", "no such platform")
    return row


def new_use(
    s: Session,
    login: ActiveLogin,
    platform_id: uuid.UUID,
    *,
    granted: bool,
    use: dict[str, Any],
    at: datetime | None = None,
    now: datetime | None = None,
) -> uuid.UUID:
    """A new use of the person's data, granted or refused from the start."""
    unknown = set(use) - set(USE_FIELDS)
    if unknown:
        raise ValueError(f"expected use fields {USE_FIELDS}, got {sorted(unknown)}")
    data = {name: value for name, value in use.items() if value not in (None, "")}
    if not data.get("purpose") or not data.get("label"):
        raise DecisionError("no_purpose", "a use needs a purpose")
    use_id = uuid.uuid4()
    kind = events.USE_GRANTED if granted else events.USE_REFUSED
    with integrity.personal_transaction(s, login):
        _own_platform(s, login, platform_id)
        LedgerWriter(s, login, now or _now()).record(kind, platform=platform_id, use=use_id, data=data, at=at)
    return use_id


_ACTIONS = {
    "grant": events.USE_GRANTED,
    "refuse": events.USE_REFUSED,
    "withdraw": events.USE_WITHDRAWN,
    "renew": events.USE_RENEWED,
}
ACTIONS = tuple(_ACTIONS)


def decide(
    s: Session,
    login: ActiveLogin,
    use_id: uuid.UUID,
    action: str,
    *,
    expires: date | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Grant, refuse, withdraw or renew an existing use; returns the recorded event."""
    if action not in _ACTIONS:
        raise DecisionError("unknown", f"expected one of {ACTIONS}, got {action!r}")
    now = now or _now()
    with integrity.personal_transaction(s, login):
        row = s.scalar(sa.select(Use).where(Use.id == use_id, Use.user_id == login.user.id))
        if row is None:
            raise DecisionError("unknown", "no such use")
        current = UseState(**json.loads(login.vault.read_bytes(row, "state")))
        # A withdrawal or refusal names what it is about, so the event reads on its own.
        data: dict[str, Any] = {"purpose": current.purpose, "label": current.label}
        if action == "renew" or (action == "grant" and expires is not None):
            data["expires"] = expires.isoformat() if expires else None
        writer = LedgerWriter(s, login, now)
        if current.status == GRANTED and current.status_on(now.date()) == EXPIRED:
            # The grant lapsed without its expiry being recorded yet: record that first.
            lapse = {"purpose": current.purpose, "label": current.label}
            writer.record(
                events.USE_EXPIRED, platform=row.platform_id, use=use_id, data=lapse, at=_expiry_moment(current)
            )
        return writer.record(_ACTIONS[action], platform=row.platform_id, use=use_id, data=data, at=at)


def _expiry_moment(use: UseState) -> datetime:
    """A grant valid through its expiry date lapses at the start of the next day (UTC)."""
    assert use.expires is not None  # noqa: S101 - only called for uses with an expiry date
    return datetime.combine(date.fromisoformat(use.expires) + timedelta(days=1), time(), tzinfo=UTC)


def record_expiries(s: Session, login: ActiveLogin, *, now: datetime | None = None) -> int:
    """Record in the ledger every grant whose expiry date has passed; returns how many."""
    now = now or _now()
    if not _lapsed(s, login, now):
        return 0  # the usual case, at each login: no write at all
    with integrity.personal_transaction(s, login):
        lapsed = _lapsed(s, login, now)  # again, under the lock, from what the check saw
        writer = LedgerWriter(s, login, now)
        for row, use in lapsed:
            data = {"purpose": use.purpose, "label": use.label}
            writer.record(events.USE_EXPIRED, platform=row.platform_id, use=row.id, data=data, at=_expiry_moment(use))
    return len(lapsed)


def _lapsed(s: Session, login: ActiveLogin, now: datetime) -> list[tuple[Use, UseState]]:
    integrity.check(s, login)
    return [
        (row, use)
        for row in s.scalars(sa.select(Use).where(Use.user_id == login.user.id))
        if (use := UseState(**json.loads(login.vault.read_bytes(row, "state")))).status == GRANTED
        and use.status_on(now.date()) == EXPIRED
    ]


def list_platforms(s: Session, login: ActiveLogin, *, archived: bool | None = False) -> list[PlatformView]:
    """The person's platforms with their uses, sorted by name: the current ones, the
    archived ones, or (``archived=None``) all."""
    integrity.check(s, login)
    views: dict[uuid.UUID, PlatformView] = {}
    for row in s.scalars(sa.select(Platform).where(Platform.user_id == login.user.id)):
        view = _view(login, row)
        if archived is None or view.state.archived == archived:
            views[row.id] = view
    for use_row in s.scalars(sa.select(Use).where(Use.user_id == login.user.id)):
        if use_row.platform_id in views:
            views[use_row.platform_id].uses.append(UseState(**json.loads(login.vault.read_bytes(use_row, "state"))))
    for view in views.values():
        view.uses.sort(key=lambda u: u.label.casefold())
    return sorted(views.values(), key=lambda v: v.state.name.casefold())


def get_platform(s: Session, login: ActiveLogin, platform_id: uuid.UUID) -> PlatformView | None:
    integrity.check(s, login)
    row = s.scalar(sa.select(Platform).where(Platform.id == platform_id, Platform.user_id == login.user.id))
    if row is None:
        return None
    view = _view(login, row)
    for use_row in s.scalars(sa.select(Use).where(Use.platform_id == platform_id, Use.user_id == login.user.id)):
        view.uses.append(UseState(**json.loads(login.vault.read_bytes(use_row, "state"))))
    view.uses.sort(key=lambda u: u.label.casefold())
    return view


def _view(login: ActiveLogin, row: Platform) -> PlatformView:
    view = PlatformView(PlatformState(**json.loads(login.vault.read_bytes(row, "details"))))
    if row.private is not None:
        private = json.loads(login.vault.read_bytes(row, "private"))
        view.identifiers = [Identifier(**i) for i in private.get("identifiers", [])]
        view.notes = private.get("notes", "")
    return view
