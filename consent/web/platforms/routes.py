from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms import Field

from consent import db, vocabulary
from consent.directory import labels
from consent.directory.search import domain
from consent.errors import DecisionError, WrongPassword
from consent.ledger.state import UseState
from consent.services import accounts, directory, ledger, platforms, profiles
from consent.services.platforms import Identifier
from consent.web.decisions import decision_message, decision_moment
from consent.web.ledger.views import describe, timeline_for
from consent.web.logins import account_settings
from consent.web.pages import form_page, safe_next
from consent.web.platforms import bp
from consent.web.platforms.forms import (
    ArchiveForm,
    DecisionForm,
    EraseForm,
    PlatformForm,
    PlatformSearchForm,
    UndoForm,
    UseForm,
)
from consent.web.platforms.wrapping import breakable
from consent.web.second_factor import fresh_factor_required

_DETAILS = ("name", "website", "email", "address", "country", "dpo", "categories", "other_categories", "directory")


def _text(field: Field) -> str:
    """A text field's value, trimmed; WTForms gives None for a field that was not sent."""
    return str(field.data or "").strip()


def _details(form: PlatformForm) -> dict[str, object]:
    return {name: form[name].data for name in _DETAILS}


def _identifiers(form: PlatformForm) -> list[Identifier]:
    return [Identifier(_text(entry.kind), _text(entry.value)) for entry in form.identifiers]


def _platform_or_404(platform_id: uuid.UUID) -> platforms.PlatformView:
    view = platforms.get_platform(db.session(), current_user.login, platform_id)
    if view is None:
        abort(404)
    return view


bp.add_app_template_filter(breakable, "breakable")


@bp.app_template_global()
def rests_on_contract(use: UseState) -> bool:
    return platforms.rests_on_contract(use)


@bp.route("/platforms", methods=["GET", "POST"])
@login_required
def index() -> tuple[str, int]:
    """The person's platforms, searched and filtered (no JavaScript needed). The form is a
    POST: what the person types (a name, an identifier) is personal and stays out of URLs
    and access logs; the filters alone may come in a link (?shown=archived)."""
    args = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
    if request.method == "GET":
        args.pop("q", None)
    if args.get("archived") == "1" and "shown" not in args:
        args["shown"] = "archived"  # the old link to the archive keeps working
    form = PlatformSearchForm(formdata=MultiDict(args))
    valid = form.validate()
    wanted = (
        platforms.PlatformFilter(
            # Optional() lets a blank choice through (white space too): it means "any" / current.
            query=_text(form.q),
            uses=_text(form.uses),
            category=_text(form.category),
            shown=_text(form.shown) or "current",
        )
        if valid
        else platforms.PlatformFilter()
    )
    today = datetime.now(UTC).date()
    views = platforms.find_platforms(db.session(), current_user.login, wanted, today=today)
    page = render_template("platforms/index.html", platforms=views, wanted=wanted, search=form, today=today)
    return page, 200 if valid else 400


@bp.route("/platforms/new", methods=["GET", "POST"])
@login_required
def new() -> Response | tuple[str, int]:
    """Add a platform: find it in the directory (step "search"), take an entry's details
    (step "choose"), then save (step "create"). Every step is a POST, so what the person
    looks for never appears in a URL or an access log."""
    step = request.form.get("step", "create") if request.method == "POST" else "show"
    s = db.session()
    if step == "search":
        query = _text_of(request.form.get("q"))[:200]
        return _new_page(PlatformForm(formdata=None), query=query, matches=directory.search(s, query))
    if step == "choose":
        entry = directory.resolve(s, request.form.get("directory", ""))
        if entry is None:
            abort(404)
        service = _text_of(request.form.get("service")) or None
        form = PlatformForm(formdata=None, data=directory.platform_details(entry, service=service))
        return _new_page(form, hints=directory.hints(entry), entry=entry)
    form = PlatformForm()
    if step == "create" and form.validate_on_submit():
        try:
            platform_id = platforms.add_platform(
                db.session(),
                current_user.login,
                _details(form),
                identifiers=_identifiers(form),
                notes=_text(form.notes),
            )
        except DecisionError as e:
            form.name.errors.append(decision_message(e))
        else:
            flash(_("The platform is added. Now record what you allow it to do with your data."), "success")
            return redirect(url_for("platforms.show", platform_id=platform_id))
    entry = directory.resolve(s, form.directory.data) if form.directory.data else None
    return _new_page(form, hints=directory.hints(entry) if entry else None, entry=entry)


def _text_of(value: str | None) -> str:
    return (value or "").strip()


def _new_page(form: PlatformForm, **context: object) -> tuple[str, int]:
    context.setdefault("query", "")
    context.setdefault("matches", [])
    return form_page("platforms/edit.html", form=form, platform=None, **context)


@bp.post("/directory/suggest")
@login_required
def suggest() -> Response:
    """Suggestions as the person types (JSON in, JSON out; the query stays out of the URL)."""
    payload = request.get_json(silent=True)
    query = payload.get("q") if isinstance(payload, dict) else None
    if not isinstance(query, str) or len(query) > 200:
        abort(400)
    matches = directory.search(db.session(), query)
    return jsonify(
        [
            {"slug": m.slug, "name": m.name, "service": m.service or "", "address": m.address, "domain": domain(m.web)}
            for m in matches
        ]
    )


def _platform_page(view: platforms.PlatformView, use_form: UseForm) -> tuple[str, int]:
    """The platform's page: details, uses, the form for a new use, and its history."""
    s = db.session()
    history = [e for e in ledger.iter_events(s, current_user.login) if e.get("platform") == view.id]
    entry, updates = directory.updates_for(s, view.state.directory, view.state.to_json())
    now = datetime.now(UTC)
    return form_page(
        "platforms/show.html",
        hints=directory.hints(entry) if entry else None,
        updates=updates,
        updates_seen=directory.fingerprint(updates),
        platform=view,
        use_form=use_form,
        history=[describe(e, {view.id: view.state.name}) for e in reversed(history)],
        timeline=timeline_for(history, now=now),
        undo=platforms.undoable(s, current_user.login, view, now=now),
        today=now.date(),
        vocabulary=vocabulary,
    )


@bp.get("/platforms/<uuid:platform_id>")
@login_required
def show(platform_id: uuid.UUID) -> tuple[str, int]:
    return _platform_page(_platform_or_404(platform_id), UseForm())


@bp.route("/platforms/<uuid:platform_id>/edit", methods=["GET", "POST"])
@login_required
def edit(platform_id: uuid.UUID) -> Response | tuple[str, int]:
    view = _platform_or_404(platform_id)
    form = PlatformForm()
    if form.validate_on_submit():
        removal = platforms.removal(view, _identifiers(form), _text(form.notes))
        if removal and form.confirm_removal.data != removal.fingerprint():
            # Identifiers and notes are not in the ledger: say what would go, and ask.
            form.confirm_removal.data = removal.fingerprint()
            return form_page("platforms/edit.html", form=form, platform=view, removal=removal)
        try:
            platforms.edit_platform(
                db.session(),
                current_user.login,
                platform_id,
                _details(form),
                identifiers=_identifiers(form),
                notes=_text(form.notes),
            )
        except DecisionError as e:
            form.name.errors.append(decision_message(e))
        else:
            flash(_("The platform is saved."), "success")
            return redirect(url_for("platforms.show", platform_id=platform_id))
    elif not form.is_submitted():
        for name in _DETAILS:
            form[name].data = getattr(view.state, name)
        for entry, identifier in zip(form.identifiers, view.identifiers, strict=False):
            entry.kind.data, entry.value.data = identifier.kind, identifier.value
        form.notes.data = view.notes
    return form_page("platforms/edit.html", form=form, platform=view)


@bp.post("/platforms/<uuid:platform_id>/directory-update")
@login_required
def directory_update(platform_id: uuid.UUID) -> Response:
    """Take the directory's newer details into the platform (a ledger decision like any edit)."""
    if not ArchiveForm().validate_on_submit():
        abort(400)
    view = _platform_or_404(platform_id)
    _entry, updates = directory.updates_for(db.session(), view.state.directory, view.state.to_json())
    if updates and view.state.archived:
        flash(_("This platform is archived: its details can no longer change."), "error")
    elif updates and not directory.shown(updates, request.form.get("seen")):
        # The directory is the operator's to write: sign only the details the page showed.
        flash(_("The directory changed since this page showed it: check the details below again."), "error")
    elif updates:
        details = {name: getattr(view.state, name) for name in _DETAILS} | updates
        platforms.edit_platform(
            db.session(), current_user.login, platform_id, details, identifiers=view.identifiers, notes=view.notes
        )
        flash(_("The platform now has the directory's details."), "success")
    return redirect(url_for("platforms.show", platform_id=platform_id))


@bp.post("/platforms/<uuid:platform_id>/archive")
@login_required
def archive(platform_id: uuid.UUID) -> Response:
    if not ArchiveForm().validate_on_submit():
        abort(400)
    try:
        platforms.archive_platform(db.session(), current_user.login, platform_id)
    except DecisionError as e:
        if e.reason == "unknown":
            abort(404)
        flash(decision_message(e), "error")
    else:
        flash(
            _(
                "The platform is archived. Its history stays in your ledger, a granted use can still be "
                "withdrawn, and you can bring it back at any time."
            ),
            "info",
        )
    return redirect(url_for("platforms.show", platform_id=platform_id))


@bp.post("/platforms/<uuid:platform_id>/unarchive")
@login_required
def unarchive(platform_id: uuid.UUID) -> Response:
    if not ArchiveForm().validate_on_submit():
        abort(400)
    try:
        platforms.unarchive_platform(db.session(), current_user.login, platform_id)
    except DecisionError as e:
        if e.reason == "unknown":
            abort(404)
        flash(decision_message(e), "error")
    else:
        flash(_("The platform is back among your current platforms."), "success")
    return redirect(url_for("platforms.show", platform_id=platform_id))


@bp.route("/platforms/<uuid:platform_id>/erase", methods=["GET", "POST"])
@login_required
@fresh_factor_required()
def erase(platform_id: uuid.UUID) -> Response | tuple[str, int]:
    """Erase what the app holds about a platform: a page that says what goes and what stays,
    then the password again (and the second factor, like deleting the account)."""
    s, login = db.session(), current_user.login
    view = _platform_or_404(platform_id)
    form = EraseForm()
    if form.validate_on_submit():
        try:
            accounts.confirm_password(s, account_settings(), login, form.current.data)
        except WrongPassword:
            form.current.errors.append(_("The current password is wrong."))
        else:
            try:
                done = platforms.erase_platform(s, login, platform_id)
            except DecisionError as e:
                if e.reason == "unknown":
                    abort(404)
                raise
            flash(
                ngettext(
                    "Everything this app held about the platform is erased. %(num)d event of your ledger is "
                    "now redacted: its trace stays, so your ledger still verifies.",
                    "Everything this app held about the platform is erased. %(num)d events of your ledger are "
                    "now redacted: their traces stay, so your ledger still verifies.",
                    done.events,
                ),
                "success",
            )
            return redirect(url_for("platforms.index"))
    found = platforms.erasure(s, login, platform_id)
    if found is None:
        abort(404)
    return form_page("platforms/erase.html", form=form, platform=view, erasure=found)


@bp.get("/platforms/<uuid:platform_id>/uses")
@login_required
def uses(platform_id: uuid.UUID) -> Response:
    """Where the use form posts: reloading the page it answered (after an error) or going
    back to it lands on the platform's page instead of "Method Not Allowed"."""
    _platform_or_404(platform_id)
    return redirect(url_for("platforms.show", platform_id=platform_id) + "#new-use")


@bp.post("/platforms/<uuid:platform_id>/uses")
@login_required
def add_use(platform_id: uuid.UUID) -> Response | tuple[str, int]:
    view = _platform_or_404(platform_id)
    form = UseForm()
    granted = request.form.get("decision") == "grant"
    if request.form.get("decision") not in ("grant", "refuse"):
        abort(400)
    if form.validate_on_submit():
        custom = form.purpose.data == vocabulary.CUSTOM
        use = {
            "purpose": "custom:" + _text(form.custom) if custom else form.purpose.data,
            "label": _text(form.custom) if custom else vocabulary.PURPOSES[form.purpose.data],
            "description": _text(form.description),
            "legal_basis": form.legal_basis.data or None,
            "recipients": _text(form.recipients),
            "expires": form.expires.data.isoformat() if form.expires.data else None,
        }
        now = datetime.now(UTC)
        try:
            platforms.new_use(
                db.session(),
                current_user.login,
                platform_id,
                granted=granted,
                use=use,
                at=decision_moment(form.decided_on.data, today=now.date()),
                now=now,
            )
        except DecisionError as e:
            form.decided_on.errors.append(decision_message(e))
        else:
            flash(
                _("Granted and signed into your ledger.") if granted else _("Refused and signed into your ledger."),
                "success",
            )
            return redirect(url_for("platforms.show", platform_id=platform_id))
    return _platform_page(view, form)


@bp.post("/uses/<uuid:use_id>/<action>")
@login_required
def decide(use_id: uuid.UUID, action: str) -> Response:
    if action not in platforms.ACTIONS:
        abort(404)
    form = DecisionForm()
    back_to = safe_next(request.form.get("back_to"))
    if not form.validate_on_submit():
        flash(_("Enter the dates as YYYY-MM-DD."), "error")
        return redirect(back_to)
    now = datetime.now(UTC)
    try:
        event = platforms.decide(
            db.session(),
            current_user.login,
            use_id,
            action,
            expires=form.expires.data,
            no_end=form.no_end.data,
            at=decision_moment(form.decided_on.data, today=now.date()),
            now=now,
        )
    except DecisionError as e:
        if e.reason == "unknown":
            abort(404)
        flash(decision_message(e), "error")
        return redirect(back_to)
    messages = {
        "grant": _("Granted and signed into your ledger."),
        "refuse": _("Refused and signed into your ledger."),
        "withdraw": _("Withdrawn and signed into your ledger."),
        "renew": _("Renewed and signed into your ledger."),
    }
    if action == "withdraw" and request.form.get("ended") == "1":
        # A use resting on a contract ended with it: no consent to withdraw, no letter to offer.
        flash(_("Recorded: this use has ended. Your ledger holds the signed record (event %(n)d).", n=event["index"]))
        return redirect(back_to)
    flash(messages[action], "success")
    if action == "withdraw":
        # Art. 7(3): the withdrawal is recorded; offer the letter that tells the platform.
        flash(_("Your ledger holds the signed record of this withdrawal (event %(n)d).", n=event["index"]), "info")
        platform = platforms.get_platform(db.session(), current_user.login, uuid.UUID(event["platform"]))
        if platform is not None and not platform.state.archived:  # an archived platform's use is not granted again
            # One click, on whatever page the person is: base.html draws platforms/_undo_offer.html.
            flash(f"{event['use']} {event['index']}", "undo-offer")
        letter = url_for("requests.compose_letter", platform_id=event["platform"], kind="withdrawal", use=event["use"])
        flash(letter, "letter-offer")
    return redirect(back_to)


@bp.post("/uses/<uuid:use_id>/undo")
@login_required
def undo(use_id: uuid.UUID) -> Response:
    """Take back a withdrawal made a moment ago: the use is granted again, on the same terms."""
    form = UndoForm()
    back_to = safe_next(request.form.get("back_to"))
    if not form.validate_on_submit():
        abort(400)
    try:
        event = platforms.undo_withdrawal(db.session(), current_user.login, use_id, form.index.data)
    except DecisionError as e:
        if e.reason == "unknown":
            abort(404)
        flash(decision_message(e), "error")
        return redirect(back_to)
    flash(
        _(
            "Undone: the use is granted again on the same terms. Your ledger keeps both the withdrawal "
            "(event %(withdrawal)d) and this new grant (event %(grant)d).",
            withdrawal=form.index.data,
            grant=event["index"],
        ),
        "success",
    )
    return redirect(back_to)


@bp.route("/platforms/bulk", methods=["GET", "POST"])
@login_required
def bulk() -> Response | tuple[str, int]:
    """Several platforms at once, from a company pack or a category of the directory."""
    s, login = db.session(), current_user.login
    country = (profiles.read_profile(s, login).get("country") or "").lower()
    pack, category = request.form.get("pack") or None, request.form.get("category") or None
    step = request.form.get("step") if request.method == "POST" else None
    linked = {view.state.directory for view in platforms.list_platforms(s, login) if view.state.directory}
    entries = directory.members(s, pack=pack, category=category, country=country) if step else []
    problem = None
    if step and not (pack or category):
        problem = _("Choose a group or a category.")
    elif step == "add":
        chosen = set(request.form.getlist("slug"))
        picked = [entry for entry in entries if entry.slug in chosen and entry.slug not in linked]
        details = [directory.platform_details(entry) for entry in picked]
        # Only the details the page showed are signed: the directory is the operator's to write.
        if not all(
            directory.shown(d, request.form.get(f"seen-{e.slug}")) for e, d in zip(picked, details, strict=True)
        ):
            problem = _("The directory changed since this page showed it: check the details below again.")
        elif picked:
            added = platforms.add_many(s, login, details)
            flash(ngettext("%(num)d platform added.", "%(num)d platforms added.", added), "success")
            return redirect(url_for("platforms.index"))
        else:
            problem = _("Tick at least one company.")
    packs, categories = directory.packs(s), directory.categories(s)
    page = render_template(
        "platforms/bulk.html",
        details={entry.slug: directory.platform_details(entry) for entry in entries},
        fingerprint=directory.fingerprint,
        packs=packs,
        pack_labels={p.key: labels.pack(p.key) for p in packs},
        categories=categories,
        category_labels={c: labels.category(c) for c in categories},
        pack=pack,
        category=category,
        entries=entries,
        linked=linked,
        listed=step is not None,
        problem=problem,
    )
    return page, 400 if problem else 200
