"""Consent manager: a person's platforms, consents, signed ledger and GDPR letters.

``create_app`` is imported on first use, so that the pure domain modules (keys, ledger,
letters, deadlines) can be imported, and a ledger verified, without loading Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consent.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from consent.app import create_app

        return create_app
    raise AttributeError(f"module 'consent' has no attribute {name!r}")
