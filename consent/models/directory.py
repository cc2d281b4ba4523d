"""The public directory, shared by every account of an instance (public data, in the clear)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from consent.models.base import Base


class DirectoryController(Base):
    """A company (controller) as the datarequests.org directory describes it."""

    __tablename__ = "directory_controllers"

    slug: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    #: The record as imported (the format's own field names), for everything shown.
    record: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    #: Lower-case, accent-free name, services and web domains, one per line: what search reads.
    search_text: Mapped[str] = mapped_column(sa.Text())
    #: SHA-256 of the record's canonical JSON: a second import of the same data changes nothing.
    digest: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime]


class DirectoryAuthority(Base):
    """A supervisory authority from an imported directory (the app ships its own list too)."""

    __tablename__ = "directory_authorities"

    slug: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    record: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    digest: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime]


class DirectoryRedirect(Base):
    """A retired record: where links to it should now lead, if anywhere."""

    __tablename__ = "directory_redirects"

    slug: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    reason: Mapped[str] = mapped_column(sa.String(40))
    redirect_to: Mapped[str | None] = mapped_column(sa.String(200))
    digest: Mapped[str] = mapped_column(sa.String(64))


class DirectoryPack(Base):
    """A group of companies to write to together (e.g. every credit agency of a country)."""

    __tablename__ = "directory_packs"

    #: "<file>/<pack slug>", e.g. "de/credit-agencies": packs are per country file.
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    companies: Mapped[list[str]] = mapped_column(sa.JSON())
    digest: Mapped[str] = mapped_column(sa.String(64))
