"""Typed SQLAlchemy models. Importing this package registers every table on Base.metadata."""

from consent.models.accounts import FailedAttempt, Login, Profile, SecondFactor, User
from consent.models.base import Base
from consent.models.calendar import CalendarFeed
from consent.models.directory import DirectoryAuthority, DirectoryController, DirectoryPack, DirectoryRedirect
from consent.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerHead, Platform, Use
from consent.models.requests import Request, RequestFile

__all__ = [
    "Base",
    "CalendarFeed",
    "DirectoryAuthority",
    "DirectoryController",
    "DirectoryPack",
    "DirectoryRedirect",
    "FailedAttempt",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "Login",
    "Platform",
    "Profile",
    "Request",
    "RequestFile",
    "SecondFactor",
    "Use",
    "User",
]
