"""The second step of a log-in, and the "confirm it is you" before a sensitive change."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from consent import db
from consent.errors import IntegrityAlarm, LoginExpired, WrongRecoveryCode
from consent.services import factors, platforms
from consent.web.auth import bp
from consent.web.auth.forms import SecondStepForm
from consent.web.pages import form_page, recovery_code_page, safe_next


@bp.route("/login/second-step", methods=["GET", "POST"])
@login_required
def second_step() -> str | Response | tuple[str, int]:
    form = SecondStepForm()
    pending = current_user.login.pending
    if form.validate_on_submit():
        login = current_user.login
        new_code = None
        try:
            if (form.code.data or "").strip():
                factors.confirm(db.session(), login, form.code.data)
            elif (form.recovery_code.data or "").strip():
                new_code = factors.confirm_with_recovery_code(db.session(), login, form.recovery_code.data)
            else:
                form.code.errors.append(_("Enter the code from your authenticator app, or your recovery code."))
                return form_page("auth/second_step.html", form=form, pending=pending)
        except LoginExpired:
            logout_user()
            flash(_("Too many wrong codes: log in again."), "error")
            return redirect(url_for("auth.login"))
        except factors.WrongCode:
            form.code.errors.append(_("This code is not right, or it was used already. Wait for the next one."))
            return form_page("auth/second_step.html", form=form, pending=pending)
        except WrongRecoveryCode:
            form.recovery_code.errors.append(_("This recovery code does not open your account."))
            return form_page("auth/second_step.html", form=form, pending=pending)
        if pending:  # now that the login is whole, lapsed grants enter the ledger
            try:
                platforms.record_expiries(db.session(), login)
            except IntegrityAlarm:
                pass  # nothing recorded; the next page shows the alarm
        if new_code is not None:
            return recovery_code_page(new_code, current_user.email, first=False)
        return redirect(safe_next(request.args.get("next")))
    return form_page("auth/second_step.html", form=form, pending=pending)
