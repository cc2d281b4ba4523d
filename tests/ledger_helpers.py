"""Build ledgers in memory for the pure ledger tests."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

from consent import ledger
from consent.ledger import bundle, events
from consent.ledger.merkle import Frontier
from consent.ledger.note import Signer

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PLATFORM = uuid.UUID("11111111-2222-4333-8444-555555555555")


def signer(seed: int = 7) -> Signer:
    return Signer(ledger.origin_for(uuid.UUID(int=seed)), bytes([seed]) * 32)


def make_events(n: int) -> list[dict]:
    made = [
        events.new_event(
            index=0, type=events.PLATFORM_ADDED, at=START, recorded=START, platform=PLATFORM, data={"name": "Shop"}
        )
    ]
    for i in range(1, n):
        use = uuid.UUID(int=i)
        made.append(
            events.new_event(
                index=i,
                type=events.USE_GRANTED,
                at=START + timedelta(hours=i),
                recorded=START + timedelta(hours=i),
                platform=PLATFORM,
                use=use,
                data={"purpose": "https://w3id.org/dpv#Marketing", "label": f"Use {i}"},
            )
        )
    return made


def build(n: int, key: Signer | None = None) -> tuple[list[bundle.Entry], str, Frontier]:
    """n events, each followed by its signed checkpoint."""
    key = key or signer()
    frontier = Frontier()
    entries = []
    for event in make_events(n):
        appended = ledger.append(frontier, key, event)
        entries.append(bundle.Entry(event, appended.checkpoint))
    return entries, entries[-1].checkpoint or "", frontier


def bundle_text(n: int, key: Signer | None = None) -> str:
    key = key or signer()
    entries, latest, _ = build(n, key)
    out = io.StringIO()
    bundle.write_bundle(out, key=key.verifier, latest=latest, size=n, entries=entries)
    return out.getvalue()


def as_json(text: str) -> dict:
    return json.loads(text)


def to_stream(document: dict | str) -> io.BytesIO:
    text = document if isinstance(document, str) else json.dumps(document)
    return io.BytesIO(text.encode())
