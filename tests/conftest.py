"""Every test gets its own app and its own empty database, migrated to head.

The database is SQLite in a temporary folder, or, when CONSENT_TEST_DATABASE_URL is set,
a PostgreSQL schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consent import create_app, db, migrate

PG_URL = os.environ.get("CONSENT_TEST_DATABASE_URL", "")
#: Real-world test data beside the checkout (../shared/data); CI has it, a user's clone may not.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data: skipped with a reason where it is absent, an error in CI."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: these tests read the real-world data kept beside the project"
        if os.environ.get("CONSENT_REQUIRE_SHARED"):
            pytest.fail(message + " (CONSENT_REQUIRE_SHARED is set, as in CI)")
        pytest.skip(message)
    return path


def shared_files(*parts: str, pattern: str = "*.json") -> list[str]:
    """Names of the files under ../shared/data for parametrising (one placeholder if absent)."""
    folder = SHARED.joinpath(*parts)
    if not folder.is_dir():
        return ["<absent>"]
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(pattern))


PASSWORD = "plum orchard lantern 42"
NEW_PASSWORD = "quiet harbour violin 77"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'consent.db'}"
        return
    schema = f"test_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_settings(database_url: str, **overrides: Any) -> dict[str, Any]:
    settings = {
        "TESTING": True,
        "SECRET_KEY": secrets.token_hex(32),
        "EMAIL_LOOKUP_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        # Argon2id at its cheapest: the tests exercise the code path, not the cost.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 64,
        "ARGON2_PARALLELISM": 1,
    }
    settings.update(overrides)
    return settings


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(test_settings(database_url))
    with app.app_context():
        migrate.upgrade(db.engine())
    yield app
    with app.app_context():
        db.engine().dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_CSRF = re.compile(r'name="(?:[\w-]+-)?csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form at ``path``, read from the page as a browser would."""
    page = client.get(path)
    assert page.status_code == 200, f"GET {path}: expected 200, got {page.status_code}"
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


class Auth:
    """Account actions through the real forms, CSRF token included."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(self, form_path: str, data: dict[str, Any], action: str | None = None, prefix: str = ""):  # type: ignore[no-untyped-def]
        token = csrf_token(self.client, form_path)
        field = f"{prefix}-csrf_token" if prefix else "csrf_token"
        return self.client.post(action or form_path, data={field: token, **data})

    def register(self, email: str = "ada@example.org", password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return self.post("/register", {"email": email, "password": password, "confirm": password})

    def login(self, email: str = "ada@example.org", password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return self.post("/login", {"email": email, "password": password})

    def logout(self):  # type: ignore[no-untyped-def]
        return self.post("/dashboard", {}, action="/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


def recovery_code_from(html: str) -> str:
    match = re.search(r'id="recovery-code"[^>]*>([0-9A-Z-]+)<', html)
    assert match, "the page shows no recovery code"
    return match.group(1)


def count_rows(app: Flask) -> dict[str, int]:
    """Rows per table, every table of the schema."""
    from consent.models import Base

    with app.app_context(), db.engine().connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }


@pytest.fixture
def person(auth):
    """A registered person with the profile every letter needs (a name, an address in Paris)."""
    auth.register()
    auth.post(
        "/profile", {"full_name": "Zoë Dupré", "postal_address": "12 rue de la Paix\n75002 Paris", "country": "FR"}
    )
    return auth
