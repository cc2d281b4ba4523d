from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from consent import vocabulary
from consent.services.platforms import SHOWN, USE_FILTERS
from consent.web.countries import country_choices
from consent.web.forms import ConsentForm, ConsentSubform, plausible_date


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (usable without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IdentifierForm(ConsentSubform):
    kind = StringField(
        _l("Kind of identifier"), validators=[Length(max=80)], render_kw={"placeholder": _l("e.g. customer number")}
    )
    value = StringField(_l("Identifier"), validators=[Length(max=300)])


def _web_address(_form: ConsentForm, field: URLField) -> None:
    """Only http and https: another scheme (javascript:, data:) has no place in a link."""
    if field.data and not field.data.lower().startswith(("https://", "http://")):
        raise ValidationError(_("Enter a web address starting with https://."))


class PlatformForm(ConsentForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the platform's name.")), Length(max=200)])
    website = URLField(
        _l("Website"),
        validators=[
            Optional(),
            Length(max=300),
            URL(require_tld=False, message=_l("Enter a web address starting with https://.")),
        ],
    )
    email = EmailField(
        _l("Privacy contact e-mail"),
        validators=[
            Optional(),
            Length(max=254),
            Email(_l("Enter a valid e-mail address."), check_deliverability=False),
        ],
    )
    address = TextAreaField(_l("Postal address"), validators=[Length(max=500)], render_kw={"rows": 3})
    country = SelectField(_l("Country"), validators=[Optional()], validate_choice=True)
    dpo = StringField(_l("Data protection officer (optional)"), validators=[Length(max=300)])
    categories = CheckboxesField(_l("Personal data they hold"), validators=[Optional()], validate_choice=True)
    other_categories = StringField(_l("Other personal data"), validators=[Length(max=300)])
    identifiers = FieldList(FormField(IdentifierForm), min_entries=3, max_entries=10)
    directory = HiddenField(validators=[Optional(), Regexp(r"^[a-z0-9-]+$")])
    #: Set once the person has seen what a save would delete (identifiers, notes) and agreed.
    confirm_removal = HiddenField(validators=[Optional()])
    notes = TextAreaField(
        _l("Private notes"),
        validators=[Length(max=2000)],
        description=_l("Only you can read your identifiers and notes; they are not part of your ledger."),
        render_kw={"rows": 3},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.categories.choices = [SelectChoice(iri, _(label)) for iri, label in vocabulary.CATEGORIES.items()]


def _purpose_choices() -> list[SelectChoice]:
    choices = [SelectChoice(iri, _(label)) for iri, label in vocabulary.PURPOSES.items()]
    return [*choices, SelectChoice(vocabulary.CUSTOM, _("Another purpose (describe it below)"))]


class UseForm(ConsentForm):
    purpose = SelectField(_l("Purpose"), validate_choice=True)
    custom = StringField(_l("Other purpose"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description (optional)"), validators=[Length(max=1000)], render_kw={"rows": 2})
    legal_basis = SelectField(_l("Legal basis (optional)"), validators=[Optional()], validate_choice=True)
    recipients = StringField(_l("Recipients (optional)"), validators=[Length(max=300)])
    expires = DateField(_l("Valid until (optional)"), validators=[Optional(), plausible_date])
    decided_on = DateField(
        _l("When did you decide?"),
        validators=[Optional(), plausible_date],
        description=_l("Leave empty for now; give the date of a decision you made earlier elsewhere."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.purpose.choices = _purpose_choices()
        self.legal_basis.choices = [SelectChoice("", "—")] + [
            SelectChoice(iri, _(label)) for iri, label in vocabulary.LEGAL_BASES.items()
        ]

    def validate_custom(self, field: StringField) -> None:
        if self.purpose.data == vocabulary.CUSTOM and not (field.data or "").strip():
            raise ValidationError(_("Describe the purpose."))


class DecisionForm(ConsentForm):
    """A decision on an existing use; the action is in the URL."""

    expires = DateField(_l("Valid until (optional)"), validators=[Optional(), plausible_date])
    no_end = BooleanField(_l("No end date"))
    decided_on = DateField(_l("When did you decide?"), validators=[Optional(), plausible_date])


class UndoForm(ConsentForm):
    """Takes back a withdrawal: the index of the withdrawal's ledger event."""

    #: An event's index: the database's INTEGER bounds it (a larger number is no event).
    index = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=0, max=2**31 - 1)])


class ArchiveForm(ConsentForm):
    pass


class EraseForm(ConsentForm):
    """Erasing a platform cannot be undone: the password again, and a box ticked."""

    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    understood = BooleanField(
        _l("I understand that what this app holds about this platform will be erased for good."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class PlatformSearchForm(ConsentForm):
    """The search and filters of the platforms page: a GET form, so the page can be
    bookmarked and reloaded; it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(_l("Search by name, website or identifier"), validators=[Optional(), Length(max=200)])
    uses = SelectField(_l("Uses"), validators=[Optional()], validate_choice=True)
    category = SelectField(_l("Personal data they hold"), validators=[Optional()], validate_choice=True)
    shown = SelectField(_l("Show"), validators=[Optional()], validate_choice=True, default="current")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        use_names = {
            "granted": _("with a granted use"),
            "withdrawn": _("with a withdrawn use"),
            "refused": _("with a refused use"),
            "expired": _("with an expired use"),
            "expiring": _("with a consent expiring soon"),
        }
        self.uses.choices = [SelectChoice("", _("any"))] + [SelectChoice(k, use_names[k]) for k in USE_FILTERS]
        self.category.choices = [SelectChoice("", _("any"))] + [
            SelectChoice(iri, _(label)) for iri, label in vocabulary.CATEGORIES.items()
        ]
        shown_names = {
            "current": _("current platforms"),
            "archived": _("archived platforms"),
            "all": _("all platforms"),
        }
        self.shown.choices = [SelectChoice(k, shown_names[k]) for k in SHOWN]
