"""Platforms and the uses of the person's data: every change is a ledger decision.

The details of a platform and every decision about a use are recorded in the ledger
(consent.services.ledger); what the person keeps to themselves about a platform (their
identifiers there, free notes) is stored beside it, sealed, and never enters the ledger.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent import vocabulary
from consent.directory.format import SLUG
from consent.directory.search import domain, fold
from consent.errors import DecisionError
from consent.ledger import events
from consent.ledger.state import (
    EXPIRED,
    GRANTED,
    PLATFORM_FIELDS,
    REFUSED,
    USE_FIELDS,
    WITHDRAWN,
    PlatformState,
    UseState,
)
from consent.models import Platform, Request, RequestFile, Use
from consent.services import integrity
from consent.services import ledger as ledger_service
from consent.services.accounts import ActiveLogin
from consent.services.ledger import LedgerWriter

#: "Expiring soon" on the dashboard.
EXPIRING_WITHIN = timedelta(days=30)
#: How long after a withdrawal the person may take it back with one click.
UNDO_WITHIN = timedelta(minutes=10)
#: The legal basis of a use that rests on a contract rather than on consent.
CONTRACT = vocabulary.GDPR + "A6-1-b"
_SERVICE_PROVISION = vocabulary.DPV + "ServiceProvision"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Removal:
    """What saving a platform's form would delete for good: identifiers and notes are the
    person's own, outside the ledger, so nothing could bring them back."""

    identifiers: tuple[Identifier, ...] = ()
    notes: bool = False

    def __bool__(self) -> bool:
        return bool(self.identifiers) or self.notes

    def fingerprint(self) -> str:
        """A short digest of what would be deleted: an agreement to delete is for exactly this."""
        text = json.dumps([[i.kind, i.value] for i in self.identifiers] + [self.notes], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def removal(view: PlatformView, identifiers: Sequence[Identifier], notes: str) -> Removal:
    """What saving ``identifiers`` and ``notes`` over ``view`` would delete."""
    kept = {i.value.strip() for i in identifiers if i.value.strip()}
    gone = tuple(i for i in view.identifiers if i.value.strip() and i.value.strip() not in kept)
    return Removal(gone, bool(view.notes.strip()) and not notes.strip())


def archive_platform(s: Session, login: ActiveLogin, platform_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """Put a platform away: it leaves the lists, its uses keep their status, a granted use
    can still be withdrawn, and ``unarchive_platform`` brings it back."""
    with integrity.personal_transaction(s, login):
        _own_platform(s, login, platform_id)
        LedgerWriter(s, login, now or _now()).record(events.PLATFORM_ARCHIVED, platform=platform_id)


def unarchive_platform(s: Session, login: ActiveLogin, platform_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """Bring an archived platform back (a ``platform.unarchived`` event)."""
    with integrity.personal_transaction(s, login):
        _own_platform(s, login, platform_id)
        LedgerWriter(s, login, now or _now()).record(events.PLATFORM_UNARCHIVED, platform=platform_id)


@dataclass(frozen=True)
class Erasure:
    """What erasing a platform removes: its uses, its requests (letters and answers), the
    files of those answers, and the payloads of its ledger events (their leaves stay)."""

    uses: int
    requests: int
    files: int
    events: int


def erasure(s: Session, login: ActiveLogin, platform_id: uuid.UUID) -> Erasure | None:
    """What ``erase_platform`` would remove now (None: no such platform of the person's)."""
    view = get_platform(s, login, platform_id)
    if view is None:
        return None
    requests = _requests_of(s, login, platform_id)
    files = _files_of(s, login, requests)
    about = sum(1 for e in ledger_service.iter_events(s, login) if e.get("platform") == view.id)
    return Erasure(len(view.uses), len(requests), len(files), about)


def erase_platform(s: Session, login: ActiveLogin, platform_id: uuid.UUID, *, now: datetime | None = None) -> Erasure:
    """Erase everything the app holds about one platform (GDPR Art. 17 applied to oneself):
    the platform, its uses, its requests and their files, and the payloads of its ledger
    events, redacted by a signed ``platform.erased`` event that names them. The tree keeps
    every leaf, so every checkpoint still verifies. DecisionError("unknown") if the
    platform is not the person's; the caller has had the person confirm (password)."""
    with integrity.personal_transaction(s, login):
        platform = _own_platform(s, login, platform_id)
        uses = list(s.scalars(sa.select(Use).where(Use.platform_id == platform_id, Use.user_id == login.user.id)))
        requests = _requests_of(s, login, platform_id)
        files = _files_of(s, login, requests)
        event = LedgerWriter(s, login, now or _now()).erase_platform(platform_id)
        # Children first, a flush each: the rows have no ORM relationships to order them by,
        # and each deletion must reach the personal transaction's record (its manifest).
        for rows in (files, requests, uses, [platform]):
            for row in rows:
                s.delete(row)
            s.flush()
    return Erasure(len(uses), len(requests), len(files), len(event["data"]["redacted"]))


def _requests_of(s: Session, login: ActiveLogin, platform_id: uuid.UUID) -> list[Request]:
    return list(
        s.scalars(sa.select(Request).where(Request.platform_id == platform_id, Request.user_id == login.user.id))
    )


def _files_of(s: Session, login: ActiveLogin, requests: Sequence[Request]) -> list[RequestFile]:
    if not requests:
        return []
    return list(
        s.scalars(
            sa.select(RequestFile).where(
                RequestFile.request_id.in_([r.id for r in requests]), RequestFile.user_id == login.user.id
            )
        )
    )


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
    no_end: bool = False,
    at: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Grant, refuse, withdraw or renew an existing use; returns the recorded event.

    A renewal states its new end: ``expires``, or ``no_end`` for none. Without either it is
    refused, so that renewing never silently turns a consent with an end into one without.
    """
    if action not in _ACTIONS:
        raise DecisionError("unknown", f"expected one of {ACTIONS}, got {action!r}")
    now = now or _now()
    with integrity.personal_transaction(s, login):
        row = s.scalar(sa.select(Use).where(Use.id == use_id, Use.user_id == login.user.id))
        if row is None:
            raise DecisionError("unknown", "no such use")
        current = UseState(**json.loads(login.vault.read_bytes(row, "state")))
        if action == "renew" and current.status in (GRANTED, EXPIRED):  # otherwise the state refuses it
            if expires is None and not no_end:
                raise DecisionError("no_expiry", "expected a new end date, or no end, for a renewal")
            if expires is not None and expires < now.date():
                raise DecisionError("expiry_past", f"expected a new end date from {now.date()} on, got {expires}")
        # A withdrawal or refusal names what it is about, so the event reads on its own.
        data: dict[str, Any] = {"purpose": current.purpose, "label": current.label}
        # A renewal states its new end; so does a new grant (none unless given), rather
        # than silently inheriting the end of the consent it follows.
        if action in ("renew", "grant"):
            data["expires"] = expires.isoformat() if expires else None
        writer = LedgerWriter(s, login, now)
        if current.status == GRANTED and current.status_on(now.date()) == EXPIRED:
            # The grant lapsed without its expiry being recorded yet: record that first.
            lapse = {"purpose": current.purpose, "label": current.label}
            writer.record(
                events.USE_EXPIRED, platform=row.platform_id, use=use_id, data=lapse, at=_expiry_moment(current)
            )
        return writer.record(_ACTIONS[action], platform=row.platform_id, use=use_id, data=data, at=at)


def undo_withdrawal(
    s: Session, login: ActiveLogin, use_id: uuid.UUID, index: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Take back the withdrawal recorded as event ``index``, shortly after: the use is
    granted again on the same terms, by a new ``use.granted`` event whose ``data.undoes``
    names the withdrawal (the ledger keeps both). Only the person's latest decision on the
    use, and only within UNDO_WITHIN of its recording."""
    now = now or _now()
    with integrity.personal_transaction(s, login):
        row = s.scalar(sa.select(Use).where(Use.id == use_id, Use.user_id == login.user.id))
        if row is None:
            raise DecisionError("unknown", "no such use")
        current = UseState(**json.loads(login.vault.read_bytes(row, "state")))
        withdrawal = ledger_service.get_event(s, login, index)
        if withdrawal is None or withdrawal.get("use") != str(use_id) or withdrawal["type"] != events.USE_WITHDRAWN:
            raise DecisionError("undo_unknown", f"expected the index of a withdrawal of this use, got {index}")
        if current.index != index:
            raise DecisionError("undo_not_latest", f"expected the latest decision on this use, {current.index}")
        if now - events.parse_time(withdrawal["recorded"]) > UNDO_WITHIN:
            raise DecisionError("undo_too_late", f"a withdrawal can be undone within {UNDO_WITHIN}")
        data: dict[str, Any] = {"purpose": current.purpose, "label": current.label, "undoes": index}
        if current.expires:
            data["expires"] = current.expires
        return LedgerWriter(s, login, now).record(events.USE_GRANTED, platform=row.platform_id, use=use_id, data=data)


def undoable(s: Session, login: ActiveLogin, view: PlatformView, *, now: datetime | None = None) -> dict[str, int]:
    """The uses of ``view`` whose latest decision is a withdrawal that can still be undone,
    with that withdrawal's index."""
    now = now or _now()
    offers: dict[str, int] = {}
    if view.state.archived:
        return offers  # an undo would grant again, which an archived platform does not take
    for use in view.uses:
        if use.status != WITHDRAWN or use.index < 0:
            continue
        event = ledger_service.get_event(s, login, use.index)
        if event is not None and now - events.parse_time(event["recorded"]) <= UNDO_WITHIN:
            offers[use.id] = use.index
    return offers


def rests_on_contract(use: UseState) -> bool:
    """Whether a use rests on a contract (GDPR Art. 6(1)(b)) rather than on consent: its
    legal basis says so, or it is providing the service itself and no basis was given.
    Such a use is not withdrawn like a consent; it ends with the contract."""
    return use.legal_basis == CONTRACT or (use.purpose == _SERVICE_PROVISION and not use.legal_basis)


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


#: The filters on the state of uses: a platform matches when one of its uses does.
USE_FILTERS = (GRANTED, WITHDRAWN, REFUSED, EXPIRED, "expiring")
#: Which platforms a search looks at.
SHOWN = ("current", "archived", "all")


@dataclass(frozen=True)
class PlatformFilter:
    """What the person looks for on the platforms page; empty values filter nothing."""

    query: str = ""
    uses: str = ""
    category: str = ""
    shown: str = "current"

    def __post_init__(self) -> None:
        if self.uses and self.uses not in USE_FILTERS:
            raise ValueError(f"uses: expected one of {USE_FILTERS}, got {self.uses!r}")
        if self.shown not in SHOWN:
            raise ValueError(f"shown: expected one of {SHOWN}, got {self.shown!r}")

    @property
    def narrows(self) -> bool:
        """Whether it hides anything beyond the usual (current platforms)."""
        return bool(self.query.strip() or self.uses or self.category)


def find_platforms(s: Session, login: ActiveLogin, wanted: PlatformFilter, *, today: date) -> list[PlatformView]:
    """The person's platforms that match ``wanted``, sorted by name. The values are sealed,
    so the search runs here, over the opened values: name, website and e-mail domains,
    e-mail, and the person's identifiers there."""
    archived = {"current": False, "archived": True, "all": None}[wanted.shown]
    query = fold(wanted.query)
    return [
        view
        for view in list_platforms(s, login, archived=archived)
        if (not query or query in _search_text(view))
        and (not wanted.category or wanted.category in view.state.categories)
        and (not wanted.uses or _has_uses(view, wanted.uses, today))
    ]


def _search_text(view: PlatformView) -> str:
    state = view.state
    parts = [state.name, state.email, domain(state.website) if state.website else "", state.website]
    parts += [identifier.value for identifier in view.identifiers]
    return "\n".join(fold(part) for part in parts if part)


def _has_uses(view: PlatformView, wanted: str, today: date) -> bool:
    if wanted == "expiring":
        return bool(view.expiring(today))
    return bool(view.uses_with(wanted, today))


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
