from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from consent import db
from consent.errors import (
    EmailTaken,
    IntegrityAlarm,
    InvalidCredentials,
    TooManyAttempts,
    WeakPassword,
    WrongRecoveryCode,
)
from consent.mail import SmtpSettings
from consent.services import accounts, platforms
from consent.web import limits
from consent.web.auth import bp, registration
from consent.web.auth.forms import LoginForm, RegisterForm, ResetForm, validate_with_password
from consent.web.auth.recovery import forget_shown_code, show_recovery_code, start_login
from consent.web.forms import weak_password_message
from consent.web.logins import account_settings, select_language
from consent.web.pages import form_page, safe_next


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    smtp = SmtpSettings.from_config(current_app.config)
    if smtp is not None:  # an instance others reach: the address proves itself first
        return registration.start(smtp)
    form = RegisterForm()
    if validate_with_password(form, form.email.data or ""):
        try:
            new = accounts.register(
                db.session(),
                account_settings(),
                email=form.email.data,
                password=form.password.data,
                language=select_language(),
            )
        except WeakPassword as e:
            form.password.errors.append(weak_password_message(e))
        except EmailTaken:
            form.email.errors.append(_("An account with this e-mail address already exists. Log in instead."))
        else:
            start_login(new.login)
            page = show_recovery_code(new.recovery_code, form.email.data, first=True)
            return limits.known_device(page, form.email.data)
    return form_page("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            opened = accounts.log_in(
                db.session(),
                account_settings(),
                email=form.email.data,
                password=form.password.data,
                device=limits.device(),
            )
        except InvalidCredentials:
            form.password.errors.append(_("The e-mail address or the password is wrong."))
        except TooManyAttempts as e:
            form.password.errors.append(limits.wait_message(e.retry_after))
            return limits.wait_a_moment(form_page("auth/login.html", form=form), e.retry_after)
        else:
            start_login(opened)
            if opened.pending:  # the password was right; the second factor comes next
                # (the browser is marked as known once that is done: consent.web.auth.second_factor)
                return redirect(url_for("auth.second_step", next=safe_next(request.args.get("next"))))
            # Grants past their expiry date enter the ledger now that the key is at hand.
            try:
                platforms.record_expiries(db.session(), opened)
            except IntegrityAlarm:
                pass  # nothing recorded; the next page shows the alarm, with this login's forms

            return limits.known_device(redirect(safe_next(request.args.get("next"))), form.email.data)
    return form_page("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    accounts.log_out(db.session(), current_user.login.token)
    logout_user()
    forget_shown_code()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/reset", methods=["GET", "POST"])
def reset() -> str | Response | tuple[str, int]:
    form = ResetForm()
    if validate_with_password(form, form.email.data or ""):
        try:
            new = accounts.reset_password(
                db.session(),
                account_settings(),
                email=form.email.data,
                recovery_code=form.recovery_code.data,
                new_password=form.password.data,
                device=limits.device(),
            )
        except WeakPassword as e:
            form.password.errors.append(weak_password_message(e))
        except WrongRecoveryCode:
            form.recovery_code.errors.append(_("This recovery code does not open an account with this e-mail address."))
        except TooManyAttempts as e:
            form.recovery_code.errors.append(limits.wait_message(e.retry_after))
            return limits.wait_a_moment(form_page("auth/reset.html", form=form), e.retry_after)
        else:
            start_login(new.login)
            flash(_("Your password is changed and every other login has ended."), "success")
            page = show_recovery_code(new.recovery_code, form.email.data, first=False)
            return limits.known_device(page, form.email.data)
    return form_page("auth/reset.html", form=form)
