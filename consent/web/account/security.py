"""Second factors (an authenticator app) and the logins of the account."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import segno
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from consent import db
from consent.errors import WrongPassword
from consent.services import accounts, factors
from consent.web.account import bp
from consent.web.account.forms import TOTP_SECRET, AddPasskeyForm, AddTotpForm, EndLoginForm, RemoveFactorForm
from consent.web.logins import account_settings
from consent.web.second_factor import fresh_factor_required, relying_party

_ISSUER = "Consent manager"


def _security_page(
    add_form: AddTotpForm | None = None, passkey_form: AddPasskeyForm | None = None, status: int = 200
) -> tuple[str, int]:
    form = add_form or AddTotpForm(prefix="totp")
    if not re.fullmatch(TOTP_SECRET, form.secret.data or ""):  # new, or sent back altered: a fresh one
        form.secret.data = factors.new_totp_secret()
    uri = factors.totp_uri(form.secret.data or "", current_user.email, _ISSUER)
    qr = segno.make_qr(uri, error="m").svg_inline(scale=4, omitsize=True, title=_("QR code for your app"))
    rp = relying_party()
    passkey_options = None
    if rp is not None:
        passkey_options = factors.passkey_registration(db.session(), current_user.login, rp, current_user.email)
    html = render_template(
        "account/security.html",
        factors=factors.list_factors(db.session(), current_user.login),
        add_form=form,
        passkey_form=passkey_form or AddPasskeyForm(prefix="passkey"),
        passkey_options=passkey_options,
        remove_form=RemoveFactorForm(prefix="remove"),
        qr_svg=qr,
        required=current_app.config["REQUIRE_SECOND_FACTOR"],
        by_name=_by_name(),
    )
    return html, status


def _by_name() -> str:
    """This very address with the name "localhost" for its IP address (same scheme, same
    port): where passkeys work on a laptop's instance."""
    address = urlsplit(request.host_url)
    return address._replace(netloc="localhost" + (f":{address.port}" if address.port else "")).geturl().rstrip("/")


@bp.get("/settings/security")
@login_required
def security() -> tuple[str, int]:
    return _security_page()


def _password_ok(form: AddTotpForm | AddPasskeyForm | RemoveFactorForm) -> bool:
    try:
        accounts.confirm_password(db.session(), account_settings(), current_user.login, form.current.data)
    except WrongPassword:
        form.current.errors.append(_("The current password is wrong."))
        return False
    return True


@bp.post("/settings/security/totp")
@login_required
@fresh_factor_required("account.security")
def add_totp() -> Response | tuple[str, int]:
    form = AddTotpForm(prefix="totp")
    if not form.validate_on_submit() or not _password_ok(form):
        return _security_page(form, status=400)
    try:
        factors.add_totp(db.session(), current_user.login, secret=form.secret.data, code=form.code.data, name=form.name.data)
    except factors.WrongCode:
        form.code.errors.append(_("This code does not match: check the time on your phone and enter the current code."))
        return _security_page(form, status=400)
    flash(_("Your authenticator app is set up. Every other login has ended."), "success")
    return redirect(url_for("account.security"))


@bp.post("/settings/security/passkey")
@login_required
@fresh_factor_required("account.security")
def add_passkey() -> Response | tuple[str, int]:
    form = AddPasskeyForm(prefix="passkey")
    rp = relying_party()
    if not form.validate_on_submit() or not _password_ok(form):
        return _security_page(passkey_form=form, status=400)
    if rp is None:
        abort(400)
    try:
        factors.add_passkey(
            db.session(), current_user.login, rp, response=form.response.data, name=form.name.data
        )
    except factors.WrongCode:
        form.response.errors.append(_("This passkey could not be checked. Try again."))
        return _security_page(passkey_form=form, status=400)
    flash(_("Your passkey is set up. Every other login has ended."), "success")
    return redirect(url_for("account.security"))


@bp.post("/settings/security/<uuid:factor_id>/remove")
@login_required
@fresh_factor_required("account.security")
def remove_factor(factor_id: uuid.UUID) -> Response | tuple[str, int]:
    form = RemoveFactorForm(prefix="remove")
    if not form.validate_on_submit() or not _password_ok(form):
        return _security_page(status=400)
    try:
        factors.remove(db.session(), current_user.login, factor_id)
    except LookupError:
        abort(404)
    flash(_("The second factor is removed. Every other login has ended."), "info")
    return redirect(url_for("account.security"))


@bp.get("/settings/logins")
@login_required
def logins() -> str:
    return render_template(
        "account/logins.html", logins=factors.list_logins(db.session(), current_user.login), form=EndLoginForm()
    )


@bp.post("/settings/logins/end")
@login_required
def end_login() -> Response:
    form = EndLoginForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        factors.end_login(db.session(), current_user.login, form.login.data)
    except LookupError:
        abort(404)
    flash(_("That login has ended."), "info")
    return redirect(url_for("account.logins"))


@bp.post("/settings/logins/end-others")
@login_required
def end_other_logins() -> Response:
    factors.end_other_logins(db.session(), current_user.login)
    flash(_("Every other login has ended."), "info")
    return redirect(url_for("account.logins"))
