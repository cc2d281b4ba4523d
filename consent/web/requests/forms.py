from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from consent.letters import GROUNDS, KINDS, LANGUAGES, words
from consent.services.requests import MAX_LETTER_CHARS
from consent.web.decisions import letter_label, request_status_label
from consent.web.forms import ConsentForm, ConsentSubform, plausible_date
from consent.web.platforms.forms import CheckboxesField

#: An id as the app writes it (a lowercase hyphenated UUID), nothing that merely looks like one.
UUID_TEXT = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_UUID = Regexp(UUID_TEXT)


class LetterForm(ConsentForm):
    kind = SelectField(_l("Kind of letter"), validate_choice=True)
    language = SelectField(_l("Language of the letter"), validate_choice=True)
    channel = SelectField(_l("How you send it"), validate_choice=True)
    uses = CheckboxesField(_l("Uses it is about"), validators=[Optional()], validate_choice=True)
    identifiers = CheckboxesField(_l("Identifiers to include"), validators=[Optional()], validate_choice=True)
    include_address = BooleanField(_l("My postal address"), default=True)
    include_email = BooleanField(_l("My e-mail for correspondence"), default=True)
    include_birth = BooleanField(_l("My date of birth"))
    include_phone = BooleanField(_l("My phone number"))
    authority = SelectField(_l("Supervisory authority"), validators=[Optional()], validate_choice=True)
    details = TextAreaField(_l("Anything to add (optional)"), validators=[Length(max=3000)], render_kw={"rows": 3})
    #: Restriction: Article 18(1)(a)-(d).
    grounds = CheckboxesField(_l("Why the processing should be restricted"), validators=[Optional()], validate_choice=True)
    #: Objection under Article 21(1).
    situation = TextAreaField(
        _l("Your particular situation: why this processing harms you"),
        validators=[Length(max=3000)],
        render_kw={"rows": 3},
    )
    #: Portability, Article 20(2).
    transmit_to = StringField(
        _l("Send my data directly to (optional: the name and address of the other company)"),
        validators=[Length(max=300)],
    )
    parent = HiddenField(validators=[Optional(), _UUID])
    #: The letter as the person may edit it before sending; prefilled with the composed text.
    text = TextAreaField(
        _l("The letter (you may edit it before you send it)"),
        validators=[Length(max=MAX_LETTER_CHARS)],
        id="letter-text",  # what "Copy the full text" copies
        render_kw={"rows": 24, "spellcheck": "true"},
    )
    #: The SHA-256 of the composed text the page last showed, and the kind it was for: the
    #: text area holds an edit when its text differs, and no button acts on a letter the
    #: person has not seen.
    composed = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{64}$")])
    text_kind = HiddenField(validators=[Optional(), Length(max=20)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(kind, letter_label(kind)) for kind in KINDS]
        self.language.choices = language_choices()
        labels = (
            _l("I contest the accuracy of my data, while they check it (Art. 18(1)(a))"),
            _l("The processing is unlawful, and I want it restricted rather than erased (Art. 18(1)(b))"),
            _l("They no longer need the data, but I need them for a legal claim (Art. 18(1)(c))"),
            _l("I objected, and they have not yet shown their grounds override mine (Art. 18(1)(d))"),
        )
        self.grounds.choices = [SelectChoice(ground, label) for ground, label in zip(GROUNDS, labels, strict=True)]
        self.channel.choices = [
            SelectChoice("email", _l("By e-mail")),
            SelectChoice("post", _l("By post")),
            SelectChoice("webform", _l("With their web form")),
        ]


def language_choices() -> list[SelectChoice]:
    """The letters' languages, each named in itself."""
    return [SelectChoice(lang, words(lang)["name"]) for lang in LANGUAGES]


class SentForm(ConsentForm):
    sent_on = DateField(_l("Sent on"), validators=[Optional(), plausible_date])
    delivered_on = DateField(_l("Delivered on (from the postal receipt, if you have it)"), validators=[Optional(), plausible_date])
    #: "y" once the person read what recording the letter as sent does.
    confirm = HiddenField()


class DeleteForm(ConsentForm):
    #: "y" once the person read that the draft will be gone.
    confirm = HiddenField()


#: What the requests page filters by, as the person reads a status ("answered" takes in a
#: partial answer, "sent" a reminder sent: see services.requests.RequestFilter).
FILTER_STATUSES = ("draft", "sent", "extended", "overdue", "answered", "refused", "complaint_filed", "closed")


class FilterForm(ConsentSubform):
    """The requests page's search: a GET form (no CSRF token: it changes nothing), so the
    filters are in the URL and a filtered list can be bookmarked."""

    q = StringField(_l("Platform"), validators=[Optional(), Length(max=200)], render_kw={"type": "search"})
    kind = SelectField(_l("Kind of letter"), validators=[Optional()], validate_choice=True, default="")
    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=True, default="")
    due_soon = BooleanField(_l("Due within seven days"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _l("Any kind")), *(SelectChoice(k, letter_label(k)) for k in KINDS)]
        self.status.choices = [
            SelectChoice("", _l("Any status")),
            *(SelectChoice(status, request_status_label(status)) for status in FILTER_STATUSES),
        ]


class UpdateForm(ConsentForm):
    status = SelectField(
        _l("What happened"),
        validators=[DataRequired(message=_l("Choose what happened."))],
        validate_choice=True,
        default="",
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=5000)], render_kw={"rows": 3})
    file = FileField(_l("Their answer, as a file (optional)"))
    delivered_on = DateField(_l("Delivered on"), validators=[Optional(), plausible_date])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # No default: recording a note must never announce an extension by itself.
        self.status.choices = [
            SelectChoice("", _l("Choose what happened"), render_kw={"disabled": True}),
            SelectChoice("extended", _l("They announced an extension (two more months)")),
            SelectChoice("answered", _l("They answered")),
            SelectChoice("partly_answered", _l("They answered in part")),
            SelectChoice("refused", _l("They refused")),
            SelectChoice("closed", _l("Close this request")),
            SelectChoice("delivered", _l("Correct the delivery date")),
        ]


class SeveralForm(ConsentForm):
    kind = SelectField(_l("Kind of letter"), validate_choice=True)
    language = SelectField(_l("Language"), validate_choice=True)
    platforms = CheckboxesField(_l("Platforms"), validate_choice=True)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = [SelectChoice("auto", _l("Each platform's language")), *language_choices()]
        # Letters that stand on their own. A rectification or a restriction needs the
        # person's own words for each platform, a reminder, a complaint, an objection or a
        # withdrawal is about one request or one use: each is written from its own page.
        self.kind.choices = [SelectChoice(kind, letter_label(kind)) for kind in ("access", "erasure", "portability")]
