"""`python -m tests.crash [--kills N] [--database URL]`: the long crash run (make crash-test)."""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from tests.crash.harness import run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--database", default="sqlite", help="'sqlite', or a PostgreSQL URL")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        if options.database == "sqlite":
            url, cleanup = f"sqlite:///{workdir / 'crash.db'}", None
        else:
            schema = f"crash_{secrets.token_hex(4)}"
            admin = sa.create_engine(options.database)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            separator = "&" if "?" in options.database else "?"
            url, cleanup = f"{options.database}{separator}options=-csearch_path%3D{schema}", (admin, schema)
        try:
            result = run(url, workdir, kills=options.kills)
        finally:
            if cleanup:
                admin, schema = cleanup
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        print(f"{options.database.split(':')[0]}: {result.summary()}")
        for line in (result.lost + result.forks + result.problems)[:20]:  # the first few, to start from
            print("  ", line)
        return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
