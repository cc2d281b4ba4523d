"""Form pieces several blueprints share."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from consent.errors import WeakPassword
from consent.passwords import MAX_LENGTH, MIN_LENGTH


def new_password_fields(label: str | None = None) -> tuple[PasswordField, PasswordField]:
    """A new password and its confirmation; the policy itself is the service's."""
    password = PasswordField(
        label or _l("Password"),
        validators=[DataRequired(_l("Enter a password."))],
        description=_l("At least %(n)d characters. A few unrelated words make a strong password.", n=MIN_LENGTH),
        render_kw={"autocomplete": "new-password", "minlength": MIN_LENGTH, "maxlength": MAX_LENGTH},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")), EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


def weak_password_message(error: WeakPassword) -> str:
    if error.reason == "too_short":
        return _("Use at least %(n)d characters.", n=MIN_LENGTH)
    if error.reason == "too_long":
        return _("Use at most %(n)d characters.", n=MAX_LENGTH)
    return _("This password is too common or too easy to guess. A few unrelated words make a strong one.")
