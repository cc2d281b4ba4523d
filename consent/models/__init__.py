"""Typed SQLAlchemy models. Importing this package registers every table on Base.metadata."""

from consent.models.accounts import Login, Profile, User
from consent.models.base import Base

__all__ = ["Base", "Login", "Profile", "User"]
