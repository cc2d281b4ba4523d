"""Registration through a link sent to the address, when the instance sends mail
(consent.services.registration says why)."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from consent import db, mail
from consent.errors import EmailTaken, WeakPassword
from consent.mail import SmtpSettings
from consent.services import accounts, registration
from consent.web import limits
from consent.web.auth import bp
from consent.web.auth.forms import AddressForm, ChoosePasswordForm, validate_with_password
from consent.web.auth.recovery import show_recovery_code, start_login
from consent.web.forms import weak_password_message
from consent.web.logins import account_settings, select_language
from consent.web.pages import form_page, public_url_for


def _secret() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode()


def _invitation_mail(smtp: SmtpSettings, invitation: registration.Invitation) -> EmailMessage:
    if invitation.token is None:
        subject = _("Your account")
        text = _(
            "Someone, probably you, asked to create an account with this address at %(site)s. "
            "You already have one.\n\nLog in: %(login)s\n\nForgot your password? Your recovery code "
            "sets a new one: %(reset)s\n\nIf it was not you, ignore this message: nothing has changed.",
            site=current_app.config["PUBLIC_URL"],
            login=public_url_for("auth.login"),
            reset=public_url_for("auth.reset"),
        )
    else:
        subject = _("Finish creating your account")
        text = _(
            "Someone, probably you, asked to create an account with this address at %(site)s.\n\n"
            "To choose your password and finish, open this link within 24 hours:\n%(link)s\n\n"
            "If it was not you, ignore this message: no account is created without the link.",
            site=current_app.config["PUBLIC_URL"],
            link=public_url_for("auth.finish_registration", token=invitation.token),
        )
    return mail.notice(smtp, invitation.email, subject, text)


def start(smtp: SmtpSettings) -> str | tuple[str, int]:
    """The registration page: an address in, the same answer out whatever the address."""
    form = AddressForm()
    if form.validate_on_submit():
        invitation = registration.invite(db.session(), account_settings(), _secret(), form.email.data)
        if invitation is not None:  # None: this address had its mails for today
            try:
                mail.send(_invitation_mail(smtp, invitation), smtp)
            except mail.MailError:
                form.email.errors.append(_("The e-mail could not be sent. Try again later."))
                return render_template("auth/register.html", form=form, by_mail=True), 503
        return render_template("auth/check_inbox.html", email=form.email.data.strip())
    return form_page("auth/register.html", form=form, by_mail=True)


@bp.route("/register/<token>", methods=["GET", "POST"])
def finish_registration(token: str) -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    email = registration.invited_address(_secret(), token)
    if email is None:
        message = _("This link is not valid, or it is more than 24 hours old. Ask for a new one.")
        return render_template("auth/link_expired.html", message=message), 400
    form = ChoosePasswordForm()
    if validate_with_password(form, email):
        try:
            new = accounts.register(
                db.session(), account_settings(), email=email, password=form.password.data, language=select_language()
            )
        except WeakPassword as e:
            form.password.errors.append(weak_password_message(e))
        except EmailTaken:
            # Only the mailbox's owner can be here: telling them is no leak.
            message = _("An account with this address exists already: log in, or use your recovery code.")
            return render_template("auth/link_expired.html", message=message), 400
        else:
            start_login(new.login)
            return limits.known_device(show_recovery_code(new.recovery_code, email, first=True), email)
    return form_page("auth/register_finish.html", form=form, email=email)
