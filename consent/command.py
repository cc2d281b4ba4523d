"""The `consent` console script.

`consent verify` must run without Flask or SQLAlchemy (see consent.ledger.verify), and
`consent witness` without the app's configuration (see consent.witness.cli), so both are
dispatched before the Flask command group, and everything that needs the app, is
imported.
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "verify":
        from consent.ledger.verify import verify_command

        verify_command.main(args=sys.argv[2:], prog_name="consent verify")
        return
    if len(sys.argv) > 1 and sys.argv[1] == "witness":
        # A witness serves other instances: it needs none of this app's settings or secrets.
        from consent.witness.cli import witness_group

        witness_group.main(args=sys.argv[2:], prog_name="consent witness")
        return
    from consent.cli import main as app_commands

    app_commands()
