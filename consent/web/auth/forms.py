"""The forms of registering, logging in and resetting a password."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from consent.errors import WeakPassword
from consent.passwords import check_new_password
from consent.web.forms import ConsentForm, new_password_fields, weak_password_message

_EMAIL = [
    DataRequired(_l("Enter your e-mail address.")),
    Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
    Email(_l("Enter a valid e-mail address."), check_deliverability=False),
]


class RegisterForm(ConsentForm):
    email = EmailField(_l("E-mail"), validators=_EMAIL, render_kw={"autocomplete": "email"})
    password, confirm = new_password_fields()


class AddressForm(ConsentForm):
    """Registration's first step when the instance sends mail: the address alone."""

    email = EmailField(_l("E-mail"), validators=_EMAIL, render_kw={"autocomplete": "email"})


class ChoosePasswordForm(ConsentForm):
    """Registration's last step, from the link: the password."""

    password, confirm = new_password_fields()


class LoginForm(ConsentForm):
    email = EmailField(_l("E-mail"), validators=_EMAIL, render_kw={"autocomplete": "username"})
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class ResetForm(ConsentForm):
    email = EmailField(_l("E-mail"), validators=_EMAIL, render_kw={"autocomplete": "username"})
    recovery_code = StringField(
        _l("Recovery code"),
        validators=[DataRequired(_l("Enter your recovery code.")), Length(max=100)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    password, confirm = new_password_fields(_l("New password"))


class SecondStepForm(ConsentForm):
    passkey = HiddenField(validators=[Length(max=20000)])
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )
    recovery_code = StringField(
        _l("Or your recovery code"),
        validators=[Length(max=100)],
        description=_l("It works once: you get a new one right after."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


def validate_with_password(form: RegisterForm | ChoosePasswordForm | ResetForm, email: str = "") -> bool:
    """``validate_on_submit``, and when another field is wrong, the password policy too,
    so that the person sees every error of the form at once rather than one per try.
    (A form that is otherwise valid leaves the policy to the service, which checks it.)"""
    if form.validate_on_submit():
        return True
    password = form.password.data or ""
    if form.is_submitted() and password and not form.password.errors:
        try:
            check_new_password(password, context=[email] if email else [])
        except WeakPassword as e:
            form.password.errors.append(weak_password_message(e))
    return False
