"""What the dashboard shows first: the things that need the person, most urgent first.

Read-only: it opens the person's requests, platforms and the directory entries their
platforms were filled from, and changes nothing. Every value comes from the services that
check it against the ledger and the person's key (requests.list_requests,
platforms.list_platforms, directory.updates_for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from consent.ledger.state import UseState
from consent.services import directory, platforms, profiles, requests
from consent.services.accounts import ActiveLogin
from consent.services.platforms import PlatformView
from consent.services.requests import RequestView

#: The order of the list "what needs doing": a deadline passed, then one close, then an
#: answer to read, a consent about to lapse, a letter not sent, newer directory details.
ORDER = ("overdue", "due_soon", "answered", "expiring", "draft", "directory")


@dataclass(frozen=True)
class Todo:
    """One thing to do: why (one of ORDER), and the request, or the platform (and use)."""

    reason: str
    request: RequestView | None = None
    platform: PlatformView | None = None
    use: UseState | None = None
    #: The day that makes it urgent: a request's deadline, a consent's end.
    on: date | None = None


@dataclass
class Overview:
    today: date
    profile_complete: bool
    platforms: list[PlatformView]
    todo: list[Todo] = field(default_factory=list)

    def count(self, reason: str) -> int:
        return sum(1 for item in self.todo if item.reason == reason)


def _sort_key(item: Todo) -> tuple[int, date, str]:
    name = item.request.platform_name if item.request else item.platform.state.name if item.platform else ""
    return ORDER.index(item.reason), item.on or date.max, name.casefold()


def overview(s: Session, login: ActiveLogin, *, now: datetime | None = None) -> Overview:
    """The person's dashboard as of ``now``: their current platforms, and what needs doing."""
    today = (now or datetime.now(UTC)).date()
    profile = profiles.read_profile(s, login)
    current = platforms.list_platforms(s, login)
    todo: list[Todo] = []
    for item in requests.list_requests(s, login):
        reason = item.needs_action(today)
        if reason is not None:
            todo.append(Todo(reason, request=item, on=item.due if reason in ("overdue", "due_soon") else None))
    for view in current:
        todo += [
            Todo("expiring", platform=view, use=use, on=date.fromisoformat(use.expires) if use.expires else None)
            for use in view.expiring(today)
        ]
        if view.state.directory:
            _entry, updates = directory.updates_for(s, view.state.directory, view.state.to_json())
            if updates:
                todo.append(Todo("directory", platform=view))
    return Overview(
        today=today,
        profile_complete=bool(profile["full_name"] and profile["postal_address"]),
        platforms=current,
        todo=sorted(todo, key=_sort_key),
    )
