"""An instance with a witness (`consent witness serve`, here in a thread): a database rolled
back, or forked, is caught before the person's key signs anything on top of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from consent import create_app, db, migrate
from consent.ledger.cosignature import Cosigner, verify_cosignatures
from consent.ledger.note import Signer
from consent.models import Base, LedgerCheckpoint, LedgerEntry, LedgerHead
from consent.services import accounts, witnessing
from consent.witness.server import create_witness_app
from consent.witness.store import WitnessStore, create_database
from tests.conftest import PASSWORD, Auth, test_settings
from tests.test_platforms import add_platform, add_use, decide, use_ids

#: Rows a restore from an older backup brings back (logins and throttling are the
#: server's own business; deleting the accounts ends their logins anyway).
_RESTORED = [t for t in Base.metadata.sorted_tables if t.name not in ("logins", "failed_attempts")]


class Served:
    def __init__(self, server: BaseWSGIServer, cosigner: Cosigner, db: Path) -> None:
        self.server, self.cosigner, self.db = server, cosigner, db

    @property
    def config(self) -> str:
        return f"{self.cosigner.key} http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Served]:
    path = tmp_path / "witness.db"
    cosigner = create_database(path, "witness.example/w1", now=int(time.time()))
    server = make_server("127.0.0.1", 0, create_witness_app(path, "consent-ledger/"), threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield Served(server, cosigner, path)
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    """Instances on the test's database, each with its settings; their engines closed after."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = create_app(test_settings(database_url, **overrides))
        with app.app_context():
            migrate.upgrade(db.engine())
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine().dispose()


@pytest.fixture
def witnessed(make_app: Callable[..., Flask], witness: Served) -> Flask:
    return make_app(WITNESSES=[witness.config])


def backup(app: Flask) -> dict[str, list[dict[str, Any]]]:
    with app.app_context(), db.engine().connect() as conn:
        return {t.name: [dict(row) for row in conn.execute(sa.select(t)).mappings()] for t in _RESTORED}


def restore(app: Flask, saved: dict[str, list[dict[str, Any]]]) -> None:
    """What an operator does with an older backup: every table back as it was then."""
    with app.app_context(), db.engine().begin() as conn:
        for table in reversed(_RESTORED):
            conn.execute(sa.delete(table))
        for table in _RESTORED:
            if saved[table.name]:
                conn.execute(sa.insert(table), saved[table.name])


def ledger_rows(app: Flask) -> tuple[int, int]:
    with app.app_context(), db.engine().connect() as conn:
        entries = conn.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar_one()
        return entries, conn.execute(sa.select(LedgerHead.size)).scalar_one()


def newest_note(app: Flask) -> str:
    with app.app_context(), db.engine().connect() as conn:
        query = sa.select(LedgerCheckpoint.note).order_by(LedgerCheckpoint.size.desc()).limit(1)
        return str(conn.execute(query).scalar_one())


def test_every_decision_is_cosigned_by_the_witness(witnessed, witness):
    person = Auth(witnessed.test_client())
    person.register()
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    found = verify_cosignatures(newest_note(witnessed), [witness.cosigner.key])
    assert [c.witness for c in found] == [witness.cosigner.key]
    assert abs(found[0].timestamp - time.time()) < 60  # a time vouched for by someone else
    page = person.client.get("/ledger").get_data(as_text=True)
    assert "Witnesses that confirmed your newest checkpoint: 1 of 1." in page


def test_a_rolled_back_database_refuses_the_next_decision(witnessed, witness):
    person = Auth(witnessed.test_client())
    person.register()
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    saved = backup(witnessed)  # two events
    use_id = use_ids(witnessed, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    add_use(person, platform_id, "DirectMarketing")  # four events, all cosigned
    restore(witnessed, saved)
    assert ledger_rows(witnessed) == (2, 2)
    person.login()  # the restore took the login rows with the accounts
    # The database alone is consistent: only the witness knows better.
    assert person.client.get("/platforms").status_code == 200
    token_page = person.client.get(f"/platforms/{platform_id}")
    assert token_page.status_code == 200
    refused = decide(person, use_id, "withdraw")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409, page[:2000]
    assert "This ledger was rolled back" in page
    assert "witness.example/w1 has seen 4 events, the server holds 2" in page
    assert ledger_rows(witnessed) == (2, 2)  # nothing signed on top


def test_a_fork_made_while_the_witness_was_away_is_refused(witnessed, witness, make_app):
    person = Auth(witnessed.test_client())
    person.register()
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    saved = backup(witnessed)
    use_id = use_ids(witnessed, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    decide(person, use_id, "grant")  # the witness holds 4 events
    restore(witnessed, saved)
    # The same database served by an instance configured without the witness: the person
    # signs another history of the same size.
    unwitnessed = make_app(**{k: witnessed.config[k] for k in ("SECRET_KEY", "EMAIL_LOOKUP_KEY")})
    other = Auth(unwitnessed.test_client())
    other.login()
    add_use(other, platform_id, "DirectMarketing")
    add_use(other, platform_id, "ServiceUsageAnalytics")
    assert ledger_rows(unwitnessed) == (4, 4)
    # Back with the witness: the next decision is refused as a fork.
    person.login()
    refused = decide(person, use_id, "withdraw")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409, page[:2000]
    assert "This ledger was forked" in page
    assert ledger_rows(witnessed) == (4, 4)


def test_with_the_witness_down_nothing_is_signed(make_app):
    cosigner = Cosigner.generate("witness.example/down")
    app = make_app(WITNESSES=[f"{cosigner.key} http://127.0.0.1:9"], WITNESS_TIMEOUT_SECONDS=1)
    person = Auth(app.test_client())
    person.register()
    # Even the very first decision: the witness must say it has seen nothing of this ledger.
    response = person.post("/platforms/new", {"name": "Shopwise", "country": "DE"})
    assert response.status_code == 503
    assert "The witnesses could not be reached (0 of 1 answered)" in response.get_data(as_text=True)
    assert ledger_rows(app) == (0, 0)


def test_a_quorum_larger_than_the_witnesses_is_a_configuration_error(database_url, witness):
    from consent.errors import ConfigError

    with pytest.raises(ConfigError, match="witness_quorum"):
        create_app(test_settings(database_url, WITNESSES=[witness.config], WITNESS_QUORUM=2))


def test_the_witness_status_counts_only_verified_cosignatures(witnessed, witness):
    person = Auth(witnessed.test_client())
    person.register()
    add_platform(person)
    with witnessed.app_context(), db.engine().begin() as conn:
        note = conn.execute(sa.select(LedgerCheckpoint.note)).scalar_one()
        forged = note[:-20] + "A" * 19 + "\n"  # the cosignature line, mangled
        conn.execute(sa.update(LedgerCheckpoint).values(note=forged))
    with witnessed.app_context():
        s = db.session()
        login = accounts.log_in(s, witnessed.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        status = witnessing.status(s, login)
    assert (status.cosigned, status.required, status.acknowledged) == (0, 1, False)


def test_adoption_asks_the_witness_too(witnessed, witness):
    """A database restored whole, with its manifest blanked to force a fresh adoption:
    the witness still knows the ledger was longer."""
    person = Auth(witnessed.test_client())
    person.register()
    platform_id = add_platform(person)
    saved = backup(witnessed)
    add_use(person, platform_id, "Marketing")
    restore(witnessed, saved)
    with witnessed.app_context(), db.engine().begin() as conn:
        conn.execute(sa.update(LedgerHead).values(manifest=None))
    person.login()
    page = person.client.get("/platforms").get_data(as_text=True)
    assert "Your records need sealing" in page
    token = page.split('action="/ledger/recover">', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    refused = person.client.post("/ledger/recover", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "witness.example/w1 has seen 2 events, the server holds 1" in refused.get_data(as_text=True)


def _notes(app: Flask) -> dict[int, str]:
    with app.app_context(), db.engine().connect() as conn:
        return dict(conn.execute(sa.select(LedgerCheckpoint.size, LedgerCheckpoint.note)).all())  # type: ignore[arg-type]


def test_a_database_restored_to_before_the_first_decision_is_refused(witnessed, witness):
    """Rolled back to an empty ledger: the empty tree's checkpoint asks the witness first."""
    person = Auth(witnessed.test_client())
    person.register()
    saved = backup(witnessed)  # the account, no event yet
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")  # the witness holds 2
    first = _notes(witnessed)[1]
    restore(witnessed, saved)
    person.login()
    refused = person.post("/platforms/new", {"name": "Other", "country": "DE"})
    assert refused.status_code == 409 and "This ledger was rolled back" in refused.get_data(as_text=True)
    assert ledger_rows(witnessed) == (0, 0)
    assert _notes(witnessed) == {}  # no second checkpoint of size 1 was ever stored
    assert first.split("\n")[1] == "1"


def test_a_witness_that_knows_the_ledger_under_another_key_stops_it(witnessed, witness, tmp_path):
    person = Auth(witnessed.test_client())
    person.register()
    other = Cosigner.generate("consent-ledger/unused")  # any Ed25519 key will do as the wrong one
    with witnessed.app_context(), db.engine().connect() as conn:
        user_id = conn.execute(sa.select(LedgerHead.user_id)).scalar_one()
    wrong = Signer(f"consent-ledger/{user_id}", other.private_key).verifier
    WitnessStore(witness.db).add_log(wrong, now=int(time.time()))
    refused = person.post("/platforms/new", {"name": "Other", "country": "DE"})
    assert refused.status_code == 409
    assert "knows your ledger under another key" in refused.get_data(as_text=True)
    assert ledger_rows(witnessed) == (0, 0)


def test_a_decision_the_witness_has_not_cosigned_is_not_acknowledged_until_it_has(witnessed, witness, monkeypatch):
    person = Auth(witnessed.test_client())
    person.register()
    platform_id = add_platform(person)
    assert "witness-pending" not in person.client.get("/dashboard").get_data(as_text=True)
    # The witness confirms the ledger, then is away when the new checkpoint is sent.
    monkeypatch.setattr(witnessing, "cosign_newest", lambda *args, **kwargs: 0)
    add_use(person, platform_id, "Marketing")
    page = person.client.get("/dashboard").get_data(as_text=True)
    assert "Your last decision is signed but not yet confirmed by the witnesses (0 of 1)" in page
    monkeypatch.undo()
    # The next decision sends the pending checkpoint first, then its own: both cosigned.
    add_use(person, platform_id, "DirectMarketing")
    assert "witness-pending" not in person.client.get("/dashboard").get_data(as_text=True)
    assert len(verify_cosignatures(newest_note(witnessed), [witness.cosigner.key])) == 1
