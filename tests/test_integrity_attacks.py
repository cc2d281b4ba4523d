"""The attacker's pass, kept: each attack an operator with write access to the database
found against the first version of the seal, now refused. (tests/test_integrity.py has
the first round.)"""

from __future__ import annotations

import io
import os
import uuid
from typing import Any

import sqlalchemy as sa

from consent import db
from consent.models import Base, LedgerCheckpoint, LedgerEntry, LedgerHead, Platform, Profile, Request, RequestFile
from consent.services import ledger
from tests.conftest import Auth
from tests.test_integrity import _login, _seal_button, assert_alarm, operator, roll_back
from tests.test_platforms import SHOP, add_platform, add_use, decide, use_ids
from tests.test_requests import post_letter


def snapshot(app: Any, *tables: sa.Table) -> dict[str, list[dict[str, Any]]]:
    with app.app_context(), db.engine().connect() as conn:
        return {t.name: [dict(r) for r in conn.execute(sa.select(t)).mappings()] for t in tables}


def write_back(app: Any, saved: dict[str, list[dict[str, Any]]]) -> None:
    with app.app_context(), db.engine().begin() as conn:
        for name, rows in saved.items():
            table = Base.metadata.tables[name]
            key = list(table.primary_key.columns)
            for row in rows:
                conn.execute(sa.update(table).where(*(c == row[c.name] for c in key)).values(**row))


def value(app: Any, table: sa.Table, column: str, **where: Any) -> Any:
    with app.app_context(), db.engine().connect() as conn:
        query = sa.select(table.c[column])
        for name, wanted in where.items():
            query = query.where(table.c[name] == wanted)
        return conn.execute(query).scalar_one()


def register(auth: Auth) -> None:
    auth.register()
    auth.post("/profile", {"full_name": "Ada Lovelace", "postal_address": "1 Old Street\nLondon", "country": "GB"})


def test_an_older_seal_written_back_with_the_profile_it_sealed_is_found(auth, app, client):
    """F1: a change that makes no decision still moves the seal with the signed ledger."""
    register(auth)
    add_platform(auth)
    old = snapshot(app, LedgerHead.__table__, Profile.__table__)
    auth.post("/profile", {"full_name": "Ada Lovelace", "postal_address": "9 New Road\nParis", "country": "FR"})
    write_back(app, old)
    page = assert_alarm(client.get("/profile"), "does not match its newest signed checkpoint")
    assert "1 Old Street" not in page


def test_an_older_seal_written_back_with_notes_and_a_delivery_date_is_found(auth, app, client):
    register(auth)
    platform_id = add_platform(auth)
    sent = post_letter(auth, platform_id, step="sent", sent_on="2026-01-05", channel="post")
    request_id = sent.headers["Location"].rsplit("/", 1)[1]
    old = snapshot(app, LedgerHead.__table__, Platform.__table__, Request.__table__)
    auth.post(f"/platforms/{platform_id}/edit", {**SHOP, "notes": "Closed my account"})
    auth.post(
        f"/requests/{request_id}",
        {"status": "delivered", "delivered_on": "2026-01-20"},
        action=f"/requests/{request_id}/update",
    )
    write_back(app, old)
    assert_alarm(client.get(f"/platforms/{platform_id}"))
    assert_alarm(client.get(f"/requests/{request_id}"))


def test_a_replayed_profile_is_not_offered_a_rebuild_nor_sealed_by_one(auth, app, client):
    """F2: only what follows from the ledger is rebuilt; a profile does not."""
    register(auth)
    add_platform(auth)
    table = Profile.__table__
    old_address = value(app, table, "postal_address")
    auth.post("/profile", {"full_name": "Ada Lovelace", "postal_address": "9 New Road\nParis", "country": "FR"})
    operator(app, sa.update(table).values(postal_address=old_address))
    alarm = assert_alarm(client.get("/dashboard"), "A value was replaced")
    assert "Rebuild from my signed ledger" not in alarm
    token = alarm.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = client.post("/ledger/recover", data={"csrf_token": token})
    assert_alarm(refused, "cannot be rebuilt from the ledger")
    assert_alarm(client.get("/profile"))


def _answered_request(auth: Auth, app: Any) -> tuple[str, str, str, bytes]:
    register(auth)
    shop = add_platform(auth)
    other = add_platform(auth, name="SpamCorp", email="sales@spam.example")
    request_id = post_letter(auth, shop, step="sent", sent_on="2026-01-05").headers["Location"].rsplit("/", 1)[1]
    sent_details = value(app, Request.__table__, "details", id=uuid.UUID(request_id))
    auth.post(
        f"/requests/{request_id}",
        {"status": "refused", "note": "NOTE-REFUSAL"},
        action=f"/requests/{request_id}/update",
    )
    return shop, other, request_id, sent_details


def test_a_rebuild_does_not_seal_an_older_request_status(auth, app, client):
    _, _, request_id, sent_details = _answered_request(auth, app)
    table = Request.__table__
    operator(app, sa.update(table).where(table.c.id == uuid.UUID(request_id)).values(details=sent_details))
    alarm = assert_alarm(client.get("/requests"), "A value was replaced")
    assert "Rebuild from my signed ledger" not in alarm


def test_adoption_refuses_an_older_status_and_a_letter_moved_to_another_platform(auth, app, client):
    """F3: adoption compares each request with all its events."""
    shop, other, request_id, sent_details = _answered_request(auth, app)
    table = Request.__table__
    operator(
        app,
        sa.update(table)
        .where(table.c.id == uuid.UUID(request_id))
        .values(details=sent_details, platform_id=uuid.UUID(other)),
        sa.update(LedgerHead.__table__).values(manifest=None),
    )
    page = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert "SpamCorp" not in page.split('id="integrity-alarm"', 1)[0]
    refused = client.post("/ledger/recover", data={"csrf_token": _seal_button(page)})
    details = assert_alarm(refused)
    assert f"requests:{request_id} was sent to {shop}, not to {other}" in details
    assert f"requests:{request_id}: its answers are not the ones the ledger records" in details


def test_adoption_refuses_an_answers_file_moved_to_another_request(auth, app, client):
    register(auth)
    ids = []
    for name in ("Shopwise", "SpamCorp"):
        platform_id = add_platform(auth, name=name)
        ids.append(
            post_letter(auth, platform_id, step="sent", sent_on="2026-01-05").headers["Location"].rsplit("/", 1)[1]
        )
    answered = auth.post(
        f"/requests/{ids[0]}",
        {"status": "answered", "note": "", "file": (io.BytesIO(b"ALL YOUR DATA"), "export.csv")},
        action=f"/requests/{ids[0]}/update",
    )
    assert answered.status_code == 302
    operator(
        app,
        sa.update(RequestFile.__table__).values(request_id=uuid.UUID(ids[1])),
        sa.update(LedgerHead.__table__).values(manifest=None),
    )
    page = client.get("/requests").get_data(as_text=True)
    refused = client.post("/ledger/recover", data={"csrf_token": _seal_button(page)})
    assert "is gone or elsewhere" in assert_alarm(refused)


def test_a_seal_that_does_not_open_cannot_be_rebuilt_over_a_rolled_back_ledger(auth, app, client):
    """F9: junk in place of the seal hides the rollback it would show; it is never rebuilt."""
    auth.register()
    platform_id = add_platform(auth)
    add_use(auth, platform_id, "Marketing")
    decide(auth, use_ids(app, platform_id)["Marketing"], "withdraw")
    roll_back(app, to_size=2)
    operator(app, sa.update(LedgerHead.__table__).values(manifest=b"\x01" + os.urandom(60)))
    alarm = assert_alarm(client.get("/dashboard"), "does not open with your key")
    assert "Rebuild from my signed ledger" not in alarm
    token = alarm.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert_alarm(client.post("/ledger/recover", data={"csrf_token": token}), "does not open with your key")


def test_the_browsers_checkpoint_refuses_adopting_a_rolled_back_ledger(auth, app, client):
    """A blanked seal over a truncated ledger: the browser that saw the longer ledger says so."""
    auth.register()
    platform_id = add_platform(auth)
    add_use(auth, platform_id, "Marketing")
    with app.app_context(), db.engine().connect() as conn:
        held = conn.execute(sa.select(LedgerCheckpoint.note).where(LedgerCheckpoint.size == 2)).scalar_one()
    roll_back(app, to_size=1)
    operator(app, sa.update(LedgerHead.__table__).values(manifest=None))
    page = client.get("/platforms").get_data(as_text=True)
    refused = client.post("/ledger/recover", data={"csrf_token": _seal_button(page), "held_checkpoint": held})
    assert_alarm(refused, "This ledger was rolled back")
    with app.app_context():
        assert ledger.verify(db.session(), _login(app)).records == [
            ("unsealed", "the records of this account have not been sealed yet")
        ]


def test_an_event_that_does_not_open_stops_the_export_with_the_alarm(auth, app, client):
    auth.register()
    add_platform(auth)
    add_platform(auth, name="Other")
    entries = LedgerEntry.__table__
    with app.app_context(), db.engine().begin() as conn:
        _, second = conn.execute(sa.select(entries.c.event).order_by(entries.c.index)).scalars().all()
        conn.execute(sa.update(entries).where(entries.c.index == 0).values(event=second))
    assert_alarm(client.get("/ledger/export.json"), "A value does not open with your key.")
