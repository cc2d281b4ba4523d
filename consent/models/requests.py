"""Requests sent to platforms, and the files of their answers (all sealed)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from consent.models.base import Base, Sealed


class Request(Base):
    """A letter sent to a platform and followed to its deadline. Everything about it
    (kind, dates, status, the letter's text, the answers) is in ``details``, sealed."""

    __tablename__ = "requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    details: Mapped[bytes] = mapped_column(Sealed())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RequestFile(Base):
    """A file the platform sent back (a copy of the data, a refusal letter...), sealed."""

    __tablename__ = "request_files"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    name: Mapped[bytes] = mapped_column(Sealed())
    content: Mapped[bytes] = mapped_column(Sealed())
    created_at: Mapped[datetime]
