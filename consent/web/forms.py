"""Form pieces several blueprints share."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Field, PasswordField
from wtforms.validators import DataRequired, EqualTo, ValidationError

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


#: Dates the app takes: a person's decisions, letters and birth fall in these years, and
#: the deadline and ledger code are only ever asked about them.
FIRST_DAY, LAST_DAY = date(1800, 1, 1), date(2999, 12, 31)


def plausible_date(_form: Any, field: Field) -> None:
    """A date field's validator: refuses a year before 1800 or after 2999 (typos like 0202)."""
    if field.data is not None and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(_("Enter a date between %(first)d and %(last)d.", first=FIRST_DAY.year, last=LAST_DAY.year))


def weak_password_message(error: WeakPassword) -> str:
    if error.reason == "too_short":
        return _("Use at least %(n)d characters.", n=MIN_LENGTH)
    if error.reason == "too_long":
        return _("Use at most %(n)d characters.", n=MAX_LENGTH)
    return _("This password is too common or too easy to guess. A few unrelated words make a strong one.")
