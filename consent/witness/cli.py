"""`consent witness init | add-log | serve`: run a witness for other instances' ledgers.

Dispatched by consent.command before the Flask app is loaded: a witness needs none of
the consent manager's configuration, secrets or database. Only `serve` imports Flask.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from consent.errors import VerificationError
from consent.ledger.note import VerifierKey
from consent.witness.store import WitnessDatabaseError, WitnessStore, create_database

_DB_OPTION = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The witness's SQLite database (it holds the private key: keep it 0600).",
)


@click.group("witness")
def witness_group() -> None:
    """Run a tlog witness that cosigns other instances' ledger checkpoints."""


@witness_group.command("init")
@_DB_OPTION
@click.option("--name", required=True, help="The witness's name, e.g. witness.example.org/w1 (no spaces or '+').")
def init_command(db_path: Path, name: str) -> None:
    """Create the database with a fresh key, and print the verifier key to give to instances."""
    try:
        cosigner = create_database(db_path, name, now=int(time.time()))
    except (WitnessDatabaseError, VerificationError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Witness created in {db_path}. Its verifier key, for the instances it witnesses:", err=True)
    click.echo(str(cosigner.key))


@witness_group.command("add-log")
@_DB_OPTION
@click.argument("key")
def add_log_command(db_path: Path, key: str) -> None:
    """Witness the log whose verifier key is KEY (its name is the origin); the key is pinned for good."""
    try:
        store = WitnessStore(db_path)
        log_key = VerifierKey.parse(key)
        store.add_log(log_key, now=int(time.time()))
    except (WitnessDatabaseError, VerificationError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Witnessing {log_key.name}, pinned to {log_key}.")


@witness_group.command("serve")
@_DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=7380, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--accept-new-logs",
    "accept_prefix",
    metavar="PREFIX",
    help="Add logs whose origin starts with PREFIX on first use (e.g. consent-ledger/); see docs/witness.md.",
)
def serve_command(db_path: Path, host: str, port: int, accept_prefix: str | None) -> None:
    """Answer POST /add-checkpoint (C2SP tlog-witness) until interrupted."""
    from werkzeug.serving import make_server

    from consent.witness.server import create_witness_app

    try:
        app = create_witness_app(db_path, accept_prefix)
    except WitnessDatabaseError as e:
        raise click.ClickException(str(e)) from None
    server = make_server(host, port, app, threaded=True)
    store: WitnessStore = app.extensions["consent.witness"]
    key = store.cosigner().key
    click.echo(f"Witness {key} listening on http://{host}:{server.server_port}", err=True)
    if accept_prefix:
        click.echo(f"New logs under {accept_prefix!r} are added on first use.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
