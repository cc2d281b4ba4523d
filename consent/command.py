"""The `consent` console script.

`consent verify` must run without Flask or SQLAlchemy (see consent.ledger.verify), so it
is dispatched before the Flask command group, and everything that needs the app, is
imported.
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "verify":
        from consent.ledger.verify import verify_command

        verify_command.main(args=sys.argv[2:], prog_name="consent verify")
        return
    from consent.cli import main as app_commands

    app_commands()
