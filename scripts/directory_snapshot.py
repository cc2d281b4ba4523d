"""Build the directory snapshot the app ships (consent/data/directory/snapshot.json.gz).

    python scripts/directory_snapshot.py PATH_TO_CHECKOUT [--commit SHA --date YYYY-MM-DD]

PATH_TO_CHECKOUT is a checkout of https://github.com/datenanfragen/data (CC0 1.0). The
commit and date of the data are read with git when the checkout is a git repository, and
must be given otherwise. See docs/directory.md.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from consent.directory import snapshot

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "consent" / "data" / "directory" / "snapshot.json.gz"


def _git(folder: Path, *args: str) -> str:
    git = shutil.which("git")
    if git is None:
        return ""
    done = subprocess.run([git, "-C", str(folder), *args], capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.strip() if done.returncode == 0 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--commit", help="the data's commit (default: the checkout's HEAD)")
    parser.add_argument("--date", help="the data's date, YYYY-MM-DD (default: the commit's date)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    commit = args.commit or _git(args.checkout, "rev-parse", "HEAD")
    date = args.date or _git(args.checkout, "log", "-1", "--format=%cs")
    if not commit or not date:
        parser.error("not a git checkout: give --commit and --date of the data")
    if not re.fullmatch(r"[0-9a-f]{7,40}", commit) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        parser.error(f"expected a hex commit and a YYYY-MM-DD date, got {commit!r} and {date!r}")
    try:
        built, left_out = snapshot.build(args.checkout, commit=commit, date=date)
    except snapshot.SnapshotError as e:
        parser.error(str(e))
    data = snapshot.dump(built)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    for file, reason in left_out:
        print(f"left out  {file}: {reason}")
    counts = ", ".join(f"{len(built[name])} {name}" for name in snapshot.FOLDERS)
    print(f"Wrote {args.output} ({len(data):,} bytes): {counts}; data of {commit[:12]}, {date}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
