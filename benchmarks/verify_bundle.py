"""Benchmark: verify a ledger bundle of N events (default 1,000,000) and report time and
peak memory. The target (issue 3): bounded memory, under 300 MB for a million events.

    .venv/bin/python benchmarks/verify_bundle.py [N]

It writes the bundle to a temporary file (a checkpoint after every event, as the app
does), then runs `consent verify` on it in a fresh process and reads that process's peak
resident memory. It reports; it asserts nothing.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consent import ledger
from consent.ledger import bundle, events
from consent.ledger.merkle import Frontier
from consent.ledger.note import Signer


def write(path: Path, n: int) -> None:
    signer = Signer(ledger.origin_for(uuid.UUID(int=1)), bytes([1]) * 32)
    frontier = Frontier()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    platform = uuid.uuid4()
    latest = ""

    def entries():  # type: ignore[no-untyped-def]
        nonlocal latest
        for i in range(n):
            kind = events.PLATFORM_ADDED if i == 0 else events.USE_GRANTED
            event = events.new_event(
                index=i, type=kind, at=start + timedelta(seconds=i), recorded=start + timedelta(seconds=i),
                platform=platform, use=None if i == 0 else uuid.UUID(int=i),
                data={"name": "Shop"} if i == 0 else {"purpose": "https://w3id.org/dpv#Marketing", "label": f"Use {i}"},
            )
            appended = ledger.append(frontier, signer, event)
            latest = appended.checkpoint
            yield bundle.Entry(event, appended.checkpoint)

    # The header needs the latest checkpoint: write the entries first, then the header.
    body = path.with_suffix(".entries")
    with body.open("w", encoding="utf-8") as f:
        count = bundle.write_bundle(f, key=signer.verifier, latest="", size=n, entries=entries())
    with body.open("r", encoding="utf-8") as src, path.open("w", encoding="utf-8") as out:
        first = src.readline()
        out.write(first.replace('"checkpoint": ""', '"checkpoint": ' + __import__("json").dumps(latest)))
        for line in src:
            out.write(line)
    body.unlink()
    assert count == n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.json"
        t0 = time.perf_counter()
        write(path, n)
        written = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        script = Path(sys.executable).with_name("consent")
        t0 = time.perf_counter()
        result = subprocess.run([script, "verify", str(path)], capture_output=True, text=True, check=False)
        verified = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"events:            {n:,}")
    print(f"bundle size:       {size_mb:,.0f} MB (written in {written:,.1f} s)")
    print(f"verification:      {'OK' if result.returncode == 0 else 'FAILED: ' + result.stderr.strip()}")
    print(f"verification time: {verified:,.1f} s ({n / verified:,.0f} events/s)")
    print(f"peak memory:       {peak_mb:,.0f} MB (target: under 300 MB)")


if __name__ == "__main__":
    main()
