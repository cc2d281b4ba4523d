from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from consent import db
from consent.errors import WeakPassword, WrongPassword
from consent.services import accounts, calendar, profiles
from consent.web import times
from consent.web.account import bp
from consent.web.account.forms import (
    CalendarForm,
    ChangePasswordForm,
    DeleteAccountForm,
    LanguageForm,
    ProfileForm,
    RecoveryCodeForm,
    TimeZoneForm,
)
from consent.web.auth.recovery import show_recovery_code
from consent.web.forms import weak_password_message
from consent.web.logins import account_settings
from consent.web.pages import form_page
from consent.web.second_factor import fresh_factor_required


def _wrong_password() -> str:
    return _("The current password is wrong.")


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> Response | tuple[str, int]:
    form = ProfileForm()
    if form.validate_on_submit():
        values = {
            name: form[name].data
            for name in ("full_name", "postal_address", "correspondence_email", "phone", "country", "authority")
        }
        values["date_of_birth"] = form.date_of_birth.data.isoformat() if form.date_of_birth.data else None
        profiles.update_profile(db.session(), current_user.login, values)
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("account.profile"))
    if not form.is_submitted():
        stored = profiles.read_profile(db.session(), current_user.login)
        for name, value in stored.items():
            if name == "date_of_birth":
                form.date_of_birth.data = date.fromisoformat(value) if value else None
            else:
                form[name].data = value or ""
    return form_page("account/profile.html", form=form)


def _settings_page(**forms: object) -> tuple[str, int]:
    context: dict[str, object] = {
        "password_form": ChangePasswordForm(prefix="password"),
        "recovery_form": RecoveryCodeForm(prefix="recovery"),
        "delete_form": DeleteAccountForm(prefix="delete"),
        "language_form": LanguageForm(language=current_user.login.user.language or ""),
        "time_zone_form": TimeZoneForm(formdata=None, prefix="tz", time_zone=times.chosen_zone() or ""),
        "calendar_form": CalendarForm(prefix="calendar"),
        "calendar_feed": calendar.has_feed(db.session(), current_user.login),
    }
    context.update(forms)
    return form_page("account/settings.html", **context)


@bp.get("/settings")
@login_required
def settings() -> tuple[str, int]:
    return _settings_page()


@bp.post("/settings/time-zone")
@login_required
def time_zone() -> Response | tuple[str, int]:
    form = TimeZoneForm(prefix="tz")
    if form.validate_on_submit():
        accounts.set_time_zone(db.session(), current_user.login, form.time_zone.data or None)
        flash(_("Your time zone is saved."), "success")
        return redirect(url_for("account.settings", _anchor="time-zone"))
    return _settings_page(time_zone_form=form)


@bp.post("/settings/password")
@login_required
@fresh_factor_required("account.settings")
def change_password() -> Response | tuple[str, int]:
    form = ChangePasswordForm(prefix="password")
    if form.validate_on_submit():
        try:
            accounts.change_password(
                db.session(), account_settings(), current_user.login, current=form.current.data, new=form.password.data
            )
        except WrongPassword:
            form.current.errors.append(_wrong_password())
        except WeakPassword as e:
            form.password.errors.append(weak_password_message(e))
        else:
            flash(_("Your password is changed and every other login has ended."), "success")
            return redirect(url_for("account.settings"))
    return _settings_page(password_form=form)


@bp.post("/settings/recovery-code")
@login_required
@fresh_factor_required("account.settings")
def new_recovery_code() -> Response | tuple[str, int]:
    form = RecoveryCodeForm(prefix="recovery")
    if form.validate_on_submit():
        try:
            code = accounts.replace_recovery_code(
                db.session(), account_settings(), current_user.login, password=form.current.data
            )
        except WrongPassword:
            form.current.errors.append(_wrong_password())
        else:
            return show_recovery_code(code, current_user.email, first=False)
    return _settings_page(recovery_form=form)


@bp.post("/settings/delete")
@login_required
@fresh_factor_required("account.settings")
def delete_account() -> Response | tuple[str, int]:
    form = DeleteAccountForm(prefix="delete")
    if form.validate_on_submit():
        try:
            accounts.delete_account(db.session(), account_settings(), current_user.login, password=form.current.data)
        except WrongPassword:
            form.current.errors.append(_wrong_password())
        else:
            logout_user()
            flash(_("Your account and everything in it are deleted."), "info")
            return redirect(url_for("main.index"))
    return _settings_page(delete_form=form)


@bp.post("/settings/calendar")
@login_required
def calendar_feed() -> str | Response:
    """Make a new secret calendar link (the old one stops working), or revoke it."""
    form = CalendarForm(prefix="calendar")
    if not form.validate_on_submit():
        return redirect(url_for("account.settings"))
    if form.revoke.data:
        calendar.revoke(db.session(), current_user.login)
        flash(_("The calendar link no longer works."), "info")
        return redirect(url_for("account.settings"))
    token = calendar.create(db.session(), current_user.login, include_names=form.include_names.data)
    link = url_for("main.calendar", token=token, _external=True)
    return render_template("account/calendar_link.html", link=link)
