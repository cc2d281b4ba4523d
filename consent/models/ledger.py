"""The ledger as stored: entries (sealed events and their leaf hashes), every checkpoint,
the head (tree size and frontier), and the projection of its state (platforms, uses)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent.models.accounts import User
from consent.models.base import Base, Sealed


class LedgerHead(Base):
    """Where a person's tree stands. Updating this row first is what serialises appends."""

    __tablename__ = "ledger_heads"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    size: Mapped[int] = mapped_column(default=0)
    #: consent.ledger.merkle.Frontier.to_bytes(): one 32-byte hash per set bit of size.
    frontier: Mapped[bytes] = mapped_column(sa.LargeBinary(), default=b"")
    #: What the app last wrote for the person, sealed (consent.services.integrity.Manifest);
    #: None only for an account made before it existed, until it is adopted.
    manifest: Mapped[bytes | None] = mapped_column(Sealed())

    user: Mapped[User] = relationship()


class LedgerEntry(Base):
    """One event: its leaf hash in the clear, so the server can check the tree without
    reading it; the event itself sealed under the person's data key."""

    __tablename__ = "ledger_entries"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(primary_key=True)
    leaf_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    #: None once the person erased the platform it is about: the leaf stays, so the tree
    #: and every checkpoint still verify, and a signed ``platform.erased`` event later in
    #: the ledger names this index (without one, a missing payload is tampering).
    event: Mapped[bytes | None] = mapped_column(Sealed())


class LedgerCheckpoint(Base):
    """A signed checkpoint (C2SP signed note), kept for every tree size."""

    __tablename__ = "ledger_checkpoints"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    size: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str] = mapped_column(sa.Text())


class Platform(Base):
    """A company that holds the person's data: the ledger's view of it (``details``) and
    what the person keeps to themselves (identifiers there, notes), both sealed."""

    __tablename__ = "platforms"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    details: Mapped[bytes] = mapped_column(Sealed())
    private: Mapped[bytes | None] = mapped_column(Sealed())
    updated_at: Mapped[datetime]


class Use(Base):
    """One use of the person's data by a platform, and where it stands (sealed)."""

    __tablename__ = "uses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    state: Mapped[bytes] = mapped_column(Sealed())
    updated_at: Mapped[datetime]
