"""Two processes appending to one person's ledger at once never fork it or reuse an index."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from consent import create_app, db
from consent.services import accounts, ledger, platforms
from tests.conftest import PASSWORD

APPENDS = 30


def _append(settings: dict[str, Any], start: Any, times: Any, who: int) -> None:
    app = create_app(settings)
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        start.wait(timeout=60)  # both processes are logged in: go
        began = time.monotonic()
        for n in range(APPENDS):
            platforms.add_platform(s, login, {"name": f"Process {who} platform {n}"})
        times.put((began, time.monotonic()))
        db.engine().dispose()


def test_two_processes_appending_at_once(app):
    settings = {k: app.config[k] for k in ("SECRET_KEY", "EMAIL_LOOKUP_KEY", "DATABASE_URL")}
    settings.update(TESTING=True, ARGON2_TIME_COST=1, ARGON2_MEMORY_KIB=64, ARGON2_PARALLELISM=1)
    with app.app_context():
        accounts.register(db.session(), app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
    context = multiprocessing.get_context("spawn")
    start, times = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_append, args=(settings, start, times, who)) for who in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        recorded = list(ledger.iter_events(s, login))
        assert [e["index"] for e in recorded] == list(range(2 * APPENDS))
        names = {e["data"]["name"] for e in recorded}
        assert len(names) == 2 * APPENDS  # nothing lost
        check = ledger.verify(s, login)
        assert check.ok, check.problems
        assert check.checkpoints == 2 * APPENDS
    # The two processes really appended at the same time: each began before the other ended.
    (began1, ended1), (began2, ended2) = times.get(timeout=5), times.get(timeout=5)
    assert began1 < ended2 and began2 < ended1
