"""Changing the account's e-mail address: the password, then (when the instance sends
mail) a link sent to the new address, opened while logged in, so that nobody moves an
account to an address they do not hold, nor holds one they never proved."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from consent import db, keys, mail
from consent.errors import EmailTaken, WrongPassword
from consent.mail import SmtpSettings
from consent.services import accounts
from consent.web.account import bp
from consent.web.account.forms import EmailChangeForm
from consent.web.logins import account_settings
from consent.web.pages import form_page, public_url_for
from consent.web.second_factor import fresh_factor_required

log = logging.getLogger(__name__)
LINK_LIFETIME = timedelta(hours=24)


def _secret() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode()


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
@fresh_factor_required("account.change_email")
def change_email() -> Response | tuple[str, int]:
    form = EmailChangeForm(prefix="email")
    if form.validate_on_submit():
        new = form.email.data.strip()
        try:
            accounts.confirm_password(db.session(), account_settings(), current_user.login, form.current.data)
        except WrongPassword:
            form.current.errors.append(_("The current password is wrong."))
            return form_page("account/email.html", form=form)
        smtp = SmtpSettings.from_config(current_app.config)
        if smtp is None:  # nobody to prove the address to: the password is the proof
            return _apply(new)
        token = keys.seal_link("email", f"{current_user.login.user.id}\n{new}", _secret(), now=datetime.now(UTC))
        link = public_url_for("account.confirm_email", token=token)
        text = _(
            "Someone, probably you, asked to make this the e-mail address of their account at %(site)s.\n\n"
            "To confirm, open this link within 24 hours, logged in to that account:\n%(link)s\n\n"
            "If it was not you, ignore this message: nothing changes without the link.",
            site=current_app.config["PUBLIC_URL"],
            link=link,
        )
        try:
            mail.send(mail.notice(smtp, new, _("Confirm your new e-mail address"), text), smtp)
        except mail.MailError:
            form.email.errors.append(_("The e-mail could not be sent. Try again later."))
            return render_template("account/email.html", form=form), 503
        flash(_("We sent a link to %(email)s: open it, logged in here, to make it your address.", email=new), "info")
        return redirect(url_for("account.settings"))
    return form_page("account/email.html", form=form)


@bp.route("/settings/email/<token>", methods=["GET", "POST"])
@login_required
@fresh_factor_required("account.settings")
def confirm_email(token: str) -> Response | tuple[str, int]:
    value = keys.open_link("email", token, _secret(), now=datetime.now(UTC), max_age=LINK_LIFETIME)
    account, _sep, new = (value or "").partition("\n")
    if not new or account != str(current_user.login.user.id):
        message = _("This link is not valid, or it is more than 24 hours old, or it was made for another account.")
        return render_template("auth/link_expired.html", message=message), 400
    if request.method == "POST":  # CSRFProtect has checked its token; a GET changes nothing
        return _apply(new)
    return render_template("account/email_confirm.html", email=new), 200


def _apply(new: str) -> Response | tuple[str, int]:
    old = current_user.email
    try:
        accounts.change_email(db.session(), account_settings(), current_user.login, new)
    except EmailTaken:
        form = EmailChangeForm(prefix="email", formdata=None, data={"email": new})
        form.email.errors = [_("Another account has this address.")]
        return render_template("account/email.html", form=form), 400
    smtp = SmtpSettings.from_config(current_app.config)
    if smtp is not None:  # the old address hears of it: a takeover does not go unnoticed
        text = _(
            "The e-mail address of your account at %(site)s is now %(email)s. If you did not do this, log in "
            "with your recovery code and change your password.",
            site=current_app.config["PUBLIC_URL"],
            email=new,
        )
        try:
            mail.send(mail.notice(smtp, old, _("Your e-mail address was changed"), text), smtp)
        except mail.MailError:
            log.warning("could not tell the former address of account %s about the change", current_user.login.user.id)
    flash(_("Your e-mail address is now %(email)s.", email=new), "success")
    return redirect(url_for("account.settings"))
