"""One writer process: appends decisions for one person, forever, and logs each one the
service acknowledged (returned from) to a file, fsync'd, with the checkpoint it saw."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from consent import create_app, db
from consent.services import accounts, ledger, platforms

PASSWORD = "plum orchard lantern 42"


def main(settings_file: str, email: str, log_file: str, prefix: str) -> None:
    settings = json.loads(Path(settings_file).read_text())
    app = create_app(settings)
    with app.app_context(), open(log_file, "a", encoding="utf-8") as log:
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email=email, password=PASSWORD)
        n = 0
        while True:
            name = f"{prefix}-{os.getpid()}-{n}"
            platforms.add_platform(s, login, {"name": name})
            note = ledger.latest_checkpoint(s, login.user)
            log.write(json.dumps({"name": name, "checkpoint": note}) + "\n")
            log.flush()
            os.fsync(log.fileno())  # acknowledged: it must survive whatever comes next
            n += 1


if __name__ == "__main__":
    main(*sys.argv[1:5])
