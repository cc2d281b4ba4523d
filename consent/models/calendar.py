"""A person's calendar feed of due dates, readable through a secret, revocable URL."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from consent.models.base import Base


class CalendarFeed(Base):
    """The feed's own key opens its content (due dates only); that key is wrapped twice:
    under the URL's secret (for the calendar program) and under the person's data key
    (so the app can refresh the content while they are logged in). The URL alone, or the
    database alone, reads nothing; the two together read the due dates and no more."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lookup: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    key_by_token: Mapped[bytes] = mapped_column(sa.LargeBinary(80))
    key_by_dek: Mapped[bytes] = mapped_column(sa.LargeBinary(80))
    include_names: Mapped[bool] = mapped_column(default=False)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())
    updated_at: Mapped[datetime]
