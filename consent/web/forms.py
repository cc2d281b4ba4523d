"""Form pieces several blueprints share."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, Form, PasswordField, StringField, TextAreaField
from wtforms.meta import DefaultMeta
from wtforms.validators import DataRequired, EqualTo, ValidationError

from consent.errors import WeakPassword
from consent.passwords import MAX_LENGTH, MIN_LENGTH

#: Characters no name, address, identifier or note needs, and that can make text show
#: other than it is: C0 and C1 controls, and the bidi embeddings, overrides and isolates
#: ("moc.live" shown reversed by U+202E). Tab and line breaks stay allowed in text areas.
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)
_LINE_BREAKS = frozenset("\t\n\r")


def visible_text(_form: Any, field: Field) -> None:
    """Refuses invisible control characters (and line breaks where one line is asked)."""
    refused = _INVISIBLE if isinstance(field, TextAreaField) else _INVISIBLE | _LINE_BREAKS
    if isinstance(field.data, str) and not refused.isdisjoint(field.data):
        raise ValidationError(_("Remove the invisible control characters from this text."))


class _VisibleText:
    """Form metadata that gives every text field the visible_text rule."""

    def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
        field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
        if isinstance(field, StringField) and not isinstance(field, PasswordField):
            field.validators = [*field.validators, visible_text]
        return field


class ConsentForm(FlaskForm):
    """The app's forms: every text field refuses invisible control characters, so no rule
    depends on someone remembering it on each new field. Passwords are exempt: they are
    never shown, and a person's password is theirs to choose."""

    class Meta(_VisibleText, FlaskForm.Meta):
        pass


class ConsentSubform(Form):
    """A form inside a form (FormField), under the same rule; its parent carries the CSRF token."""

    class Meta(_VisibleText, DefaultMeta):
        pass


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
