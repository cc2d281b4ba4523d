"""The second step of a log-in, and the "confirm it is you" before a sensitive change."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from consent import db
from consent.errors import IntegrityAlarm, LoginExpired, TooManyAttempts
from consent.services import factors, platforms
from consent.web import limits
from consent.web.auth import bp
from consent.web.auth.forms import SecondStepForm
from consent.web.auth.recovery import show_recovery_code, start_login
from consent.web.logins import account_settings
from consent.web.pages import form_page, safe_next
from consent.web.second_factor import relying_party


@bp.route("/login/second-step", methods=["GET", "POST"])
@login_required
def second_step() -> str | Response | tuple[str, int]:
    form = SecondStepForm()
    pending = current_user.login.pending
    if form.validate_on_submit():
        login = current_user.login
        email = current_user.email
        guesses = factors.guesses(account_settings(), email, limits.device())
        new_code = None
        try:
            if form.passkey.data:
                rp = relying_party()
                if rp is None:
                    raise factors.WrongCode("passkeys need the app at a domain name")
                done_login = factors.confirm_passkey(
                    db.session(), login, rp, response=form.passkey.data, guesses=guesses
                )
            elif (form.code.data or "").strip():
                done_login = factors.confirm(db.session(), login, form.code.data, guesses=guesses)
            elif (form.recovery_code.data or "").strip():
                done_login, new_code = factors.confirm_with_recovery_code(
                    db.session(), login, form.recovery_code.data, guesses=guesses
                )
            else:
                form.code.errors.append(_("Enter the code from your authenticator app, or your recovery code."))
                return _page(form, pending)
        except LoginExpired:
            logout_user()
            flash(_("Too many wrong codes: log in again."), "error")
            return redirect(url_for("auth.login"))
        except TooManyAttempts as e:
            form.code.errors.append(limits.wait_message(e.retry_after))
            return limits.wait_a_moment(_page(form, pending), e.retry_after)
        except factors.WrongCode:
            if form.passkey.data:
                form.code.errors.append(_("The passkey could not be checked. Try again, or enter a code."))
            elif (form.code.data or "").strip():
                form.code.errors.append(_("This code is not right, or it was used already. Wait for the next one."))
            else:
                form.recovery_code.errors.append(_("This recovery code does not open your account."))
            return _page(form, pending)
        if done_login.token != login.token:  # a pending login, completed under a new token
            start_login(done_login)
        if pending:  # now that the login is whole, lapsed grants enter the ledger
            try:
                platforms.record_expiries(db.session(), done_login)
            except IntegrityAlarm:
                pass  # nothing recorded; the next page shows the alarm
        done: Response = (
            show_recovery_code(new_code, email, first=False)
            if new_code is not None
            else redirect(safe_next(request.args.get("next")))
        )
        # Only now is this browser one that logged in to the account (its answers, and its
        # password attempts, are counted apart from then on): the password alone does not
        # make it so, or a thief would give each of their browsers a count of its own.
        return limits.known_device(done, email) if pending else done
    return _page(form, pending)


def _page(form: SecondStepForm, pending: bool) -> tuple[str, int]:
    """The second step, with this login's passkey challenge when the person has passkeys."""
    rp = relying_party()
    options = factors.passkey_authentication(db.session(), current_user.login, rp) if rp else None
    return form_page(
        "auth/second_step.html",
        form=form,
        pending=pending,
        passkey_options=options,
        has_code=factors.has_totp(db.session(), current_user.login),
        # Passkeys made at the site's name do not work at an IP address: say where they do.
        passkey_elsewhere=rp is None and factors.has_passkey(db.session(), current_user.login),
    )
