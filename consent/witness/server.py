"""The witness's HTTP face: ``POST /add-checkpoint`` of C2SP tlog-witness, and nothing else.

`create_witness_app` is a WSGI factory that `consent witness serve` runs, and that
gunicorn can run too, with several workers on one database::

    gunicorn -w 4 'consent.witness.server:create_witness_app("/var/lib/witness/w.db", "consent-ledger/")'

The submission prefix is the root. The app's one extension to the spec is the
``Consent-Log-Key`` request header, which lets a new log under ``accept_prefix`` be added
on first use (docs/witness.md). Only this module reads the clock; the cosignature's
timestamp is passed down to the signing code.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from consent.errors import VerificationError
from consent.ledger.note import VerifierKey
from consent.witness.protocol import (
    LOG_KEY_HEADER,
    MAX_BODY_BYTES,
    SIZE_CONTENT_TYPE,
    MalformedSubmission,
    SizeConflict,
    SubmissionRefused,
    parse_submission,
)
from consent.witness.store import WitnessDatabaseError, WitnessStore

logger = logging.getLogger("consent.witness")

_TEXT = "text/plain; charset=utf-8"


def _text(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, content_type=_TEXT)


def _offered_key() -> VerifierKey | None:
    header = request.headers.get(LOG_KEY_HEADER)
    if header is None:
        return None
    try:
        return VerifierKey.parse(header)
    except VerificationError as e:
        raise MalformedSubmission(f"{LOG_KEY_HEADER} header: {e}") from None


def create_witness_app(
    db_path: str | os.PathLike[str],
    accept_prefix: str | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """The witness for the database at ``db_path``; ``accept_prefix`` enables first-use logs under it.

    ``clock`` gives the cosignature timestamps (POSIX seconds); tests fix it.
    """
    store = WitnessStore(Path(db_path), accept_prefix=accept_prefix)
    cosigner = store.cosigner()
    app = Flask(__name__)
    # Werkzeug answers 413 to a declared Content-Length above this, but silently cuts a
    # chunked body at it: one byte more lets the view tell a cut body from a whole one.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1
    app.extensions["consent.witness"] = store

    @app.post("/add-checkpoint", provide_automatic_options=False)
    def add_checkpoint() -> Response:
        body = request.get_data(cache=False)
        if len(body) > MAX_BODY_BYTES:
            raise RequestEntityTooLarge(f"body: expected at most {MAX_BODY_BYTES} bytes")
        now = int(clock())
        try:
            submission = parse_submission(body)
            text = store.add_checkpoint(submission, offered_key=_offered_key(), request=body, now=now)
        except SizeConflict as e:
            # The spec fixes this answer's body and type: the client parses it.
            return Response(f"{e.size}\n", status=409, content_type=SIZE_CONTENT_TYPE)
        except SubmissionRefused as e:
            return _text(str(e), e.status)
        except WitnessDatabaseError as e:
            logger.error("add-checkpoint: %s", e)
            return _text("the witness database is busy or unavailable; try again later", 503)
        return Response(cosigner.cosign(text, now), status=200, content_type=_TEXT)

    @app.errorhandler(HTTPException)
    def plain_error(e: HTTPException) -> Response:
        # Werkzeug's HTML error pages are for browsers; a witness's clients are programs.
        headers = [(name, value) for name, value in e.get_headers() if name.lower() != "content-type"]
        return Response(f"{e.description or e.name}\n", status=e.code or 500, headers=headers, content_type=_TEXT)

    return app
