"""Every test gets its own app and its own empty database, at the migrations' head.

The database is SQLite in a temporary folder, or, when CONSENT_TEST_DATABASE_URL is set,
a PostgreSQL schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import gzip
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import expect

from consent import create_app, db, migrate

# Browser expectations wait up to 20 s (Playwright's default is 5 s): a ceiling, not a speed
# check, since the tests share two cores with the other xdist worker and a decision signs.
expect.set_options(timeout=20_000)

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


#: PostgreSQL schemas of finished tests, dropped a batch at a time (one commit for many,
#: much cheaper than one each) and the rest when the run (or this xdist worker) ends.
_FINISHED_SCHEMAS: list[str] = []
_DROP_BATCH = 20
_admin: sa.Engine | None = None


def _admin_engine() -> sa.Engine:
    global _admin  # noqa: PLW0603 (one engine for the run, made on first use)
    if _admin is None:
        _admin = sa.create_engine(PG_URL)
    return _admin


def _drop_finished_schemas() -> None:
    if _FINISHED_SCHEMAS:
        with _admin_engine().begin() as conn:
            for schema in _FINISHED_SCHEMAS:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        _FINISHED_SCHEMAS.clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _admin is not None:
        _drop_finished_schemas()
        _admin.dispose()


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Gzip'd bytes are named by what they hold: their header holds the time they were made,
    and pytest-xdist refuses to start when its workers name a test differently."""
    if isinstance(val, bytes) and val.startswith(b"\x1f\x8b"):
        try:
            return f"gzip({gzip.decompress(val)!r})"
        except (OSError, EOFError):
            return None
    return None


def _schema_url(schema: str) -> str:
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"


@contextmanager
def _schema() -> Iterator[str]:
    """A PostgreSQL schema of its own (a random name, so parallel workers never share one),
    dropped afterwards."""
    schema = f"test_{secrets.token_hex(6)}"
    with _admin_engine().begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        _FINISHED_SCHEMAS.append(schema)
        if len(_FINISHED_SCHEMAS) >= _DROP_BATCH:
            _drop_finished_schemas()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own: a SQLite file in its temporary folder, or a
    PostgreSQL schema."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'consent.db'}"
        return
    with _schema() as url:
        yield url


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


class MigratedSchema:
    """The empty database as the migrations leave it, made once per test run (per pytest-xdist
    worker) and laid down for each test, which is much cheaper than migrating each time:
    on SQLite a copy of the migrated file, on PostgreSQL the statements the migrations ran,
    replayed in the test's own schema. The migrations themselves are tested in
    tests/test_migrations.py, which migrates its own databases."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: Path | None = None
        self._script: str | None = None

    def lay_down(self, database_url: str) -> None:
        """Bring the empty database at ``database_url`` to the migrations' head."""
        if database_url.startswith("sqlite:///"):
            target = Path(database_url.removeprefix("sqlite:///"))
            if target.exists():
                raise RuntimeError(f"{target} exists: the migrated schema goes into a new database only")
            shutil.copyfile(self._sqlite_template(), target)
            return
        schema = database_url.rsplit("search_path%3D", 1)[-1]
        if database_url != _schema_url(schema):
            raise RuntimeError(f"{database_url} is not a test schema of this run")
        with _admin_engine().begin() as conn:
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
            conn.exec_driver_sql(self._replay_script())  # one round trip for the whole schema

    def _sqlite_template(self) -> Path:
        if self._sqlite is None:
            path = self._folder / "migrated.db"
            app = create_app(test_settings(f"sqlite:///{path}"))
            with app.app_context():
                migrate.upgrade(db.engine())
                db.engine().dispose()  # closes the WAL: the file alone holds the schema
            self._sqlite = path
        return self._sqlite

    def _replay_script(self) -> str:
        """The statements the migrations ran on PostgreSQL, values filled in, as one script."""
        if self._script is None:
            import psycopg

            recorded: list[str] = []
            with _schema() as url:
                app = create_app(test_settings(url))
                with app.app_context():
                    engine = db.engine()

                    def record(
                        conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
                    ) -> None:
                        assert not many, "the migrations ran an executemany: replay it row by row"
                        bind = psycopg.ClientCursor(conn.connection.driver_connection)
                        recorded.append(bind.mogrify(statement, parameters) if parameters else statement)

                    sa.event.listen(engine, "before_cursor_execute", record)
                    migrate.upgrade(engine)
                    sa.event.remove(engine, "before_cursor_execute", record)
                    engine.dispose()
            self._script = ";\n".join(recorded)
        return self._script


@pytest.fixture(scope="session")
def migrated_schema(tmp_path_factory: pytest.TempPathFactory) -> MigratedSchema:
    return MigratedSchema(tmp_path_factory.mktemp("migrated"))


@pytest.fixture
def app(database_url: str, migrated_schema: MigratedSchema) -> Iterator[Flask]:
    migrated_schema.lay_down(database_url)
    app = create_app(test_settings(database_url))
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
