from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, time

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import InputRequired, Optional, ValidationError

from consent import db, keycard
from consent.errors import DecryptionError, IntegrityAlarm, VerificationError
from consent.ledger.note import VerifierKey
from consent.ledger.state import STATUSES, UseState
from consent.services import ledger, platforms, witnessing
from consent.web import times
from consent.web.decisions import event_label
from consent.web.errors import describe_alarm
from consent.web.forms import ConsentForm, plausible_date
from consent.web.ledger import bp
from consent.web.ledger.views import describe, event_kinds, matches, timeline_for
from consent.web.pages import form_page


class AsOfForm(ConsentForm):
    """ "What stood on this date": a question, asked by GET, so no CSRF token."""

    class Meta:
        csrf = False

    date = DateField(_l("Date"), validators=[InputRequired(_l("Enter a date.")), plausible_date])


class VerifyForm(ConsentForm):
    pass


class FilterForm(ConsentForm):
    """Which events the ledger page lists: a question, asked by GET, so no CSRF token.
    Only ids, kinds and dates go in the address: never a name or a word the person typed."""

    class Meta:
        csrf = False

    platform = SelectField(
        _l("Platform"), default="", validate_choice=True, invalid_choice_message=_l("Choose a platform from the list.")
    )
    kind = SelectField(
        _l("Kind of event"),
        default="",
        validate_choice=True,
        invalid_choice_message=_l("Choose a kind of event from the list."),
    )
    start = DateField(_l("From"), validators=[Optional(), plausible_date])
    end = DateField(_l("Until"), validators=[Optional(), plausible_date])

    def __init__(self, *args: object, names: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.platform.choices = [SelectChoice("", _("Every platform"))] + [
            SelectChoice(platform_id, name)
            for platform_id, name in sorted(names.items(), key=lambda i: i[1].casefold())
        ]
        self.kind.choices = [SelectChoice("", _("Every kind"))] + [
            SelectChoice(kind, event_label(kind)) for kind in event_kinds()
        ]

    def validate_end(self, field: DateField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_("The end date is before the start date."))

    @property
    def active(self) -> bool:
        """Whether any filter was asked for (a date that is no date too: it gets its message)."""
        return any(any(self[name].raw_data or ()) for name in ("platform", "kind", "start", "end"))


def _names() -> dict[str, str]:
    every = platforms.list_platforms(db.session(), current_user.login, archived=None)
    return {view.id: view.state.name for view in every}


@bp.get("/ledger")
@login_required
def index() -> tuple[str, int]:
    recorded = list(ledger.iter_events(db.session(), current_user.login))
    names = _names()
    entries = [describe(e, names) for e in reversed(recorded)]
    filters = FilterForm(request.args, names=names)
    if filters.active and filters.validate():
        entries = [
            e
            for e in entries
            if matches(
                e,
                platform=filters.platform.data or None,
                kind=filters.kind.data or None,
                start=filters.start.data,
                end=filters.end.data,
            )
        ]
    return form_page(
        "ledger/index.html",
        entries=entries,
        any_event=bool(recorded),
        timeline=timeline_for(recorded, now=datetime.now(UTC), names=names),
        filters=filters,
        as_of_form=AsOfForm(formdata=None),
        verify_form=VerifyForm(),
        key=ledger.verifier_key(current_user.login),
        witness=witnessing.status(db.session(), current_user.login),
    )


def _witness_pending() -> witnessing.Status | None:
    """The witnesses' word on the newest checkpoint, when they have not all given it yet:
    a decision counts as acknowledged only once they have (base.html says so on every page)."""
    if not witnessing.witnesses(db.session()):
        return None
    status = witnessing.status(db.session(), current_user.login)
    return None if status.acknowledged else status


@bp.app_context_processor
def _witness_context() -> dict[str, Callable[[], witnessing.Status | None]]:
    return {"witness_pending": _witness_pending}  # called only on pages of someone logged in


def _card_lines(key: VerifierKey) -> list[str]:
    return [
        _("Keep this card away from the server that hosts your ledger."),
        _("With it, anyone can check offline that a ledger export or a receipt is yours:"),
        "consent verify FILE --key KEY",
        _("Key ID: %(fingerprint)s", fingerprint=keycard.fingerprint(key)),
        _("Ledger: %(origin)s", origin=key.name),
    ]


@bp.get("/ledger/key")
@login_required
def key_card() -> str:
    key = ledger.verifier_key(current_user.login)
    qr = Markup(keycard.qr_svg(key, title=_("QR code of your verifier key")))  # noqa: S704 - SVG that segno drew from the key alone: no user text
    return render_template("ledger/key.html", key=key, fingerprint=keycard.fingerprint(key), qr=qr)


@bp.get("/ledger/key-card.<any(pdf, txt):kind>")
@login_required
def key_card_download(kind: str) -> Response:
    key = ledger.verifier_key(current_user.login)
    lines = _card_lines(key)
    if kind == "pdf":
        body, mimetype = keycard.to_pdf(key, title=_("Consent ledger: key card"), lines=lines), "application/pdf"
    else:
        body, mimetype = keycard.to_text(key, lines).encode(), "text/plain"  # Werkzeug adds "; charset=utf-8"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="consent-key-card.{kind}"'}
    )


@bp.get("/ledger/as-of")
@login_required
def as_of() -> tuple[str, int]:
    form = AsOfForm(request.args)
    state = None
    later: set[str] = set()
    if request.args and form.validate():  # arriving asks for a date: no error before one is given
        # The end of that day where the person is; a decision dated to that day (noon UTC)
        # counts even where the day ends before noon UTC.
        moment = max(times.end_of_day(form.date.data), datetime.combine(form.date.data, time(12), tzinfo=UTC))
        state = ledger.state_at(db.session(), current_user.login, moment)
        # A use dated before its platform was added: the platform is in the ledger, named
        # by a later event. Name it as the ledger does now, and say so.
        names = _names()
        for platform in state.platforms.values():
            if not platform.name:
                platform.name = names.get(platform.id, "")
                later.add(platform.id)
    platforms_then = sorted(state.platforms.values(), key=lambda p: p.name.casefold()) if state else []
    uses: dict[str, list[UseState]] = {}
    if state:
        for use in state.uses.values():
            uses.setdefault(use.platform, []).append(use)
    return form_page(
        "ledger/as_of.html", as_of_form=form, platforms=platforms_then, uses=uses, statuses=STATUSES, added_later=later
    )


@bp.post("/ledger/verify")
@login_required
def verify() -> str:
    if not VerifyForm().validate_on_submit():
        abort(400)
    check = ledger.verify(db.session(), current_user.login)
    return render_template("ledger/verify.html", check=check, alarm=describe_alarm(check.records))


@bp.post("/ledger/recover")
@login_required
def recover() -> WerkzeugResponse:
    """After an alarm, the person's choice: rebuild what follows from the signed ledger."""
    if not VerifyForm().validate_on_submit():
        abort(400)
    ledger.recover(db.session(), current_user.login)
    flash(_("Your platforms and uses were rebuilt from your signed ledger."), "success")
    return redirect(url_for("ledger.index"))


@bp.get("/ledger/export.json")
@login_required
def export() -> Response:
    # Spooled: small ledgers stay in memory, large ones go to a temporary file.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")  # send_file closes it
    text = _TextOver(spool)
    try:
        ledger.export(db.session(), current_user.login, text)
    except VerificationError:
        spool.close()
        abort(404)
    except DecryptionError:  # an event swapped or altered in the database
        spool.close()
        raise IntegrityAlarm([("unreadable", "an event of your ledger does not open with your key")]) from None
    spool.seek(0)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return send_file(spool, mimetype="application/json", as_attachment=True, download_name=f"consent-ledger-{day}.json")


class _TextOver:
    """Text written as UTF-8 to a binary file (send_file wants bytes)."""

    def __init__(self, raw: tempfile.SpooledTemporaryFile[bytes]) -> None:
        self._raw = raw

    def write(self, text: str) -> int:
        self._raw.write(text.encode("utf-8"))
        return len(text)


# An event's index is a 32-bit integer in the database: a larger one is simply not there.
@bp.get("/ledger/events/<int(max=2147483647):index>")
@login_required
def event(index: int) -> str | tuple[str, int]:
    found = ledger.get_event(db.session(), current_user.login, index)
    if found is None:
        if index in ledger.redacted_indexes(db.session(), current_user.login):
            return render_template("ledger/redacted.html", index=index), 404
        abort(404)
    return render_template(
        "ledger/event.html",
        entry=describe(found, _names()),
        canonical=json.dumps(found, ensure_ascii=False, indent=2, sort_keys=True),
    )


@bp.get("/ledger/events/<int(max=2147483647):index>/receipt.json")
@login_required
def receipt(index: int) -> Response:
    made = ledger.receipt(db.session(), current_user.login, index, language=str(request.accept_languages.best or "en"))
    if made is None:
        abort(404)
    body = json.dumps(made, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="consent-receipt-{index}.json"'},
    )
