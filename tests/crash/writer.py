"""One writer process: makes consent decisions for one person, forever, and logs each one
the service acknowledged (returned from) to a file outside the database, fsync'd, with
the signed checkpoint it read after it.

The supervisor forks it from a process that has already loaded the app (a new
interpreter needs seconds to, on a busy 2-core machine: most kills would land in its
start-up), and kills it with SIGKILL at a random moment once READY-FILE exists (the
writer has logged in and is about to append). On its own:
`python -m tests.crash.writer SETTINGS.json EMAIL ACK.log READY-FILE`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from flask import Flask
from sqlalchemy.orm import Session

from consent import create_app, db
from consent.services import accounts, ledger, platforms
from consent.services.accounts import ActiveLogin
from tests.conftest import PASSWORD

PURPOSE = {"purpose": "https://w3id.org/dpv#Marketing", "label": "Marketing"}


def _acknowledge(log: IO[str], decision: dict[str, Any], checkpoint: str | None) -> None:
    log.write(json.dumps({**decision, "checkpoint": checkpoint}) + "\n")
    log.flush()
    os.fsync(log.fileno())  # acknowledged: it must survive whatever comes next


def _seen(s: Session, login: ActiveLogin) -> str | None:
    """The newest signed checkpoint, read after the decision's transaction ended."""
    return ledger.latest_checkpoint(s, login.user)


def append_forever(app: Flask, email: str, log_file: Path, ready_file: Path) -> None:
    with app.app_context(), open(log_file, "a", encoding="utf-8") as log:
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email=email, password=PASSWORD)
        ready_file.touch()
        n = 0
        while True:
            # A platform, a use granted on it, then withdrawn: three decisions, three events
            # that the projection (platforms and uses tables) must follow.
            platform = platforms.add_platform(s, login, {"name": f"{ready_file.name}-{n}"})
            _acknowledge(log, {"type": "platform.added", "platform": str(platform)}, _seen(s, login))
            use = platforms.new_use(s, login, platform, granted=True, use=PURPOSE)
            _acknowledge(log, {"type": "use.granted", "use": str(use)}, _seen(s, login))
            event = platforms.decide(s, login, use, "withdraw")
            _acknowledge(log, {"type": "use.withdrawn", "use": str(use), "index": event["index"]}, _seen(s, login))
            n += 1


if __name__ == "__main__":
    settings_file, email, log_file, ready_file = sys.argv[1:5]
    append_forever(create_app(json.loads(Path(settings_file).read_text())), email, Path(log_file), Path(ready_file))
