"""How guessing is slowed down: attempts counted per account, and Argon2 work rationed.

Two rules, one per resource an attacker can spend against the instance:

- **Guesses per account.** Every password or recovery-code attempt is first *reserved*: a
  row is written and committed, then the attempt counts the rows reserved before it. A
  few attempts are free; after them each one must wait twice as long as the one before,
  counted from the previous attempt (up to the window itself). Counting after writing
  makes the limit hold for parallel attempts too: of forty sent at once, each sees every
  other that committed before it counted, so no more than the free ones get through. A refused
  attempt takes its row back, so waiting out a delay is never made longer by knocking.

  The attempts of a browser that has logged in to the account before (it holds a device
  mark, see consent.keys.device_mark) are counted apart from everyone else's: whoever
  hammers an address from elsewhere slows down the strangers, never the owner's own
  browsers (OWASP's "device cookies").

- **Argon2 work per process.** Each Argon2 computation takes tens of MiB for a fraction of
  a second; a crowd of log-ins would take the process's memory with it. Only a few run at
  once; a request that finds no free slot within a moment is answered "busy, retry".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent.errors import Busy, InvalidCredentials, TooManyAttempts, WrongCode, WrongPassword, WrongRecoveryCode
from consent.models import FailedAttempt
from consent.services import transaction

#: The answers that mean "a wrong guess": the attempt's row stays, as a failure.
WRONG_GUESS = (InvalidCredentials, WrongPassword, WrongRecoveryCode, WrongCode)


@dataclass(frozen=True)
class Limits:
    #: Attempts per account (and per device) within the window before delays start.
    free: int = 10
    window: timedelta = timedelta(minutes=15)
    #: Argon2 computations this process runs at once, and how long a request waits for one.
    argon2_slots: int = 2
    argon2_wait: timedelta = timedelta(seconds=2)


def delay_after(earlier: int, limits: Limits) -> timedelta:
    """How long the attempt that follows ``earlier`` attempts waits after the last of them:
    nothing for the free ones, then 1 s, 2 s, 4 s... up to the window."""
    if earlier < limits.free:
        return timedelta(0)
    return min(timedelta(seconds=2.0 ** min(earlier - limits.free, 40)), limits.window)


@contextmanager
def attempt(s: Session, limits: Limits, key: bytes, now: datetime, *, forgive: bool = False) -> Iterator[None]:
    """Count one guess under ``key`` around the block that checks it.

    Raises TooManyAttempts (with ``retry_after``) before the block when this guess must
    wait. A wrong guess (WRONG_GUESS) leaves its row; success or any other error takes it
    back, and ``forgive`` (a device's own bucket) takes back the bucket's earlier failures.
    """
    reserved = _reserve(s, limits, key, now)
    try:
        yield
    except WRONG_GUESS:
        raise
    except BaseException:
        _release(s, reserved)
        raise
    if forgive:
        with transaction(s):
            s.execute(sa.delete(FailedAttempt).where(FailedAttempt.key == key))
    else:
        _release(s, reserved)


#: Rows older than this are of no use to any count (the longest window is a day's quota).
_KEPT = timedelta(days=1)


def _reserve(s: Session, limits: Limits, key: bytes, now: datetime) -> int:
    reserved = _write(s, key, now, keep=limits.window)
    # Committed before counting: of two attempts at once, at least the one that counts
    # last sees the other, so together they never pass a limit that one alone would meet.
    with transaction(s):
        earlier, last = s.execute(
            sa.select(sa.func.count(), sa.func.max(FailedAttempt.at)).where(
                FailedAttempt.key == key, FailedAttempt.id != reserved, FailedAttempt.at > now - limits.window
            )
        ).one()
    wait = delay_after(earlier, limits)
    if wait and last is not None and now < last + wait:
        _release(s, reserved)
        raise TooManyAttempts(f"{earlier} attempts within {limits.window}", retry_after=last + wait - now)
    return reserved


def _write(s: Session, key: bytes, now: datetime, *, keep: timedelta) -> int:
    with transaction(s):
        s.execute(sa.delete(FailedAttempt).where(FailedAttempt.at <= now - max(_KEPT, keep)))
        row = FailedAttempt(key=key, at=now)
        s.add(row)
        s.flush()
        return row.id


def spend(s: Session, key: bytes, *, allowed: int, per: timedelta, now: datetime) -> bool:
    """Take one from a quota of ``allowed`` per ``per`` (mails sent, say); False when none
    is left. Written before counted, like an attempt, so parallel requests cannot overdraw."""
    reserved = _write(s, key, now, keep=per)
    with transaction(s):
        used = s.scalar(
            sa.select(sa.func.count()).where(FailedAttempt.key == key, FailedAttempt.at > now - per)
        )
    if (used or 0) > allowed:
        _release(s, reserved)
        return False
    return True


def _release(s: Session, reserved: int) -> None:
    with transaction(s):
        s.execute(sa.delete(FailedAttempt).where(FailedAttempt.id == reserved))


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


@contextmanager
def argon2_slot(limits: Limits) -> Iterator[None]:
    """Hold one of this process's Argon2 slots for the block, or raise Busy."""
    with _slots_lock:
        slots = _slots.setdefault(limits.argon2_slots, threading.BoundedSemaphore(limits.argon2_slots))
    if not slots.acquire(timeout=limits.argon2_wait.total_seconds()):
        raise Busy(f"all {limits.argon2_slots} Argon2 slots stayed busy for {limits.argon2_wait}")
    try:
        yield
    finally:
        slots.release()
