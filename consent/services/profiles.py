"""The identity a person uses in their letters, read and written through their data key."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from consent.models import Profile
from consent.services import integrity
from consent.services.accounts import ActiveLogin


def read_profile(s: Session, login: ActiveLogin) -> dict[str, str | None]:
    integrity.check(s, login)
    profile = s.get(Profile, login.user.id)
    if profile is None:
        return dict.fromkeys(Profile.FIELDS)
    return {name: login.vault.read(profile, name) for name in Profile.FIELDS}


def update_profile(s: Session, login: ActiveLogin, values: dict[str, str | None]) -> None:
    """Replace the profile with ``values`` (blank fields become empty)."""
    unknown = set(values) - set(Profile.FIELDS)
    if unknown:
        raise ValueError(f"expected profile fields {Profile.FIELDS}, got {sorted(unknown)}")
    with integrity.personal_transaction(s, login):
        profile = s.get(Profile, login.user.id)
        if profile is None:
            profile = Profile(user_id=login.user.id)
            s.add(profile)
        for name in Profile.FIELDS:
            value = (values.get(name) or "").strip()
            login.vault.write(profile, name, value or None)
        profile.updated_at = datetime.now(UTC)
