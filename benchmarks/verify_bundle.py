"""Benchmark: verify a ledger bundle of N events (default 1,000,000) in both signature
modes, and the refusal of one oversized event; report time and peak memory.

    .venv/bin/python benchmarks/verify_bundle.py [N] [--big-event-mb MB]

It writes the bundle to a temporary file (a checkpoint after every event, as the app
does), then runs `consent verify` on it in a fresh process per mode (default: hashing the
intermediate checkpoints; --all-signatures: verifying each one's Ed25519 signature) and
reads that process's own peak resident memory. Then it writes a bundle whose one event
holds a string of MB megabytes (default 50) and times its refusal (the 1 MiB entry
limit). The target (issue 3): bounded memory, under 300 MB for a million events. It
reports; it asserts nothing, and it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consent import ledger
from consent.ledger import bundle, events
from consent.ledger.merkle import Frontier
from consent.ledger.note import Signer

SIGNER = Signer(ledger.origin_for(uuid.UUID(int=1)), bytes([1]) * 32)


def write(path: Path, n: int) -> None:
    frontier = Frontier()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    platform = uuid.uuid4()
    latest = ""

    def entries() -> Iterator[bundle.Entry]:
        nonlocal latest
        for i in range(n):
            kind = events.PLATFORM_ADDED if i == 0 else events.USE_GRANTED
            event = events.new_event(
                index=i,
                type=kind,
                at=start + timedelta(seconds=i),
                recorded=start + timedelta(seconds=i),
                platform=platform,
                use=None if i == 0 else uuid.UUID(int=i),
                data={"name": "Shop"} if i == 0 else {"purpose": "https://w3id.org/dpv#Marketing", "label": f"Use {i}"},
            )
            appended = ledger.append(frontier, SIGNER, event)
            latest = appended.checkpoint
            yield bundle.Entry(event, appended.checkpoint)

    # The header needs the latest checkpoint: write the entries first, then the header.
    body = path.with_suffix(".entries")
    with body.open("w", encoding="utf-8") as f:
        bundle.write_bundle(f, key=SIGNER.verifier, latest="", size=n, entries=entries())
    with body.open("r", encoding="utf-8") as src, path.open("w", encoding="utf-8") as out:
        first = src.readline()
        out.write(first.replace('"checkpoint": ""', '"checkpoint": ' + json.dumps(latest)))
        for line in src:
            out.write(line)
    body.unlink()


def write_big_event(path: Path, megabytes: int) -> None:
    """A signed one-event bundle whose event's name is then replaced by ``megabytes`` MB:
    the verifier must refuse it at the entry limit, before it hashes anything."""
    frontier = Frontier()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    event = events.new_event(
        index=0, type=events.PLATFORM_ADDED, at=at, recorded=at, platform=uuid.uuid4(), data={"name": "Shop"}
    )
    note = ledger.append(frontier, SIGNER, event).checkpoint
    with path.open("w", encoding="utf-8") as f:
        bundle.write_bundle(f, key=SIGNER.verifier, latest=note, size=1, entries=[bundle.Entry(event, note)])
    before, after = path.read_text(encoding="utf-8").split('"Shop"')
    with path.open("w", encoding="utf-8") as f:
        f.write(before + '"')
        for _ in range(megabytes):
            f.write("x" * 1_000_000)
        f.write('"' + after)


def run(args: list[str]) -> tuple[float, float, int, str]:
    """`consent verify ARGS` in a fresh process: seconds, its own peak RSS in MB, exit code, stderr."""
    script = Path(sys.executable).with_name("consent")
    t0 = time.perf_counter()
    process = subprocess.Popen([script, "verify", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    assert process.stderr is not None  # noqa: S101 - asked for above
    errors = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - t0
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, process.returncode, errors.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--big-event-mb", type=int, default=50)
    options = parser.parse_args()
    n = options.n
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.json"
        t0 = time.perf_counter()
        write(path, n)
        written = time.perf_counter() - t0
        print(f"events:            {n:,}")
        print(f"bundle size:       {path.stat().st_size / 1e6:,.0f} MB (written in {written:,.1f} s)")
        for mode, extra in (("default (hashing)", []), ("--all-signatures", ["--all-signatures"])):
            seconds, peak, code, errors = run([str(path), "--key", str(SIGNER.verifier), *extra])
            outcome = "OK" if code == 0 else f"FAILED: {errors}"
            print(f"{mode + ':':<19}{outcome}, {seconds:,.1f} s ({n / seconds:,.0f} events/s), peak RSS {peak:,.0f} MB")
        print("(target: under 300 MB for a million events)")
        big = Path(folder) / "big.json"
        write_big_event(big, options.big_event_mb)
        seconds, peak, code, errors = run([str(big), "--key", str(SIGNER.verifier)])
        outcome = "refused" if code == 1 else f"exit code {code}"
        print(
            f"one {options.big_event_mb} MB event:   {outcome} in {seconds:,.2f} s, peak RSS {peak:,.0f} MB ({errors})"
        )


if __name__ == "__main__":
    main()
