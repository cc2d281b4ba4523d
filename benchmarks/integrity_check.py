"""Benchmark: what the integrity check (consent.services.integrity) costs a person with many
records, on every page and before every decision.

    .venv/bin/python benchmarks/integrity_check.py [PLATFORMS] [USES_PER_PLATFORM] [DRAFTS]

It builds one account on a fresh SQLite database (defaults: 200 platforms, 5 uses each,
200 letter drafts: far more than most people keep), then times, each over several runs:
the check on a fresh session (what a page pays once), a decision (lock, check, append,
sign, seal) and the dashboard's two reads. It reports; it asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from consent import create_app, db, migrate
from consent.letters import Identity, LetterRequest, Party, compose
from consent.models import LedgerHead
from consent.services import accounts, integrity, platforms, requests
from consent.vocabulary import DPV

_RUNS = 15


def _timed(action) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(_RUNS):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _report(name: str, times: list[float]) -> None:
    print(f"{name:44} median {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms")


def main(n_platforms: int, n_uses: int, n_drafts: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = {
            "TESTING": True,
            "SECRET_KEY": "b" * 64,
            "EMAIL_LOOKUP_KEY": "c" * 64,
            "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 64,
            "ARGON2_PARALLELISM": 1,
        }
        app = create_app(settings)
        with app.app_context():
            migrate.upgrade(db.engine())
            s = db.session()
            login = accounts.register(
                s, app.extensions["consent.accounts"], email="bench@example.org", password="plum orchard lantern 42"
            ).login
            built = time.perf_counter()
            ids = platforms.add_many(s, login, [{"name": f"Platform {i}", "country": "DE"} for i in range(n_platforms)])
            assert ids == n_platforms
            views = platforms.list_platforms(s, login)
            use_ids = []
            for view in views:
                for j in range(n_uses):
                    use = {"purpose": DPV + "Marketing", "label": f"Use {j}"}
                    use_ids.append(platforms.new_use(s, login, uuid.UUID(view.id), granted=True, use=use))
            letter = compose(
                LetterRequest(
                    kind="access",
                    language="en",
                    sender=Identity("Ada Lovelace", "1 Street\nLondon"),
                    recipient=Party("Platform 0", "2 Road", "privacy@example.org"),
                    today=date(2026, 11, 28),
                )
            )
            for _ in range(n_drafts):
                requests.save_draft(s, login, uuid.UUID(views[0].id), letter, channel="post")
            size = s.scalar(sa.select(LedgerHead.size))
            print(f"one account: {n_platforms} platforms, {len(use_ids)} uses, {n_drafts} drafts, {size} events")
            print(f"built in {time.perf_counter() - built:.1f} s")

            def fresh_check() -> None:
                s.close()
                integrity.check(db.session(), login)

            _report("integrity check (a page's first read)", _timed(fresh_check))

            def dashboard() -> None:
                s.close()
                platforms.list_platforms(db.session(), login)
                requests.list_requests(db.session(), login)

            _report("dashboard reads (check + platforms + requests)", _timed(dashboard))
            actions = iter(["withdraw", "grant"] * _RUNS)

            def decision() -> None:
                s.close()
                platforms.decide(db.session(), login, use_ids[0], next(actions), now=datetime.now(UTC))

            _report("one decision (lock, check, sign, seal)", _timed(decision))
            db.engine().dispose()


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:4])) if len(sys.argv) > 1 else main(200, 5, 200)
