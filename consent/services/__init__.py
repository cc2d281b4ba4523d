"""Use-cases: plain arguments in, one transaction, a domain error out. No Flask here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


@contextmanager
def transaction(s: Session) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back on any error."""
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
