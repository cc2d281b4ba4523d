"""The recovery code a person is given (registration, reset, a second step with the old
code), shown until they say they kept it: never lost to a language switch or a reload."""

from __future__ import annotations

from flask import current_app, g, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from consent.services import accounts, registration
from consent.web.auth import bp
from consent.web.logins import start_login as _start_login

#: The session's key for a recovery code shown but not yet confirmed as kept (sealed).
_SHOWN = "recovery_code"


def start_login(login: accounts.ActiveLogin) -> None:
    """Bind the new login to this browser, and draw this response's forms with the new
    session's CSRF token: Flask-WTF keeps a request's token in ``g``, so a page drawn
    right after the session was cleared carried the old session's token, and its first
    form (the footer's language switch on the recovery code page) answered "This form
    has expired"."""
    _start_login(login)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def show_recovery_code(code: str, email: str, *, first: bool) -> Response:
    """The fresh recovery code, shown now and kept, sealed to this login, so that the
    page shows it again (after a language switch, a reload, a look elsewhere) until the
    person says they kept it. Never in a URL, never in the cookie in the clear."""
    session[_SHOWN] = {"sealed": registration.seal_shown_code(current_user.login, code), "first": first}
    return make_response(render_template("auth/recovery_code.html", code=code, email=email, first=first))


def _shown_code() -> tuple[str, bool] | None:
    shown = session.get(_SHOWN)
    if not isinstance(shown, dict) or not isinstance(shown.get("sealed"), str):
        return None
    code = registration.open_shown_code(current_user.login, shown["sealed"])
    return None if code is None else (code, bool(shown.get("first")))


@bp.get("/recovery-code")
@login_required
def recovery_code() -> str | Response:
    """The recovery code again, until the person says they kept it."""
    shown = _shown_code()
    if shown is None:
        session.pop(_SHOWN, None)
        return redirect(url_for("main.dashboard"))
    code, first = shown
    return render_template("auth/recovery_code.html", code=code, email=current_user.email, first=first)


@bp.post("/recovery-code/kept")
@login_required
def recovery_code_kept() -> Response:
    """The person kept their code: it is no longer shown (CSRF is checked app-wide)."""
    session.pop(_SHOWN, None)
    return redirect(url_for("main.dashboard"))


@bp.before_app_request
def _code_before_home() -> Response | None:
    """While a fresh recovery code waits to be kept, the home page is that code: a form
    posted from the page that showed it (the footer's language switch) comes back to it."""
    if request.endpoint == "main.index" and _SHOWN in session and current_user.is_authenticated:
        return redirect(url_for("auth.recovery_code"))
    return None


def forget_shown_code() -> None:
    session.pop(_SHOWN, None)
