from __future__ import annotations

from datetime import UTC, datetime

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from consent import db
from consent.services import accounts, overview
from consent.services import calendar as calendar_service
from consent.web.account.forms import LanguageForm
from consent.web.main import bp
from consent.web.pages import safe_next


@bp.get("/")
def index() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("index.html")


@bp.get("/verify")
def verify() -> str:
    """For anyone handed a ledger receipt (a DPO reading a complaint): how to check it."""
    return render_template("verify.html")


@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    """What needs doing first (deadlines, answers, consents ending, newer directory
    details), then the platforms."""
    return render_template("dashboard.html", overview=overview.overview(db.session(), current_user.login))


@bp.post("/language")
def language() -> Response:
    form = LanguageForm()
    back = safe_next(request.form.get("next"))
    if not form.validate_on_submit():
        # The CSRF token is checked for the whole app before this view runs: what fails
        # here is a language no menu offers. The person stays where they were.
        flash(_("Choose a language from the list."), "error")
        return redirect(back)
    choice = form.language.data or None
    if current_user.is_authenticated and not current_user.login.pending:  # see select_language
        accounts.set_language(db.session(), current_user.login, choice)
    if choice:
        session["language"] = choice
    else:
        session.pop("language", None)
    return redirect(back)


@bp.get("/calendar/<token>.ics")
def calendar(token: str) -> Response:
    """The due dates, for a calendar program: the secret in the URL is the only key."""
    if len(token) > 100:
        abort(404)
    items = calendar_service.read(db.session(), token)
    if items is None:
        abort(404)
    body = calendar_service.to_ics(items, now=datetime.now(UTC))
    return FlaskResponse(body, mimetype="text/calendar", headers={"Cache-Control": "no-store"})
