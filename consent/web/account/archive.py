"""Taking the whole account away, and bringing one here (issue 12; consent.services.archive).

The archive is built into a temporary file and streamed from it: the browser shows its own
download progress, and no more than one answer file is in memory at once (encryption, too,
goes from one temporary file to another, a chunk at a time). Importing asks for
the current password, like every sensitive change, and only an empty account may import.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime

from flask import current_app, flash, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from consent import db
from consent.archive import format as archive_format
from consent.archive.present import presentation
from consent.errors import WrongPassword
from consent.services import accounts, witnessing
from consent.services import archive as archive_service
from consent.web.account import bp
from consent.web.account.forms import ExportArchiveForm, ImportArchiveForm
from consent.web.auth.recovery import show_recovery_code
from consent.web.logins import account_settings, start_login
from consent.web.pages import form_page
from consent.web.second_factor import fresh_factor_required

#: The largest archive the page takes (the app's MAX_CONTENT_LENGTH is for ordinary forms;
#: an archive carries every answer file). Larger ones: `consent import-account`.
MAX_ARCHIVE_UPLOAD = 1024 * 1024 * 1024


@bp.url_value_preprocessor
def _archive_upload_limit(endpoint: str | None, _values: object) -> None:
    # Runs before any before_request (CSRFProtect reads the form there): the only place a
    # larger upload can be allowed for this one form.
    if endpoint == "account.import_archive":
        request.max_content_length = MAX_ARCHIVE_UPLOAD


def _page(**forms: object) -> tuple[str, int]:
    context: dict[str, object] = {
        # Unbound (formdata=None): after the other form's POST, a form read from it would
        # take its missing checkbox for an unticked one and turn encryption off.
        "export_form": ExportArchiveForm(formdata=None, prefix="export"),
        "import_form": ImportArchiveForm(formdata=None, prefix="import"),
        "can_import": archive_service.is_empty(db.session(), current_user.login),
        "import_error": None,
        "export_error": None,
    }
    context.update(forms)
    return form_page("account/archive.html", **context)


@bp.get("/account/archive")
@login_required
def archive() -> tuple[str, int]:
    return _page()


@bp.post("/account/archive/export")
@login_required
@fresh_factor_required("account.archive")
def export_archive() -> Response | tuple[str, int]:
    form = ExportArchiveForm(prefix="export")
    if not form.validate_on_submit():
        return _page(export_form=form)
    try:
        accounts.confirm_password(db.session(), account_settings(), current_user.login, form.current.data)
    except WrongPassword:
        form.current.errors.append(_("The current password is wrong."))
        return _page(export_form=form)
    built = tempfile.TemporaryFile()
    try:
        archive_service.export_account(
            db.session(),
            current_user.login,
            built,
            presentation=presentation(),
            public_url=str(current_app.config["PUBLIC_URL"] or ""),
            post_delivery_days=int(current_app.config["POST_DELIVERY_DAYS"]),
        )
    except archive_service.ArchiveBusy:
        built.close()
        return _page(
            export_form=form, export_error=_("Your records kept changing while the archive was packed. Try again.")
        )
    except BaseException:  # IntegrityAlarm included: its page (consent.web.errors)
        built.close()
        raise
    built.seek(0)
    name = f"consent-archive-{datetime.now(UTC):%Y-%m-%d}.zip"
    if form.encrypt.data:
        with built:
            sealed = tempfile.TemporaryFile()
            archive_format.encrypt_stream(built, sealed, form.passphrase.data)
        sealed.seek(0)
        return send_file(sealed, mimetype="application/octet-stream", as_attachment=True, download_name=name + ".age")
    # send_file streams the file in blocks and closes (so deletes) it once sent.
    return send_file(built, mimetype="application/zip", as_attachment=True, download_name=name)


@bp.post("/account/archive/import")
@login_required
@fresh_factor_required("account.archive")
def import_archive() -> Response | tuple[str, int]:
    form = ImportArchiveForm(prefix="import")
    if not form.validate_on_submit():
        return _page(import_form=form)
    s = db.session()
    login = current_user.login
    try:
        accounts.confirm_password(s, account_settings(), login, form.current.data)
    except WrongPassword:
        form.current.errors.append(_("The current password is wrong."))
        return _page(import_form=form)
    if not archive_service.is_empty(s, login):
        return _page(import_form=form, import_error=_("Only an empty account can import an archive."))
    trusted = tuple(w.key for w in witnessing.witnesses(s))
    try:
        opened = archive_format.open_archive(
            form.archive.data.stream, passphrase=form.passphrase.data or None, witnesses=trusted
        )
        try:
            cosignatures = archive_service.ask_witnesses(s, opened)
            new = archive_service.import_account(
                s, account_settings(), opened, password=form.current.data, replacing=login, cosignatures=cosignatures
            )
        finally:
            opened.close()
    except archive_format.ArchiveError as e:
        # The reason is about the file the person chose (no secret, no other account's data).
        return _page(
            import_form=form, import_error=_("The archive was refused, nothing changed: %(reason)s", reason=str(e))
        )
    email = current_user.email
    start_login(new.login)
    flash(_("Your archive is imported: everything in it is here again."), "success")
    return show_recovery_code(new.recovery_code, email, first=False)
