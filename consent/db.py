"""The database: one engine per app, one SQLAlchemy session per request.

Plain SQLAlchemy 2 (not Flask-SQLAlchemy), so services and scripts use the same sessions
outside a request. SQLite gets foreign keys, WAL and synchronous=FULL: a change is
acknowledged only once it is on disk.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **options: Any) -> sa.Engine:
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            _private_file(Path(engine.url.database))
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _private_file(path: Path) -> None:
    """The database file readable by its owner only, like config.toml: its sealed values are
    safe anyway, but who has an account and when they act is nobody else's business.
    SQLite gives its -wal and -shm files the mode of the database file."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # a folder that does not exist yet: SQLite gives the clear error on connect
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], **app.config.get("ENGINE_OPTIONS", {}))
    from consent.services import witnessing

    # Every session knows the instance's witnesses: the ledger service asks them before signing.
    witnesses = witnessing.WitnessPolicy.from_settings(app.config)
    app.extensions["consent.db"] = sessionmaker(engine, expire_on_commit=False, info={witnessing.POLICY: witnesses})
    app.teardown_appcontext(_close_session)


def engine() -> sa.Engine:
    factory: sessionmaker[Session] = current_app.extensions["consent.db"]
    bind: sa.Engine = factory.kw["bind"]
    return bind


def session() -> Session:
    """This request's (or app context's) session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["consent.db"]()
    s: Session = g.db_session
    return s


def _close_session(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()  # rolls back whatever was not committed
