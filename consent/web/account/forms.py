from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from consent.config import LANGUAGE_NAMES
from consent.directory import authorities
from consent.web import times
from consent.web.countries import country_choices
from consent.web.forms import ConsentForm, new_password_fields, plausible_date

_CURRENT_PASSWORD = [DataRequired(_l("Enter your current password.")), Length(max=1024)]


class ProfileForm(ConsentForm):
    full_name = StringField(_l("Full name"), validators=[Length(max=200)], render_kw={"autocomplete": "name"})
    postal_address = TextAreaField(
        _l("Postal address"), validators=[Length(max=500)], render_kw={"autocomplete": "street-address", "rows": 4}
    )
    correspondence_email = EmailField(
        _l("E-mail for correspondence"),
        validators=[
            Optional(),
            Length(max=254),
            Email(_l("Enter a valid e-mail address."), check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )
    date_of_birth = DateField(
        _l("Date of birth (optional)"), validators=[Optional(), plausible_date], render_kw={"autocomplete": "bday"}
    )
    phone = StringField(
        _l("Phone (optional)"),
        validators=[
            Optional(),
            Length(max=40),
            Regexp(r"^\+?[0-9 ().\-/]+$", message=_l("Enter a phone number: digits, spaces and + ( ) - . / only.")),
        ],
        render_kw={"autocomplete": "tel"},
    )
    country = SelectField(_l("Country of residence"), validators=[Optional()], validate_choice=True)
    authority = SelectField(
        _l("Supervisory authority for complaints"),
        validators=[Optional()],
        validate_choice=True,
        description=_l(
            "Where you live decides which authorities you can complain to. Leave the default unless you know better."
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        names = {choice.value: choice.label for choice in country_choices()}
        self.authority.choices = [SelectChoice("", _("The default authority of my country"))] + [
            SelectChoice(a.id, a.name, optgroup=names.get(a.country, a.country)) for a in authorities.bundled()
        ]

    def validate_authority(self, field: SelectField) -> None:
        if field.data and field.data not in {a.id for a in authorities.competent_authorities(self.country.data or "")}:
            raise ValidationError(_("Choose an authority of your country of residence."))


class ChangePasswordForm(ConsentForm):
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )
    password, confirm = new_password_fields(_l("New password"))


class RecoveryCodeForm(ConsentForm):
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )


class DeleteAccountForm(ConsentForm):
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )
    understood = BooleanField(
        _l("I understand that my account, my platforms, my ledger and my letters will be deleted for good."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class LanguageForm(ConsentForm):
    language = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("As my browser"))] + [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        validate_choice=True,
    )


class TimeZoneForm(ConsentForm):
    time_zone = SelectField(
        _l("Time zone"),
        validate_choice=True,
        invalid_choice_message=_l("Choose a time zone from the list."),
        description=_l("Every time the app shows is in this zone, and says so."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = [SelectChoice("", _("As my browser says"))] + [
            SelectChoice(zone, zone.replace("_", " "), optgroup=zone.split("/", 1)[0] if "/" in zone else None)
            for zone in times.menu_zones()
        ]


class CalendarForm(ConsentForm):
    include_names = BooleanField(_l("Show the platforms' names in my calendar"))
    revoke = BooleanField()


class EmailChangeForm(ConsentForm):
    email = EmailField(
        _l("New e-mail address"),
        validators=[
            DataRequired(_l("Enter your new e-mail address.")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
            Email(_l("Enter a valid e-mail address."), check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )


#: A TOTP secret as pyotp makes them: base32, at least 112 bits (RFC 4226 asks 128, advises 160).
TOTP_SECRET = r"^[A-Z2-7]{26,64}$"  # noqa: S105 (a pattern, not a secret)


class AddTotpForm(ConsentForm):
    secret = HiddenField(validators=[DataRequired(), Regexp(TOTP_SECRET)])
    name = StringField(_l("Name"), default="", validators=[Length(max=60)], description=_l("For instance: phone"))
    code = StringField(
        _l("The code your app shows now"),
        validators=[DataRequired(_l("Enter the code your app shows.")), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )


class RemoveFactorForm(ConsentForm):
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )


class EndLoginForm(ConsentForm):
    login = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$")])


class AddPasskeyForm(ConsentForm):
    response = HiddenField(validators=[DataRequired(_l("Your browser did not make a passkey.")), Length(max=20000)])
    name = StringField(_l("Name"), default="", validators=[Length(max=60)], description=_l("For instance: laptop"))
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )


class ExportArchiveForm(ConsentForm):
    """The account archive to download (consent.services.archive)."""

    encrypt = BooleanField(_l("Encrypt the archive with a passphrase (recommended)"), default=True)
    passphrase = PasswordField(
        _l("Passphrase"),
        validators=[Length(max=1024)],
        description=_l("You will need it to open the archive: keep it apart from the archive."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm_passphrase = PasswordField(
        _l("Passphrase again"), validators=[Length(max=1024)], render_kw={"autocomplete": "new-password"}
    )
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )

    def validate_passphrase(self, field: PasswordField) -> None:
        if not self.encrypt.data and (field.data or self.confirm_passphrase.data):
            # A passphrase typed, then the box unticked: never hand out the signing key in
            # the clear on a guess of which one the person meant.
            raise ValidationError(_("You typed a passphrase but unticked encryption: tick it, or clear the passphrase."))
        if self.encrypt.data and len(field.data or "") < 8:
            raise ValidationError(_("Choose a passphrase of at least 8 characters, or untick encryption."))

    def validate_confirm_passphrase(self, field: PasswordField) -> None:
        if self.encrypt.data and field.data != self.passphrase.data:
            raise ValidationError(_("The two passphrases differ."))


class ImportArchiveForm(ConsentForm):
    """An archive made elsewhere, to become this (still empty) account."""

    archive = FileField(
        _l("Account archive (.zip or .zip.age)"), validators=[FileRequired(_l("Choose the archive file."))]
    )
    passphrase = PasswordField(
        _l("Its passphrase, if it is encrypted"), validators=[Length(max=1024)], render_kw={"autocomplete": "off"}
    )
    current = PasswordField(
        _l("Current password"), validators=_CURRENT_PASSWORD, render_kw={"autocomplete": "current-password"}
    )
