"""The browser's copy of the newest checkpoint: the JSON its script checks on each visit,
and the check that nothing is signed on top of a ledger the browser saw longer or different.

static/freshness.js keeps the last checkpoint it verified and sends it with every form it
posts (field ``held_checkpoint``); without JavaScript nothing is sent and nothing changes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from flask import Response, abort, jsonify, request
from flask_login import current_user, login_required

from consent import db
from consent.errors import VerificationError
from consent.ledger import origin_for
from consent.services import freshness
from consent.web.ledger import bp

#: The field the script adds to every form it posts.
HELD_FIELD = "held_checkpoint"
#: Leaving, reading the warning in one's own language and asking the ledger what it says
#: must work even on a ledger in alarm; none of them writes or signs anything.
_NOT_CHECKED = frozenset({"auth.logout", "main.language", "ledger.verify"})
#: Tree sizes fit in 64 bits; a longer number is not a size (and would be slow to parse).
_MAX_DIGITS = 20


@bp.get("/ledger/checkpoint.json")
@login_required
def checkpoint_json() -> Response:
    held = request.args.get("from", "0")
    if not (held.isascii() and held.isdigit() and len(held) <= _MAX_DIGITS):
        abort(400)
    fresh = freshness.since(db.session(), current_user.login, int(held))
    return jsonify(
        origin=fresh.origin,
        key=fresh.key,
        checkpoint=fresh.checkpoint,
        size=fresh.size,
        proof=[base64.b64encode(h).decode() for h in fresh.proof],
    )


@bp.before_app_request
def check_held_checkpoint() -> None:
    """Before any view of a POST runs: the checkpoint the browser holds must still stand.

    It runs after the CSRF check (registered earlier), so only this site's own forms get here.
    """
    if request.method != "POST" or request.endpoint in _NOT_CHECKED:
        return
    note = request.form.get(HELD_FIELD)
    if not note or not current_user.is_authenticated:
        return
    # A browser posts every newline in a form field as CRLF (HTML's form encoding); a note
    # holds no CR of its own (control characters are refused), so this gives it back whole.
    note = note.replace("\r\n", "\n")
    try:
        freshness.check_held(db.session(), current_user.login, note)
    except VerificationError:
        abort(400)  # a browser only keeps notes it verified: this one was not sent by it


def _ledger_origin() -> str:
    return origin_for(current_user.login.user.id)


@bp.app_context_processor
def _freshness_context() -> dict[str, Callable[[], str]]:
    # A function, so pages of someone not logged in never ask for it.
    return {"ledger_origin": _ledger_origin}
