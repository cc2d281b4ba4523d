"""Accounts, their profile (the identity used in letters) and their logins."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent.models.base import Base, Sealed


class User(Base):
    """A person with an account. Nothing here reveals who they are without their key."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    #: Keyed blind index of the e-mail (consent.keys.email_lookup): finds the account at
    #: login without the database holding the address.
    email_lookup: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    email: Mapped[bytes] = mapped_column(Sealed())
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    #: The data key wrapped under the password's Argon2id key, with that key's salt and cost.
    password_salt: Mapped[bytes] = mapped_column(sa.LargeBinary(16))
    password_kdf: Mapped[str] = mapped_column(sa.String(40))
    dek_by_password: Mapped[bytes] = mapped_column(sa.LargeBinary(80))
    #: The data key wrapped under the recovery code's key.
    recovery_salt: Mapped[bytes] = mapped_column(sa.LargeBinary(16))
    dek_by_recovery: Mapped[bytes] = mapped_column(sa.LargeBinary(80))
    #: Ed25519: the public half in the clear (anyone may verify), the private half sealed.
    signing_public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    signing_private_key: Mapped[bytes] = mapped_column(Sealed())
    #: Interface language chosen by the person; None follows the browser.
    language: Mapped[str | None] = mapped_column(sa.String(8))
    #: The IANA time zone the person chose for the times shown (None follows the browser),
    #: sealed: it says roughly where they live (consent.web.times).
    time_zone: Mapped[bytes | None] = mapped_column(Sealed())
    created_at: Mapped[datetime]

    profile: Mapped[Profile | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    logins: Mapped[list[Login]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Profile(Base):
    """The identity a person puts in their letters. Every field is sealed."""

    __tablename__ = "profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    full_name: Mapped[bytes | None] = mapped_column(Sealed())
    postal_address: Mapped[bytes | None] = mapped_column(Sealed())
    correspondence_email: Mapped[bytes | None] = mapped_column(Sealed())
    date_of_birth: Mapped[bytes | None] = mapped_column(Sealed())
    phone: Mapped[bytes | None] = mapped_column(Sealed())
    country: Mapped[bytes | None] = mapped_column(Sealed())
    #: The supervisory authority the person complains to (an id from consent/data/authorities.json).
    authority: Mapped[bytes | None] = mapped_column(Sealed())
    updated_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="profile")

    #: The fields a person fills in, in the order the form shows them.
    FIELDS = ("full_name", "postal_address", "correspondence_email", "date_of_birth", "phone", "country", "authority")


class Login(Base):
    """A logged-in browser. Ending it (logout, expiry, password change) deletes the row,
    and with it the only wrapped copy of the data key that its cookie could open."""

    __tablename__ = "logins"

    #: SHA-256 of the token held in the cookie (consent.keys.login_lookup).
    lookup: Mapped[bytes] = mapped_column(sa.LargeBinary(32), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: The data key wrapped under a key derived from the cookie's token.
    wrapped_dek: Mapped[bytes] = mapped_column(sa.LargeBinary(80))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    #: Password given, second factor not yet: such a login opens only the second step.
    pending: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Wrong second-factor codes given in this login; five end it.
    factor_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    #: When this login last confirmed a second factor (sensitive changes ask for a recent one).
    factor_confirmed_at: Mapped[datetime | None]
    #: What the person sees on their logins page ("Firefox on Linux"), sealed.
    device: Mapped[bytes | None] = mapped_column(Sealed())

    user: Mapped[User] = relationship(back_populates="logins")


class SecondFactor(Base):
    """A second factor: an authenticator app (TOTP) or a passkey. Its name and secret are
    sealed under the person's data key: a database thief reads neither."""

    __tablename__ = "second_factors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: "totp" (an authenticator app) or "passkey" (WebAuthn).
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[bytes] = mapped_column(Sealed())
    #: JSON: for TOTP, the shared secret and the last time step accepted (no replay); for a
    #: passkey, its credential id, public key and signature counter.
    secret: Mapped[bytes] = mapped_column(Sealed())
    created_at: Mapped[datetime]


class FailedAttempt(Base):
    """A failed log-in or recovery attempt, counted to slow down password guessing.

    ``key`` is consent.keys.attempts_key(): one per kind of attempt and typed address,
    whether or not an account has that address (so throttling reveals nothing either).
    """

    __tablename__ = "failed_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[bytes] = mapped_column(sa.LargeBinary(32), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
