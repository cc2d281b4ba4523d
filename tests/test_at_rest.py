"""What a thief with the database gets: no profile value, no e-mail address, no key."""

from pathlib import Path

import sqlalchemy as sa

from consent import db
from consent.keys import email_lookup
from consent.models import Base
from tests.conftest import PASSWORD, PG_URL

PROFILE = {
    "full_name": "Wilhelmina Quackenbush",
    "postal_address": "17 Zyzzyva Lane, Ardnamurchan",
    "correspondence_email": "wilhelmina.letters@quackenbush.example",
    "date_of_birth": "1987-06-05",
    "phone": "+44 7700 900123",
    "country": "GB",
}
EMAIL = "wilhelmina@quackenbush.example"


def _needles() -> list[bytes]:
    values = [v for k, v in PROFILE.items() if k != "country"] + [EMAIL, PASSWORD]
    needles = []
    for value in values:
        needles += [value.encode("utf-8"), value.encode("utf-16-le"), value.lower().encode()]
    # Country "GB" is too short to search for as bytes; its label is not.
    return [*needles, b"Quackenbush", b"Zyzzyva", b"900123"]


def _database_bytes(app) -> bytes:
    """Every byte of the database as a thief would copy it."""
    with app.app_context():
        engine = db.engine()
        if engine.dialect.name == "sqlite":
            engine.dispose()  # close connections so that nothing is held back in memory
            path = Path(engine.url.database)
            return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        chunks = []
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    for value in row:
                        chunks.append(value if isinstance(value, bytes) else str(value).encode())
        return b"\x00".join(chunks)


def test_database_holds_no_profile_value_in_the_clear(client, auth, app):
    auth.register(email=EMAIL)
    assert auth.post("/profile", PROFILE).status_code == 302
    assert "Wilhelmina Quackenbush" in client.get("/profile").get_data(as_text=True)  # it was stored
    auth.logout()
    raw = _database_bytes(app)
    # The dump is real: it holds the account's blind index, computable from the key.
    assert email_lookup(EMAIL, app.config["EMAIL_LOOKUP_KEY"].encode()) in raw
    found = [n for n in _needles() if n in raw]
    assert found == [], f"found in the clear: {found}"


def test_the_search_would_find_a_value_stored_in_the_clear(app):
    """The check above is only worth something if it can fail: a plain value is found."""
    with app.app_context(), db.engine().begin() as conn:
        conn.execute(sa.text("CREATE TABLE plain_control (v VARCHAR(100))"))
        conn.execute(sa.text("INSERT INTO plain_control VALUES (:v)"), {"v": PROFILE["full_name"]})
    if PG_URL:
        with app.app_context(), db.engine().connect() as conn:
            raw = str(conn.execute(sa.text("SELECT v FROM plain_control")).all()).encode()
    else:
        raw = _database_bytes(app)
    assert PROFILE["full_name"].encode() in raw
