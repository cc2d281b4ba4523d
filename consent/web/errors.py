"""Error pages that say what happened in general terms and nothing more."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from consent.errors import IntegrityAlarm
from consent.services import integrity
from consent.services.witnessing import NotWitnessed

_MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You are not allowed to do this."),
    404: _l("There is nothing at this address."),
    405: _l("This page cannot be used this way."),
    413: _l("What you sent is too large."),
    429: _l("Too many attempts. Wait a little and try again."),
    500: _l("Something went wrong on our side. Nothing you entered has been lost or shown to anyone."),
}


def _page(code: int, message: object) -> tuple[str, int]:
    return render_template("error.html", code=code, message=message), code


def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return _page(code, _MESSAGES.get(code, _MESSAGES[400 if code < 500 else 500]))


def _csrf_error(_error: CSRFError) -> tuple[str, int]:
    return _page(
        400, _l("This form has expired or did not come from this site. Go back, reload the page and try again.")
    )


def _unexpected(_error: Exception) -> tuple[str, int]:
    # Flask has already logged the traceback; the page shows nothing of it.
    return _page(500, _MESSAGES[500])


#: The person's words for each kind of integrity problem (consent.errors.IntegrityAlarm).
ALARMS = {
    "key": _l("The public key this server shows for your account is not your key."),
    "head": _l("Your ledger's head does not match its newest signed checkpoint."),
    "rolled_back": _l(
        "This ledger was rolled back: the server now holds fewer events than you, your browser or a witness saw before."
    ),
    "forked": _l("This ledger was forked: the server shows another history at a size your key already signed."),
    "replayed": _l("A value was replaced, for instance by an older version of it."),
    "relinked": _l("A record was moved to another platform or request."),
    "missing": _l("A record the app wrote is gone."),
    "unexpected": _l("A record appeared that the app never wrote."),
    "unreadable": _l("A value does not open with your key."),
    "unsealed": _l(
        "Your records have not been sealed yet. This happens once after this server was updated, or if someone "
        "deleted the seal: the app checks them against your signed ledger before it seals them."
    ),
    "witness": _l("A witness of this server knows your ledger under another key, so nothing new was signed."),
}


@dataclass(frozen=True)
class AlarmView:
    """An alarm as the person reads it: what happened, in their words, once per kind; the
    technical details (row names, sizes) apart, for whoever runs the server."""

    messages: list[object]
    details: list[str]
    repairable: bool
    #: Only the seal is missing: a step to take, not (yet) a sign of tampering.
    unsealed: bool = False


def describe_alarm(problems: list[tuple[str, str]]) -> AlarmView:
    kinds = list(dict.fromkeys(kind for kind, _ in problems))
    return AlarmView(
        [ALARMS.get(kind, ALARMS["head"]) for kind in kinds],
        [detail for _, detail in problems],
        integrity.rebuildable(problems),
        kinds == ["unsealed"],
    )


def _integrity_alarm(error: IntegrityAlarm) -> tuple[str, int]:
    # Someone changed the database behind the app's back: say what, and record nothing.
    return render_template("integrity_alarm.html", alarm=describe_alarm(error.problems)), 409


def _not_witnessed(error: NotWitnessed) -> tuple[str, int]:
    message = _l(
        "The witnesses could not be reached (%(confirmed)d of %(required)d answered), so nothing was recorded. "
        "Try again in a moment.",
        confirmed=error.confirmed,
        required=error.required,
    )
    return _page(503, message)


def init_app(app: Flask) -> None:
    app.register_error_handler(IntegrityAlarm, _integrity_alarm)
    app.register_error_handler(NotWitnessed, _not_witnessed)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _unexpected)
