from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from consent import db, mail, places
from consent.directory import authorities
from consent.directory.search import fold
from consent.ledger import events
from consent.letters import (
    LANGUAGES,
    Identity,
    LedgerReference,
    Letter,
    LetterError,
    LetterRequest,
    Original,
    Party,
    name_of,
    words,
)
from consent.letters.evidence import Exhibit, to_evidence_pdf
from consent.letters.output import download_name, mailto, one_line, short_mailto, to_email, to_pdf
from consent.mail import SmtpSettings
from consent.services import ledger, outbox, platforms, profiles, requests
from consent.services.platforms import PlatformView
from consent.services.requests import RequestError, RequestView
from consent.web.decisions import use_label
from consent.web.pages import public_url_for
from consent.web.requests import bp
from consent.web.requests.forms import (
    UUID_TEXT,
    DeleteForm,
    FilterForm,
    LetterForm,
    SentForm,
    SeveralForm,
    UpdateForm,
)

_MARKETING = {
    "Marketing",
    "DirectMarketing",
    "Advertising",
    "PersonalisedAdvertising",
    "TargetedAdvertising",
    "SocialMediaMarketing",
}
#: The language a company's letters are written in by default, by the country it is in.
_LANGUAGE_OF = {
    **dict.fromkeys(("FR", "BE", "LU", "MC"), "fr"),
    **dict.fromkeys(("DE", "AT", "CH", "LI"), "de"),
    **dict.fromkeys(("IE", "GB", "MT", "CY"), "en"),
    "ES": "es",
    "IT": "it",
    "NL": "nl",
    "PL": "pl",
    "PT": "pt",
}


def _request_message(error: RequestError) -> str:
    return {
        "channel": _("Choose how you send the letter."),
        "in_future": _("A letter cannot be sent in the future."),
        "late_extension": _(
            "An extension must be announced within the first month (Article 12(3) GDPR). This one came after "
            "the deadline, so it extends nothing: record it as a note with their answer, or write the reminder."
        ),
        "before_gdpr": _("A GDPR letter cannot have been sent before 25 May 2018, when the regulation began to apply."),
        "placeholder": _(
            "This draft was written before letters asked for your own words and still holds a placeholder. "
            "Write the letter again from the platform's page."
        ),
        "before_sending": _("The delivery date must fall between sending and today."),
        "no_address": _("This platform has no postal address: add it to the platform, or send the letter another way."),
        "no_email": _("This platform has no e-mail address: add it to the platform, or send the letter another way."),
        "not_allowed": _("This request cannot change that way now."),
        "too_large": _("The file is too large."),
        "text_empty": _("The letter is empty: write its text, or write it again from your choices."),
        "text_too_long": _("The letter is too long: it may hold at most %(n)d characters.", n=requests.MAX_LETTER_CHARS),
        "text_invisible": _("Remove the invisible control characters from the letter."),
    }.get(error.reason, _("This cannot be recorded."))


def _platform_or_404(platform_id: uuid.UUID) -> PlatformView:
    view = platforms.get_platform(db.session(), current_user.login, platform_id)
    if view is None:
        abort(404)
    return view


@dataclass(frozen=True)
class LetterOptions:
    """What the person chose for a letter (from the letter form, or the several-at-once form)."""

    kind: str
    language: str
    channel: str
    uses: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    include_address: bool = True
    include_email: bool = True
    include_birth: bool = False
    include_phone: bool = False
    details: str = ""
    parent: str = ""
    authority: str = ""
    grounds: tuple[str, ...] = ()
    situation: str = ""
    transmit_to: str = ""

    @classmethod
    def from_form(cls, form: LetterForm) -> LetterOptions:
        return cls(
            kind=form.kind.data,
            language=form.language.data,
            channel=form.channel.data,
            uses=tuple(form.uses.data or ()),
            identifiers=tuple(form.identifiers.data or ()),
            include_address=bool(form.include_address.data),
            include_email=bool(form.include_email.data),
            include_birth=bool(form.include_birth.data),
            include_phone=bool(form.include_phone.data),
            details=form.details.data or "",
            parent=form.parent.data or "",
            authority=form.authority.data or "",
            grounds=tuple(form.grounds.data or ()),
            situation=form.situation.data or "",
            transmit_to=form.transmit_to.data or "",
        )


def _parent(parent_id: str) -> RequestView | None:
    if not parent_id:
        return None
    if not re.match(UUID_TEXT, parent_id):
        abort(404)
    parent = requests.get_request(db.session(), current_user.login, uuid.UUID(parent_id))
    if parent is None:
        abort(404)
    return parent


def _setup(form: LetterForm, view: PlatformView, profile: dict[str, str | None]) -> None:
    """Choices that depend on the platform and the person."""
    form.uses.choices = [(u.id, use_label(u.purpose, u.label)) for u in view.uses]
    form.identifiers.choices = [
        (str(n), f"{i.kind or _('Identifier')}: {i.value}") for n, i in enumerate(view.identifiers)
    ]
    # The person's own authorities (Art. 77(1): habitual residence), then the controller's
    # (its lead authority, Art. 56), for a person who prefers to complain there.
    controller = places.country_of(view.state.address) or view.state.country
    competent = authorities.competent_authorities(profile.get("country") or "") + [
        a for a in authorities.competent_authorities(controller) if a.country != (profile.get("country") or "")
    ]
    competent = competent or [a for a in authorities.bundled() if a.level == "national"]
    form.authority.choices = [(a.id, f"{a.name} ({a.country})") for a in competent]


def _defaults(form: LetterForm, view: PlatformView, profile: dict[str, str | None]) -> None:
    """What a letter starts with: the kind and use from the link, the platform's language."""
    kind = request.args.get("kind", "access")
    form.kind.data = kind if kind in {c[0] for c in form.kind.iter_choices()} else "access"
    use = request.args.get("use")
    form.uses.data = [use] if use in {u.id for u in view.uses} else []
    form.identifiers.data = [str(n) for n in range(len(view.identifiers))]
    parent = request.args.get("parent")
    form.parent.data = parent if parent and re.match(UUID_TEXT, parent) else ""
    country = profile.get("country") or ""
    region = places.region_of(country, profile.get("postal_address") or "")
    chosen = (
        profile.get("authority")
        or (authorities.authority_for(country, region) or authorities.bundled()[0]).id
    )
    form.authority.data = chosen
    form.language.data = _default_language(view)
    form.channel.data = _default_channel(view)
    authority = authorities.by_id(chosen)
    if form.kind.data == "complaint" and authority is not None:
        form.channel.data = "webform" if authority.webform else ("email" if authority.email else "post")
        form.language.data = authority.language if authority.language in LANGUAGES else form.language.data


def _default_language(view: PlatformView) -> str:
    """The platform's country's language when it is one of the letters', else the person's."""
    ui = str(request.accept_languages.best_match(LANGUAGES) or "en")
    country = places.country_of(view.state.address) or view.state.country
    language = _LANGUAGE_OF.get(country, ui if ui in LANGUAGES else "en")
    return language if language in LANGUAGES else "en"


def _default_channel(view: PlatformView) -> str:
    return "email" if view.state.email else ("post" if view.state.address else "webform")


@dataclass(frozen=True)
class Composed:
    """A letter as the person asked for it, as it reads if sent today, and what it cites."""

    request: LetterRequest
    preview: requests.Sending
    cited: list[int]
    #: How it goes, whose holidays count, and the deadline a reminder restates: what
    #: ``sending()`` needs to date it another day.
    channel: str = "email"
    country: str = ""
    region: str = ""
    parent_due: date | None = None

    def due_if_sent(self, sent_on: date, delivered_on: date | None, post_delivery_days: int) -> date | None:
        """The deadline the tracker will follow if the letter is recorded as sent on ``sent_on``."""
        return requests.sending(
            self.request,
            channel=self.channel,
            sent_on=sent_on,
            delivered_on=delivered_on,
            post_delivery_days=post_delivery_days,
            country=self.country,
            region=self.region,
            parent_due=self.parent_due,
        ).due

    @property
    def letter(self) -> Letter:
        return self.preview.letter


def _compose(
    options: LetterOptions, view: PlatformView, profile: dict[str, str | None], today: date
) -> Composed:
    """The letter the options describe, dated ``today``. The names of uses are given in the
    letter's language (where the interface has it), not the person's."""
    with force_locale(options.language):
        letter_request, cited, parent = _letter_request(options, view, profile, today)
    country, region = requests.deadline_place(
        options.kind, {"address": view.state.address, "country": view.state.country}, options.authority
    )
    preview = requests.sending(
        letter_request,
        channel=options.channel,
        sent_on=today,
        post_delivery_days=current_app.config["POST_DELIVERY_DAYS"],
        country=country,
        region=region,
        parent_due=parent.due if parent is not None else None,
    )
    parent_due = parent.due if parent is not None else None
    return Composed(letter_request, preview, cited, options.channel, country, region, parent_due)


def _letter_request(
    options: LetterOptions, view: PlatformView, profile: dict[str, str | None], today: date
) -> tuple[LetterRequest, list[int], RequestView | None]:
    s, login = db.session(), current_user.login
    kind = options.kind
    birth = profile.get("date_of_birth")
    sender = Identity(
        name=profile.get("full_name") or "",
        address=(profile.get("postal_address") or "") if options.include_address else "",
        email=(profile.get("correspondence_email") or current_user.email) if options.include_email else "",
        phone=(profile.get("phone") or "") if options.include_phone else "",
        birth=date.fromisoformat(birth) if birth and options.include_birth else None,
    )
    chosen_uses = [u for u in view.uses if u.id in options.uses]
    cited: list[int] = []
    references = []
    if kind in ("withdrawal", "objection"):
        wanted = {"withdrawal": {events.USE_WITHDRAWN}, "objection": {events.USE_WITHDRAWN, events.USE_REFUSED}}[kind]
        decisions = _last_decisions({u.id for u in chosen_uses}, wanted)
        for use in chosen_uses:
            decision = decisions.get(use.id)
            if decision is None:
                continue
            found = ledger.citation(s, login, decision["index"])
            if found is not None:
                cited.append(decision["index"])
                references.append(
                    LedgerReference(
                        use_label(use.purpose, use.label),
                        events.parse_time(decision["at"]).date(),
                        found.index,
                        found.hash,
                        found.size,
                        found.root,
                    )
                )
    parent = _parent(options.parent)
    if kind == "complaint" and parent is not None:
        # The complaint carries the receipts of the letters sent about this request.
        for event in ledger.iter_events(s, login):
            if event["type"] == events.LETTER_SENT and event["data"].get("request") in _family(parent.id):
                found = ledger.citation(s, login, event["index"])
                if found is not None:
                    cited.append(event["index"])
                    label = name_of(str(event["data"].get("kind", "")), options.language)
                    at = events.parse_time(event["at"]).date()
                    references.append(LedgerReference(label, at, found.index, found.hash, found.size, found.root))
    original = None
    if parent is not None and parent.sent_on and parent.received_on and parent.due:
        original = Original(
            parent.kind,
            parent.sent_on,
            parent.received_on,
            parent.due,
            parent.estimated,
            parent.status == "partly_answered",
        )
    controller = Party(view.state.name, view.state.address, view.state.email)
    recipient, platform = controller, None
    if kind == "complaint":
        authority = authorities.by_id(options.authority)
        if authority is None:
            raise LetterError("a complaint needs a supervisory authority")
        recipient, platform = Party(authority.name, authority.postal_address, authority.email), controller
    letter_request = LetterRequest(
        kind=kind,
        language=options.language,
        sender=sender,
        recipient=recipient,
        today=today,
        identifiers=tuple(
            (view.identifiers[int(n)].kind or _("Identifier"), view.identifiers[int(n)].value)
            for n in options.identifiers
            if n.isdigit() and int(n) < len(view.identifiers)
        ),
        uses=tuple(use_label(u.purpose, u.label) for u in chosen_uses),
        details=options.details,
        references=tuple(references),
        ledger_key=str(ledger.verifier_key(login)) if references else "",
        original=original,
        platform=platform,
        direct_marketing=any(u.purpose.rpartition("#")[2] in _MARKETING for u in chosen_uses),
        place=places.town_of(profile.get("postal_address") or "") if options.include_address else "",
        grounds=options.grounds,
        situation=options.situation,
        transmit_to=options.transmit_to,
        verify_url=_verify_url() if references else "",
    )
    return letter_request, cited, parent


def _family(request_id: str) -> set[str]:
    """A request and the reminders sent about it."""
    found = {request_id}
    for item in requests.list_requests(db.session(), current_user.login):
        if item.parent == request_id:
            found.add(item.id)
    return found


def _last_decisions(use_ids: set[str], kinds: set[str]) -> dict[str, dict[str, Any]]:
    """The latest event of one of ``kinds`` for each use, in one pass over the ledger."""
    found: dict[str, dict[str, Any]] = {}
    if not use_ids:
        return found
    for event in ledger.iter_events(db.session(), current_user.login):
        if event.get("use") in use_ids and event["type"] in kinds:
            found[event["use"]] = event
    return found


def _attachments(cited: list[int]) -> list[tuple[str, bytes]]:
    """The receipts of the ledger events a letter cites, as files to attach."""
    files = []
    for index in cited:
        receipt = ledger.receipt(db.session(), current_user.login, index)
        if receipt is not None:
            files.append((f"consent-receipt-{index}.json", json.dumps(receipt, ensure_ascii=False, indent=2).encode()))
    return files


#: The steps that act on the letter: each needs the letter the page showed.
_ACTS = ("pdf", "txt", "eml", "draft", "send_email", "sent")
#: The steps with consequences that cannot be taken back: each asks for a confirmation first.
_CONFIRMED = ("send_email", "sent")


@dataclass
class Shown:
    """The letter on the compose page: as composed, or as the person edited it."""

    letter: Letter
    edited: str | None = None
    #: Why the page shows something other than what the person submitted, if it does.
    notice: str | None = None


def _shown(form: LetterForm, composed: Composed, step: str) -> Shown:
    """The letter the form's text area holds: the person's edit when its text differs from
    the composed text the page showed (``form.composed``), else the letter as composed.
    An edit made for another kind of letter is not kept (the page never shows a letter of
    another kind than the one chosen), nor one the person asked to write again."""
    letter = composed.letter
    submitted = (form.text.data or "").replace("\r\n", "\n").replace("\r", "\n")
    if not form.composed.data or _sha256(submitted) == form.composed.data:
        return Shown(letter)
    if step == "rewrite":
        return Shown(letter, notice=_("The letter is written again from your choices; your changes to its text are gone."))
    if form.text_kind.data != form.kind.data:
        return Shown(
            letter,
            notice=_(
                "You changed the kind of letter: it is written again for this kind, without the changes you made "
                "to the text of the other one."
            ),
        )
    text = requests.edited_text(submitted)  # RequestError for an empty text or invisible characters
    hand_written = replace(
        letter, text=text, sender_block="", recipient_block="", dateline="", body="", subject_label=""
    )
    return Shown(hand_written, edited=text)


def _sha256(text: str) -> str:
    """A text area's text as the page showed it: a browser gives it back with its line
    breaks made one kind (a postal address typed in a browser holds CR LF), so the
    fingerprint is of the text with LF line breaks."""
    return hashlib.sha256(text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")).hexdigest()


@bp.route("/platforms/<uuid:platform_id>/letter", methods=["GET", "POST"])
@login_required
def compose_letter(platform_id: uuid.UUID) -> Response | tuple[str, int]:
    """Write a letter: preview it, edit it if need be, download it (PDF, text, .eml), then
    record it as sent (after a confirmation: that cannot be undone)."""
    view = _platform_or_404(platform_id)
    s, login = db.session(), current_user.login
    profile = profiles.read_profile(s, login)
    form = LetterForm() if request.method == "POST" else LetterForm(formdata=None)
    _setup(form, view, profile)
    if request.method == "GET":
        _defaults(form, view, profile)
    step = request.form.get("step", "preview") if request.method == "POST" else "preview"
    sent_form = SentForm(
        formdata=request.form if step in ("sent", "send_email") else None, meta={"csrf": False}
    )
    today = datetime.now(UTC).date()
    composed: Composed | None = None
    shown: Shown | None = None
    problem: str | None = None
    notice: str | None = None
    confirm: str | None = None
    due: date | None = None
    if not profile.get("full_name"):
        problem = _("Fill in your name in your profile first: every letter needs it.")
    elif request.method == "GET" or form.validate_on_submit():
        try:
            composed = _compose(LetterOptions.from_form(form), view, profile, today)
        except LetterError as e:
            if request.method == "GET":  # arriving: what to fill in is a hint, not an error yet
                notice = _missing_message(e)
            else:
                problem = _missing_message(e)
        except RequestError as e:
            problem = _request_message(e)
    if composed is not None:
        try:
            shown = _shown(form, composed, step)
        except RequestError as e:  # the edited text cannot be a letter: say why, keep it to correct
            problem = _request_message(e)
            form.text.errors = [problem]
    if composed is not None and shown is not None and request.method == "POST" and step in _ACTS:
        if form.composed.data and shown.edited is None and form.composed.data != _sha256(composed.letter.text):
            # The choices changed since the page showed the letter (a new kind, say, with no
            # script to update the page): show the letter they make before acting on it.
            notice = shown.notice or _("Your choices changed the letter: read it again, then choose what to do.")
        elif step in _CONFIRMED and sent_form.confirm.data != "y":
            if step == "sent" and not sent_form.validate():
                problem = _("Enter the dates as YYYY-MM-DD.")
            else:
                confirm = step
                try:
                    if step == "sent":
                        requests.check_dates(sent_form.sent_on.data or today, sent_form.delivered_on.data)
                    due = composed.due_if_sent(
                        sent_form.sent_on.data or today if step == "sent" else today,
                        sent_form.delivered_on.data if step == "sent" else None,
                        current_app.config["POST_DELIVERY_DAYS"],
                    )
                except RequestError as e:
                    confirm, problem = None, _request_message(e)
        else:
            done, problem = _act(step, composed, shown, form, sent_form, view, today)
            if done is not None:
                return done
    letter = shown.letter if shown else None
    if composed is not None and shown is not None:
        # The text area shows the letter; the page remembers which composed text it held.
        form.composed.data = _sha256(composed.letter.text)
        form.text_kind.data = form.kind.data
        form.text.data = shown.edited if shown.edited is not None else composed.letter.text
    if shown is not None and shown.edited is not None:
        form.text.render_kw = {**(form.text.render_kw or {}), "data-edited": "true"}
    form.kind.render_kw = {
        "data-confirm": _("Write the letter again for this kind? Your changes to its text will be lost."),
        **({"autofocus": True} if step == "kind" else {}),
    }
    html = render_template(
        "requests/compose.html",
        platform=view,
        form=form,
        sent_form=sent_form,
        letter=letter,
        edited=bool(shown and shown.edited is not None),
        notice=notice or (shown.notice if shown else None),
        confirm=confirm,
        due=due or (composed.preview.due if composed else None),
        mailto=mailto(letter) if letter and letter.recipient.email else None,
        short_mailto=short_mailto(letter, note=_short_note(letter.language)) if letter and letter.recipient.email else None,
        can_send=bool(
            SmtpSettings.from_config(current_app.config) is not None
            and letter
            and outbox.known_recipient(
                db.session(), current_user.login, letter.recipient.email, directory_entry=view.state.directory
            )
        ),
        cited=composed.cited if composed else [],
        problem=problem,
        today=today,
    )
    return html, 400 if (problem or form.errors) and request.method == "POST" else 200


def _act(
    step: str,
    composed: Composed,
    shown: Shown,
    form: LetterForm,
    sent_form: SentForm,
    view: PlatformView,
    today: date,
) -> tuple[Response | None, str | None]:
    """Do what the button asked with the letter the page showed: the response, or what stopped it."""
    s, login = db.session(), current_user.login
    platform_id = uuid.UUID(view.id)
    parent = uuid.UUID(form.parent.data) if form.parent.data else None
    if step in ("pdf", "txt", "eml"):
        try:
            return _download(shown.letter, step, composed.cited, platform=view.state.name, sent_on=today), None
        except LetterError:
            return None, _("This platform's e-mail address cannot be used: correct it on the platform's page.")
    if step == "draft":
        try:
            request_id = requests.save_draft(
                s,
                login,
                platform_id,
                composed.request,
                channel=form.channel.data,
                parent=parent,
                authority=form.authority.data or "",
                text=shown.edited,
            )
        except RequestError as e:
            return None, _request_message(e)
        flash(_("The letter is kept as a draft. Record it as sent once you have sent it."), "success")
        return redirect(url_for("requests.show", request_id=request_id)), None
    if step == "send_email":
        problem = _send_now(composed, shown, form, view)
        return (redirect(url_for("requests.index")), None) if problem is None else (None, problem)
    if not sent_form.validate():
        return None, _("Enter the dates as YYYY-MM-DD.")
    return _recorded(
        lambda: requests.record_sent(
            s,
            login,
            platform_id,
            composed.request,
            channel=form.channel.data,
            sent_on=sent_form.sent_on.data or today,
            delivered_on=sent_form.delivered_on.data,
            post_delivery_days=current_app.config["POST_DELIVERY_DAYS"],
            parent=parent,
            authority=form.authority.data or "",
            text=shown.edited,
        )
    )


def _short_note(language: str) -> str:
    """The body of a mail link too short for the letter, in the letter's language."""
    return str(words(language).get("mail_note") or words("en")["mail_note"])


def _missing_message(error: LetterError) -> str:
    return {
        "details": _("Say what is wrong and what it should say: the letter needs it."),
        "grounds": _("Tick at least one reason for the restriction."),
        "situation": _(
            "Describe your particular situation: an objection that is not about direct marketing needs it "
            "(Article 21(1) GDPR)."
        ),
    }.get(error.missing, _("This letter cannot be written: choose another kind or fill in what it needs."))


def _recorded(record: Callable[[], uuid.UUID]) -> tuple[Response | None, str | None]:
    """Record a letter as sent: the request's page, or what stopped it."""
    try:
        request_id = record()
    except RequestError as e:
        return None, _request_message(e)
    flash(_("The letter is recorded as sent, and its deadline is being watched."), "success")
    return redirect(url_for("requests.show", request_id=request_id)), None


def _send_now(composed: Composed, shown: Shown, form: LetterForm, view: PlatformView) -> str | None:
    """Send the letter through the instance's SMTP server, then record it as sent."""
    letter, cited = shown.letter, composed.cited
    settings = SmtpSettings.from_config(current_app.config)
    if settings is None or not letter.recipient.email:
        return _("Sending from the app is not available here: download the e-mail instead.")
    try:
        outbox.clear_to_send(
            db.session(),
            current_user.login,
            letter.recipient.email,
            directory_entry=view.state.directory,
            per_day=current_app.config["MAILS_PER_DAY"],
        )
    except outbox.MailRefused as e:
        if e.reason == "quota":
            return _(
                "You have sent as many e-mails from the app today as it allows. Download the e-mail and send it "
                "from your own mailbox, or send it tomorrow."
            )
        return _(
            "The app sends e-mails only to a company's address from its directory, to a supervisory authority, or "
            "to you. Download this e-mail and send it from your own mailbox (or update the platform from the "
            "directory)."
        )
    try:
        message = _email(letter, cited)
        # Replies go to the address registration verified, not to one typed in the profile.
        del message["From"]
        message["From"] = Address(display_name=one_line(letter.sender.name), addr_spec=current_user.email)
        mail.send(message, settings)
    except (mail.MailError, LetterError, ValueError):
        return _("The e-mail could not be sent. Nothing was recorded; try again later or download it.")
    requests.record_sent(
        db.session(),
        current_user.login,
        uuid.UUID(view.id),
        composed.request,
        channel="email",
        sent_on=composed.request.today,  # the day the text was written for, even past midnight
        parent=uuid.UUID(form.parent.data) if form.parent.data else None,
        authority=form.authority.data or "",
        text=shown.edited,
    )
    flash(_("The letter is sent, and its deadline is being watched."), "success")
    return None


def _email(letter: Letter, cited: list[int]) -> EmailMessage:
    message = to_email(letter, now=datetime.now(UTC))
    for filename, content in _attachments(cited):
        message.add_attachment(content, maintype="application", subtype="json", filename=filename)
    return message


def _download(letter: Letter, kind: str, cited: list[int], *, platform: str, sent_on: date) -> Response:
    """The letter as a file named for its day, kind and platform, so that letters to
    several platforms never share a name."""
    name = download_name(letter, sent_on=sent_on, platform=platform, extension="eml" if kind == "eml" else kind)
    if kind == "pdf":
        return send_file(io.BytesIO(to_pdf(letter)), mimetype="application/pdf", as_attachment=True, download_name=name)
    if kind == "txt":
        data = letter.text.encode("utf-8")
        # Flask adds "; charset=utf-8" to a text/* type itself: naming it here said it twice.
        return send_file(io.BytesIO(data), mimetype="text/plain", as_attachment=True, download_name=name)
    message = to_email(letter, now=datetime.now(UTC))
    for filename, content in _attachments(cited):
        message.add_attachment(content, maintype="application", subtype="json", filename=filename)
    return send_file(io.BytesIO(bytes(message)), mimetype="message/rfc822", as_attachment=True, download_name=name)


@bp.route("/requests", methods=["GET", "POST"])
@login_required
def index() -> tuple[str, int]:
    """The person's requests, searched and filtered. The form is a POST: a platform's name
    typed here is personal and stays out of URLs and access logs; the filters alone may
    come in a link (?status=overdue)."""
    if request.method == "POST":
        form = FilterForm(request.form)
    else:
        form = FilterForm(MultiDict([(key, value) for key, value in request.args.items(multi=True) if key != "q"]))
    valid = form.validate()
    wanted = (
        requests.RequestFilter(
            platform=(form.q.data or "").strip(),
            kind=form.kind.data or "",
            status=form.status.data or "",
            due_soon=bool(form.due_soon.data),
        )
        if valid
        else requests.RequestFilter()
    )
    s, login = db.session(), current_user.login
    found = requests.search_requests(s, login, wanted)
    html = render_template(
        "requests/index.html",
        requests=found,
        form=form,
        filtered=wanted.active,
        any_request=bool(found) or (wanted.active and bool(requests.list_requests(s, login))),
        today=datetime.now(UTC).date(),
    )
    return html, 200 if valid else 400


@bp.get("/requests/<uuid:request_id>")
@login_required
def show(request_id: uuid.UUID) -> str:
    found = requests.get_request(db.session(), current_user.login, request_id)
    if found is None:
        abort(404)
    return _request_page(found)


def _request_page(
    found: RequestView,
    *,
    form: UpdateForm | None = None,
    sent_form: SentForm | None = None,
    problem: str | None = None,
    confirm: str | None = None,
) -> str:
    """A request's page; a form sent back with its errors replaces the blank one, and
    ``confirm`` ("sent" or "delete") asks the person to confirm a step first. The letters
    it follows up, and that follow it up (a reminder, a complaint), are linked both ways."""
    others = [r for r in requests.list_requests(db.session(), current_user.login) if r.status != "draft"]
    return render_template(
        "requests/show.html",
        item=found,
        follows=next((r for r in others if r.id == found.parent), None),
        followed_by=[r for r in others if r.parent == found.id],
        form=form or UpdateForm(formdata=None),
        sent_form=sent_form or SentForm(formdata=None),
        delete_form=DeleteForm(formdata=None),
        problem=problem,
        confirm=confirm,
        today=datetime.now(UTC).date(),
    )


@bp.post("/requests/<uuid:request_id>/sent")
@login_required
def mark_sent(request_id: uuid.UUID) -> Response | tuple[str, int]:
    """A draft was sent: say what recording it does, then start following its deadline."""
    found = requests.get_request(db.session(), current_user.login, request_id)
    if found is None:
        abort(404)
    form = SentForm()
    problem = _("Enter the dates as YYYY-MM-DD.")
    if form.validate_on_submit():
        sent_on = form.sent_on.data or datetime.now(UTC).date()
        if found.status == "draft" and form.confirm.data != "y":
            try:
                requests.check_dates(sent_on, form.delivered_on.data)
            except RequestError as e:
                return _request_page(found, sent_form=form, problem=_request_message(e)), 400
            return _request_page(found, sent_form=form, confirm="sent"), 200

        def send() -> uuid.UUID:
            requests.mark_sent(
                db.session(),
                current_user.login,
                request_id,
                sent_on=sent_on,
                delivered_on=form.delivered_on.data,
                post_delivery_days=current_app.config["POST_DELIVERY_DAYS"],
            )
            return request_id

        done, problem = _recorded(send)
        if done is not None:
            return done
    return _request_page(found, sent_form=form, problem=problem), 400


@bp.post("/requests/<uuid:request_id>/delete")
@login_required
def delete(request_id: uuid.UUID) -> Response | tuple[str, int]:
    """Delete a draft, once the person confirmed it (a sent letter stays on record)."""
    found = requests.get_request(db.session(), current_user.login, request_id)
    if found is None:
        abort(404)
    form = DeleteForm()
    if not form.validate_on_submit():
        return _request_page(found, problem=_("This form has expired: try again.")), 400
    if found.status != "draft":
        return _request_page(found, problem=_("Only a draft can be deleted: a letter sent stays on record.")), 400
    if form.confirm.data != "y":
        return _request_page(found, confirm="delete"), 200
    try:
        requests.delete_draft(db.session(), current_user.login, request_id)
    except RequestError as e:
        return _request_page(found, problem=_request_message(e)), 400
    flash(_("The draft is deleted."), "success")
    return redirect(url_for("requests.index"))


@bp.post("/requests/<uuid:request_id>/update")
@login_required
def update(request_id: uuid.UUID) -> Response | tuple[str, int]:
    found = requests.get_request(db.session(), current_user.login, request_id)
    if found is None:
        abort(404)
    form = UpdateForm()
    problem = None
    if form.validate_on_submit():
        upload = form.file.data
        file = (upload.filename or "file", upload.read()) if upload and upload.filename else None
        try:
            requests.update(
                db.session(),
                current_user.login,
                request_id,
                status=form.status.data,
                note=form.note.data or "",
                file=file,
                delivered_on=form.delivered_on.data,
                max_file_bytes=current_app.config["MAX_REPLY_FILE_BYTES"],
            )
        except RequestError as e:
            problem = _request_message(e)
        else:
            flash(_("Recorded."), "success")
            return redirect(url_for("requests.show", request_id=request_id))
    return _request_page(found, form=form, problem=problem), 400


@bp.get("/requests/<uuid:request_id>/files/<uuid:file_id>")
@login_required
def file(request_id: uuid.UUID, file_id: uuid.UUID) -> Response:
    found = requests.read_file(db.session(), current_user.login, request_id, file_id)
    if found is None:
        abort(404)
    name, content = found
    return send_file(io.BytesIO(content), mimetype="application/octet-stream", as_attachment=True, download_name=name)


@bp.get("/requests/<uuid:request_id>/letter.<kind>")
@login_required
def sent_letter(request_id: uuid.UUID, kind: str) -> Response:
    """The letter as it was sent (its text is sealed in the request)."""
    found = requests.get_request(db.session(), current_user.login, request_id)
    if found is None or kind not in ("pdf", "txt"):
        abort(404)
    today = datetime.now(UTC).date()
    letter = requests.letter_of(
        db.session(), current_user.login, found, today=today, post_delivery_days=current_app.config["POST_DELIVERY_DAYS"]
    )
    return _download(letter, kind, [], platform=found.platform_name, sent_on=found.sent_on or today)


def _verify_url() -> str:
    """Where anyone reads how to check a ledger receipt: the configured public address;
    without one, the address this person's own browser used."""
    if current_app.config["PUBLIC_URL"]:
        return public_url_for("main.verify")
    return url_for("main.verify", _external=True)


@bp.get("/requests/<uuid:request_id>/evidence.pdf")
@login_required
def evidence(request_id: uuid.UUID) -> Response:
    """A complaint with its evidence in one PDF: the complaint, a copy of each letter sent
    and each answer received about the request, and an appendix with the ledger receipts
    and how anyone can check them."""
    s, login = db.session(), current_user.login
    complaint = requests.get_request(s, login, request_id)
    if complaint is None or complaint.kind != "complaint" or not complaint.parent:
        abort(404)
    today = datetime.now(UTC).date()
    days = current_app.config["POST_DELIVERY_DAYS"]
    family = _family(complaint.parent)
    about = sorted(
        # The complaint is the bundle's first part, not one of its own exhibits.
        (r for r in requests.list_requests(s, login) if r.id in family and r.status != "draft" and r.id != complaint.id),
        key=lambda r: (r.sent_on or r.created, r.id),
    )
    language = complaint.language
    exhibits: list[Exhibit] = []
    for item in about:
        full = requests.get_request(s, login, uuid.UUID(item.id)) or item
        exhibits.append(
            Exhibit(
                name_of(item.kind, language),
                item.sent_on or item.created,
                letter=requests.letter_of(s, login, full, today=today, post_delivery_days=days),
            )
        )
        for reply in full.replies:
            if not reply.get("note") and not reply.get("file"):
                continue
            found = (
                requests.read_file(s, login, uuid.UUID(full.id), uuid.UUID(reply["file"])) if reply.get("file") else None
            )
            exhibits.append(
                Exhibit(
                    name_of("answer", language),
                    date.fromisoformat(reply["on"]),
                    note=reply.get("note", ""),
                    file_name=found[0] if found else "",
                    file=found[1] if found else b"",
                )
            )
    receipts = [
        json.dumps(receipt, ensure_ascii=False, indent=2)
        for event in ledger.iter_events(s, login)
        if event["type"] == events.LETTER_SENT
        and event["data"].get("request") in family
        and (receipt := ledger.receipt(s, login, event["index"])) is not None
    ]
    complaint_letter = requests.letter_of(s, login, complaint, today=today, post_delivery_days=days)
    pdf = to_evidence_pdf(
        complaint_letter,
        exhibits,
        receipts=receipts,
        key_fingerprint=str(ledger.verifier_key(login)),
        verify_url=_verify_url(),
    )
    name = download_name(complaint_letter, sent_on=complaint.sent_on or today, platform=complaint.platform_name, extension="pdf")
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.route("/requests/several", methods=["GET", "POST"])
@login_required
def several() -> Response | tuple[str, int]:
    """The same request to several platforms in one step, each then followed on its own."""
    s, login = db.session(), current_user.login
    views = platforms.list_platforms(s, login)
    form = SeveralForm()
    form.platforms.choices = [(v.id, v.state.name) for v in views]
    profile = profiles.read_profile(s, login)
    problem = None
    confirm = False
    if not profile.get("full_name"):
        problem = _("Fill in your name in your profile first: every letter needs it.")
    elif form.validate_on_submit():
        chosen = [v for v in views if v.id in (form.platforms.data or [])]
        today = datetime.now(UTC).date()
        letters = []
        for view in chosen:
            language = form.language.data if form.language.data in LANGUAGES else _default_language(view)
            options = LetterOptions(
                kind=form.kind.data,
                language=language,
                channel=_default_channel(view),
                identifiers=tuple(str(n) for n in range(len(view.identifiers))),
            )
            letters.append((view, options, _compose(options, view, profile, today)))
        if not letters:
            problem = _("Tick at least one platform.")
        elif request.form.get("step") == "zip":
            return _zip(letters, today)
        elif request.form.get("step") != "sent":
            pass  # "Not yet": the form again, as it was
        elif request.form.get("confirm") != "y":
            confirm = True  # recording them starts deadlines and ledger events: ask first
        else:
            for view, options, composed in letters:
                requests.record_sent(
                    s,
                    login,
                    uuid.UUID(view.id),
                    composed.request,
                    channel=options.channel,
                    sent_on=today,
                    post_delivery_days=current_app.config["POST_DELIVERY_DAYS"],
                )
            flash(
                ngettext("%(num)d request recorded as sent.", "%(num)d requests recorded as sent.", len(letters)),
                "success",
            )
            return redirect(url_for("requests.index"))
    html = render_template("requests/several.html", form=form, problem=problem, confirm=confirm)
    return html, 400 if (problem or form.errors) and request.method == "POST" else 200


def _zip(letters: list[tuple[PlatformView, LetterOptions, Composed]], today: date) -> Response:
    """Every letter as PDF and text, one pair per platform, in one ZIP file."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, (view, _options, composed) in enumerate(letters, start=1):
            letter = composed.letter
            stem = f"{n:02d}-" + (re.sub(r"[^a-z0-9]+", "-", fold(view.state.name)).strip("-")[:60] or "platform")
            archive.writestr(f"{stem}.pdf", to_pdf(letter))
            archive.writestr(f"{stem}.txt", letter.text)
    out.seek(0)
    return send_file(
        out, mimetype="application/zip", as_attachment=True, download_name=f"letters-{today.isoformat()}.zip"
    )
