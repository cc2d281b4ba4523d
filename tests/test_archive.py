"""The account archive: export from one instance, import into another, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from consent import create_app, db, migrate
from consent.archive import format as archive_format
from consent.archive.format import ArchiveError, Limits
from consent.ledger import bundle
from consent.ledger.verify import verify_command
from consent.models import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    Platform,
    Profile,
    Request,
    RequestFile,
    Use,
    User,
)
from consent.models.base import Sealed
from consent.services import accounts, integrity, ledger
from tests.conftest import PASSWORD, PG_URL, Auth, count_rows, csrf_token, recovery_code_from, test_settings
from tests.test_platforms import SHOP, add_platform, add_use, decide, use_ids
from tests.test_requests import post_letter

ANSWER = b"their copy of my data: Zo\xc3\xab, 12 rue de la Paix"
PASSPHRASE = "correct horse battery staple"


# --- instances ----------------------------------------------------------------------------


@contextmanager
def database(tmp_path: Path, name: str, base: str = PG_URL) -> Iterator[str]:
    """A database of its own: SQLite in tmp_path, or a PostgreSQL schema dropped afterwards."""
    if not base:
        yield f"sqlite:///{tmp_path / (name + '.db')}"
        return
    schema = f"archive_{name}_{secrets.token_hex(4)}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def instance(url: str, **settings: Any) -> Iterator[Flask]:
    made = create_app(test_settings(url, **settings))
    with made.app_context():
        migrate.upgrade(db.engine())
    try:
        yield made
    finally:
        with made.app_context():
            db.engine().dispose()


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Flask]:
    """Instance B, beside the ``app`` fixture's instance A."""
    with database(tmp_path, "b") as url, instance(url) as made:
        yield made


def login_of(app: Flask, email: str = "ada@example.org", password: str = PASSWORD) -> accounts.ActiveLogin:
    return accounts.log_in(db.session(), app.extensions["consent.accounts"], email=email, password=password)


def fill(person: Auth, app: Flask) -> None:
    """An account with something of everything: platforms with identifiers and notes, uses
    granted and withdrawn, a letter sent and answered with a file, a draft."""
    shop = add_platform(person)
    add_platform(person, name="Bäckerei <b>Müller</b>", website="https://baecker.example", country="DE")
    add_use(person, shop, "Marketing")
    add_use(person, shop, "DirectMarketing", decision="refuse")
    decide(person, use_ids(app, shop)["Marketing"], "withdraw")
    sent = post_letter(person, shop, step="sent", sent_on=date(2026, 11, 2).isoformat())
    request_page = sent.headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    client = person.client
    token = csrf_token(client, request_page)
    answered = client.post(
        f"/requests/{request_id}/update",
        data={
            "csrf_token": token,
            "status": "answered",
            "note": "Sent a ZIP",
            "file": (io.BytesIO(ANSWER), "copy.txt"),
        },
        content_type="multipart/form-data",
    )
    assert answered.status_code == 302
    assert post_letter(person, shop, step="draft").status_code == 302


def export_via_page(person: Auth, *, encrypt: bool = False, password: str = PASSWORD) -> bytes:
    data = {"export-current": password}
    if encrypt:
        data.update({"export-encrypt": "y", "export-passphrase": PASSPHRASE, "export-confirm_passphrase": PASSPHRASE})
    response = person.post("/account/archive", data, action="/account/archive/export", prefix="export")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    body = response.get_data()
    response.close()
    return body


def import_via_page(auth: Auth, archive: bytes, *, passphrase: str = "", password: str = PASSWORD) -> Any:
    token = csrf_token(auth.client, "/account/archive")
    return auth.client.post(
        "/account/archive/import",
        data={
            "import-csrf_token": token,
            "import-archive": (io.BytesIO(archive), "archive.zip"),
            "import-passphrase": passphrase,
            "import-current": password,
        },
        content_type="multipart/form-data",
    )


# --- comparing two instances ---------------------------------------------------------------

#: What differs by design between the exporting and the importing instance: the password's
#: and the recovery code's wrappings of a new data key, the e-mail's keyed index (another
#: instance's key), and the seal (over other ciphertexts).
_NOT_COMPARED = {
    "users": {
        "email_lookup",
        "password_hash",
        "password_salt",
        "password_kdf",
        "dek_by_password",
        "recovery_salt",
        "dek_by_recovery",
    },
    "ledger_heads": {"manifest"},
}
_TABLES = (User, Profile, Platform, Use, Request, RequestFile, LedgerEntry, LedgerCheckpoint, LedgerHead)


def snapshot(app: Flask, email: str = "ada@example.org", password: str = PASSWORD) -> dict[str, list[dict[str, Any]]]:
    """Every row of the person, every column, sealed ones opened with their key."""
    with app.app_context():
        s = db.session()
        login = login_of(app, email, password)
        integrity.check(s, login)
        taken: dict[str, list[dict[str, Any]]] = {}
        for model in _TABLES:
            table = model.__table__
            owner = table.c["id"] if model is User else table.c["user_id"]
            rows = []
            for row in s.scalars(sa.select(model).where(owner == login.user.id)):
                values = {}
                for column in table.columns:
                    if column.name in _NOT_COMPARED.get(table.name, ()):
                        continue
                    value = getattr(row, column.key)
                    if isinstance(column.type, Sealed) and value is not None:
                        value = login.vault.read_bytes(row, column.key)
                    values[column.name] = value
                rows.append(values)
            taken[table.name] = sorted(rows, key=repr)
        accounts.log_out(s, login.token)
        return taken


def pages(client: FlaskClient) -> dict[str, str]:
    """What the person sees: the dashboard, the history, the platforms, the requests, each letter."""
    client.get("/dashboard")  # a notice left from the last action goes
    shown = {}
    for path in ("/dashboard", "/ledger", "/platforms", "/requests"):
        shown[path] = _without_tokens(client.get(path).get_data(as_text=True))
    for link in sorted(set(re.findall(r'href="(/requests/[0-9a-f-]{36})"', shown["/requests"]))):
        shown[link] = _without_tokens(client.get(link).get_data(as_text=True))
        shown[link + "/letter.txt"] = client.get(link + "/letter.txt").get_data(as_text=True)
    return shown


def _without_tokens(html: str) -> str:
    """A page without what differs between two visits anyway: its CSRF tokens, and the
    timeline's drawing, scaled to the moment it is drawn."""
    html = re.sub(r'(name="[\w-]*csrf_token"[^>]*value=")[^"]+', r"\1", html)
    return re.sub(r"<svg.*?</svg>", "<svg/>", html, flags=re.DOTALL)


# --- export -------------------------------------------------------------------------------


def test_the_archive_holds_everything_decrypted_and_signed(person, app, client):
    fill(person, app)
    archive = zipfile.ZipFile(io.BytesIO(export_via_page(person)))
    names = set(archive.namelist())
    doc = json.loads(archive.read("account.json"))
    assert doc["format"] == "consent-account-archive" and doc["version"] == 1
    assert doc["account"]["email"] == "ada@example.org"
    assert doc["profile"]["full_name"] == "Zoë Dupré"
    shop = next(p for p in doc["platforms"] if p["details"]["name"] == SHOP["name"])
    assert shop["private"] == {
        "identifiers": [{"kind": "customer number", "value": "C-77123"}],
        "notes": "Bought a bike there",
    }
    assert sorted(u["state"]["status"] for u in doc["uses"]) == ["refused", "withdrawn"]
    assert sorted(r["details"]["status"] for r in doc["requests"]) == ["answered", "draft"]
    answered = next(r for r in doc["requests"] if r["files"])
    (listed,) = answered["files"]
    assert listed["name"] == "copy.txt" and listed["size"] == len(ANSWER)
    assert listed["sha256"] == hashlib.sha256(ANSWER).hexdigest()
    assert archive.read(listed["path"]) == ANSWER
    for request in doc["requests"]:
        assert archive.read(request["letter"]["pdf"]).startswith(b"%PDF")
        assert "Shopwise" in archive.read(request["letter"]["text"]).decode()
    assert archive.read("key-card.pdf").startswith(b"%PDF")
    # Every other file is listed with its size and SHA-256, and nothing else is there.
    assert names == set(doc["files"]) | {"account.json", "account.json.sig"}
    for name, listed in doc["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == listed["sha256"]
    # account.json is signed by the ledger's key, whose private half is there too.
    signature = base64.b64decode(archive.read("account.json.sig"))
    key = bundle.parse_key(archive.read("ledger/verifier-key.txt").decode().strip())
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(key.public_key).verify(
        signature, archive_format.signed_message(archive.read("account.json"))
    )
    assert base64.b64decode(doc["signing_key"]["public"]) == key.public_key


def test_the_archived_bundle_is_the_ledger_export_and_verifies_alone(person, app, tmp_path):
    fill(person, app)
    archive = zipfile.ZipFile(io.BytesIO(export_via_page(person)))
    with app.app_context():
        out = io.StringIO()
        ledger.export(db.session(), login_of(app), out)
    assert archive.read("ledger/bundle.json").decode() == out.getvalue()
    (tmp_path / "bundle.json").write_bytes(archive.read("ledger/bundle.json"))
    key = archive.read("ledger/verifier-key.txt").decode().strip()
    verified = CliRunner().invoke(verify_command, [str(tmp_path / "bundle.json"), "--key", key])
    assert verified.exit_code == 0, verified.output


def test_the_index_opens_without_a_server_and_escapes_every_value(person, app):
    fill(person, app)
    archive = zipfile.ZipFile(io.BytesIO(export_via_page(person)))
    index = archive.read("index.html").decode()
    assert "<script" not in index and "http://localhost" not in index
    assert "Bäckerei &lt;b&gt;Müller&lt;/b&gt;" in index and "<b>Müller</b>" not in index
    assert "C-77123" in index and "copy.txt" in index
    for link in re.findall(r'href="([^"]+)"', index):
        assert link in archive.namelist(), link  # every link leads to a file of the archive


def test_an_encrypted_archive_is_age_and_opens_only_with_its_passphrase(person, app):
    fill(person, app)
    body = export_via_page(person, encrypt=True)
    assert body.startswith(b"age-encryption.org/v1\n")
    opened = archive_format.open_archive(io.BytesIO(body), passphrase=PASSPHRASE)
    assert opened.account["account"]["email"] == "ada@example.org"
    opened.close()
    with pytest.raises(ArchiveError) as refused:
        archive_format.open_archive(io.BytesIO(body), passphrase="not the passphrase")
    assert refused.value.reason == "passphrase"


def test_the_page_defaults_to_a_passphrase_and_warns_about_the_signing_key(person):
    page = person.client.get("/account/archive").get_data(as_text=True)
    assert re.search(r'name="export-encrypt"[^>]*checked|checked[^>]*name="export-encrypt"', page)
    assert "whoever has it can sign decisions in your name" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"export-current": "wrong password 99"}, "The current password is wrong."),
        (
            {
                "export-current": PASSWORD,
                "export-encrypt": "y",
                "export-passphrase": "short",
                "export-confirm_passphrase": "short",
            },
            "at least 8 characters",
        ),
        (
            {
                "export-current": PASSWORD,
                "export-encrypt": "y",
                "export-passphrase": PASSPHRASE,
                "export-confirm_passphrase": "other one!",
            },
            "differ",
        ),
    ],
)
def test_export_asks_for_the_password_and_a_sound_passphrase(person, app, data, message):
    response = person.post("/account/archive", data, action="/account/archive/export", prefix="export")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_passphrase_typed_with_encryption_unticked_is_refused_not_ignored(person):
    """A passphrase typed and then the box unticked: the person meant to encrypt (found in
    an outsider's walk, where a plain zip with the signing key came back without a word)."""
    data = {"export-current": PASSWORD, "export-passphrase": PASSPHRASE, "export-confirm_passphrase": PASSPHRASE}
    response = person.post("/account/archive", data, action="/account/archive/export", prefix="export")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "unticked encryption" in response.get_data(as_text=True)


def test_a_refused_import_leaves_encryption_ticked_for_the_next_export(person):
    """The page drawn after a failed import kept a fresh export form read from the import's
    own POST: its missing checkbox read as unticked (found in an outsider's walk)."""
    response = import_via_page(person, b"not an archive")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'role="alert"' in html  # refused
    box = re.search(r'<input[^>]*name="export-encrypt"[^>]*>', html)
    assert box is not None and "checked" in box.group(0)


def test_export_needs_the_csrf_token_and_a_post(person):
    assert person.client.post("/account/archive/export", data={"export-current": PASSWORD}).status_code == 400
    assert person.client.get("/account/archive/export").status_code == 405


def test_export_from_the_command_line_with_a_progress_bar(person, app, tmp_path):
    fill(person, app)
    out = tmp_path / "ada.zip.age"
    args = ["export-account", "ada@example.org", "-o", str(out), "--encrypt"]
    result = app.test_cli_runner().invoke(args=args, input=f"{PASSWORD}\n{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert "Building the archive" in result.stderr and "2 platforms, 2 requests" in result.stderr
    with out.open("rb") as stream:
        opened = archive_format.open_archive(stream, passphrase=PASSPHRASE)
        assert len(opened.account["platforms"]) == 2
        opened.close()
    again = app.test_cli_runner().invoke(args=args, input=f"{PASSWORD}\n{PASSPHRASE}\n")
    assert again.exit_code != 0 and "exists" in again.output
    wrong = app.test_cli_runner().invoke(
        args=["export-account", "ada@example.org", "-o", str(tmp_path / "x.zip")], input="wrong password 5\n"
    )
    assert wrong.exit_code != 0 and not (tmp_path / "x.zip").exists()


# --- import -------------------------------------------------------------------------------


def test_import_into_another_instance_brings_back_the_same_state(person, app, client, other):
    fill(person, app)
    before = snapshot(app)
    shown_a = pages(client)
    archive = export_via_page(person)
    b = Auth(other.test_client())
    b.register()  # the same address, on B
    imported = import_via_page(b, archive)
    assert imported.status_code == 200, imported.get_data(as_text=True)[:3000]
    recovery_code_from(imported.get_data(as_text=True))  # a new recovery code, shown once
    assert snapshot(other) == before
    assert pages(b.client) == shown_a
    with other.app_context():
        check = ledger.verify(db.session(), login_of(other))
        assert check.ok, check.problems + [str(p) for p in check.records]


def test_import_keeps_the_second_factor_and_password_of_the_new_account(person, app, other):
    fill(person, app)
    archive = export_via_page(person)
    b = Auth(other.test_client())
    b.register("bea@example.org", password="new lantern river 31")
    assert import_via_page(b, archive, password="new lantern river 31").status_code == 200
    b.logout()
    assert b.login("bea@example.org", password="new lantern river 31").status_code == 302
    with other.app_context():
        login = login_of(other, "bea@example.org", "new lantern river 31")
        assert login.vault.read(login.user, "email") == "bea@example.org"
        assert len(list(ledger.iter_events(db.session(), login))) > 5


def test_a_receipt_from_a_verifies_against_b_and_b_extends_the_same_tree(person, app, other, tmp_path):
    fill(person, app)
    with app.app_context():
        receipt = ledger.receipt(db.session(), login_of(app), 1)
        old_checkpoint = ledger.latest_checkpoint(db.session(), login_of(app).user)
    archive = export_via_page(person)
    b = Auth(other.test_client())
    b.register()
    assert import_via_page(b, archive).status_code == 200
    add_platform(b, name="After the move")
    with other.app_context():
        s = db.session()
        login = login_of(other)
        out = io.StringIO()
        ledger.export(s, login, out)
    (tmp_path / "b.json").write_text(out.getvalue())
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    (tmp_path / "old.txt").write_text(old_checkpoint or "")
    key = json.loads(out.getvalue())["verifier_key"]
    for held in ("receipt.json", "old.txt"):
        args = [str(tmp_path / "b.json"), "--key", key, "--held", str(tmp_path / held)]
        verified = CliRunner().invoke(verify_command, args)
        assert verified.exit_code == 0, verified.output


def test_import_from_the_command_line_creates_the_account(person, app, other, tmp_path):
    fill(person, app)
    path = tmp_path / "ada.zip.age"
    path.write_bytes(export_via_page(person, encrypt=True))
    before = snapshot(app)
    result = other.test_cli_runner().invoke(
        args=["import-account", str(path), "--email", "ada@example.org"], input=f"{PASSWORD}\n{PASSPHRASE}\n"
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}", result.output)
    assert snapshot(other) == before


# --- refusals -----------------------------------------------------------------------------


def _rezip(archive: bytes, change: Any) -> bytes:
    """The archive with its members rewritten by ``change(name, data)`` (None drops one)."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = change(name, source.read(name))
            if data is not None:
                target.writestr(name, data)
        extra = change("<extra>", b"")
        if extra is not None:
            target.writestr(*extra)
    return out.getvalue()


def _edit_account(name: str, data: bytes) -> bytes:
    if name == "account.json":
        doc = json.loads(data)
        doc["platforms"][0]["private"] = {"identifiers": [], "notes": "forged"}
        return json.dumps(doc).encode()
    return data


def _newer(name: str, data: bytes) -> Any:
    if name == "account.json":
        return data.replace(b'"version": 1', b'"version": 2', 1)
    return None if name == "<extra>" else data


REFUSALS = {
    "not an archive": (lambda archive: b"hello, this is not a zip", "not_archive"),
    "truncated": (lambda archive: archive[: len(archive) // 2], "damaged"),
    "a file changed": (
        lambda archive: _rezip(
            archive, lambda n, d: None if n == "<extra>" else (d + b" " if n == "key-card.pdf" else d)
        ),
        "changed",
    ),
    "a file missing": (
        lambda archive: _rezip(archive, lambda n, d: None if n in ("<extra>", "key-card.pdf") else d),
        "missing",
    ),
    "an extra file": (
        lambda archive: _rezip(archive, lambda n, d: ("notes.txt", b"hi") if n == "<extra>" else d),
        "extra",
    ),
    "account.json edited": (
        lambda archive: _rezip(archive, lambda n, d: None if n == "<extra>" else _edit_account(n, d)),
        "signature",
    ),
    "a newer format": (lambda archive: _rezip(archive, _newer), "version"),
    "unsafe path": (
        lambda archive: _rezip(archive, lambda n, d: ("../evil.txt", b"x") if n == "<extra>" else d),
        "unsafe_path",
    ),
    "absolute path": (
        lambda archive: _rezip(archive, lambda n, d: ("/etc/evil", b"x") if n == "<extra>" else d),
        "unsafe_path",
    ),
}


def _resign(archive: bytes, edit: Any) -> bytes:
    """Edit files as someone holding the archive (and so its private key) would, fixing the
    SHA-256 list and the signature: what is left to catch it is the ledger's own check."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    files = {name: edit(name, source.read(name)) for name in source.namelist()}
    doc = json.loads(files["account.json"])
    for name in doc["files"]:
        doc["files"][name] = {"size": len(files[name]), "sha256": hashlib.sha256(files[name]).hexdigest()}
    account = json.dumps(doc).encode()
    files["account.json"] = account
    files["account.json.sig"] = archive_format.sign(account, base64.b64decode(doc["signing_key"]["private"]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, data in files.items():
            target.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def exported(person, app) -> bytes:
    fill(person, app)
    return export_via_page(person)


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_bad_archive_is_refused_with_its_reason_and_nothing_changes(exported, other, case):
    make, reason = REFUSALS[case]
    b = Auth(other.test_client())
    b.register()
    before = count_rows(other)
    response = import_via_page(b, make(exported))
    assert response.status_code == 200 and "The archive was refused, nothing changed" in response.get_data(as_text=True)
    assert count_rows(other) == before
    with pytest.raises(ArchiveError) as refused:
        archive_format.open_archive(io.BytesIO(make(exported)))
    assert refused.value.reason == reason


def test_a_ledger_bundle_edited_and_signed_again_is_refused(exported, other):
    forged = _resign(
        exported,
        lambda n, d: d.replace(b'"Shopwise Online"', b'"Shopwise Offline"', 1) if n == "ledger/bundle.json" else d,
    )
    with pytest.raises(ArchiveError) as refused:
        archive_format.open_archive(io.BytesIO(forged))
    assert refused.value.reason == "ledger" and "changed" in str(refused.value)


def _forge_account(change: Any) -> Any:
    def edit(name: str, data: bytes) -> bytes:
        if name != "account.json":
            return data
        doc = json.loads(data)
        change(doc)
        return json.dumps(doc).encode()

    return edit


def _every_use_granted(doc: dict[str, Any]) -> None:
    for use in doc["uses"]:
        use["state"]["status"] = "granted"


def _platform_mail_redirected(doc: dict[str, Any]) -> None:
    doc["platforms"][0]["details"]["email"] = "attacker@evil.example"


def _request_answers_dropped(doc: dict[str, Any]) -> None:
    answered = next(r for r in doc["requests"] if r["details"]["replies"])
    answered["details"]["replies"] = []


def _ledger_dropped(doc: dict[str, Any]) -> None:
    doc["ledger"] = None


def _creation_date_dropped(doc: dict[str, Any]) -> None:
    del doc["account"]["created_at"]  # was a server error (an attacker's pass)


def _one_file_for_two_answers(doc: dict[str, Any]) -> None:
    listed = [f for r in doc["requests"] for f in r["files"]]
    assert listed, "the filled account has an answer file"
    listed.append(dict(listed[0], id=str(uuid.uuid4())))
    doc["requests"][0]["files"].append(listed[-1])


def test_an_answer_file_listed_twice_is_refused(exported, other):
    """One member listed for many answers let a 43 KB upload write 200 MB (an attacker's
    pass): each member is read once, for one answer."""
    forged = _resign(exported, _forge_account(_one_file_for_two_answers))
    b = Auth(other.test_client())
    b.register()
    before = count_rows(other)
    html = import_via_page(b, forged).get_data(as_text=True)
    assert "The archive was refused, nothing changed" in html and "listed twice" in html
    assert count_rows(other) == before


@pytest.mark.parametrize(
    "change", [_every_use_granted, _platform_mail_redirected, _request_answers_dropped, _ledger_dropped, _creation_date_dropped]
)
def test_records_the_signed_ledger_contradicts_are_refused_though_signed_again(exported, other, change):
    """Whoever holds an archive holds the key that signs account.json (an attacker's pass
    changed the uses, a platform's address and the ledger's description, signed again, and
    import sealed it all): only the ledger's events vouch for these records."""
    forged = _resign(exported, _forge_account(change))
    b = Auth(other.test_client())
    b.register()
    before = count_rows(other)
    html = import_via_page(b, forged).get_data(as_text=True)
    assert "The archive was refused, nothing changed" in html
    assert count_rows(other) == before


def test_an_encrypted_archive_without_or_with_a_wrong_passphrase_is_refused(person, app, other):
    fill(person, app)
    body = export_via_page(person, encrypt=True)
    b = Auth(other.test_client())
    b.register()
    before = count_rows(other)
    for passphrase in ("", "wrong passphrase"):
        response = import_via_page(b, body, passphrase=passphrase)
        assert "passphrase" in response.get_data(as_text=True)
    assert count_rows(other) == before


def test_an_archive_whose_account_exists_here_is_refused(exported, app, person):
    # Instance A itself: the account is still there.
    person.logout()
    b = person
    b.register("bea@example.org")
    before = count_rows(app)
    response = import_via_page(b, exported)
    assert "this archive&#39;s id exists here already" in response.get_data(as_text=True)
    assert count_rows(app) == before


def test_an_account_with_only_its_profile_filled_in_can_import(exported, other):
    """Saving one's name first, as the dashboard suggests, signed an event, and the account
    could then never import (an outsider's walk)."""
    b = Auth(other.test_client())
    b.register()
    assert b.post("/profile", {"full_name": "Bea Import"}).status_code == 302
    page = b.client.get("/account/archive").get_data(as_text=True)
    assert "replaced by the archive" in page
    response = import_via_page(b, exported)
    assert response.status_code == 200 and "Your archive is imported" in response.get_data(as_text=True)
    profile = b.client.get("/profile").get_data(as_text=True)
    assert "Bea Import" not in profile


def test_import_into_a_non_empty_account_is_refused(exported, other):
    b = Auth(other.test_client())
    b.register()
    add_platform(b)
    before = count_rows(other)
    page = b.client.get("/account/archive").get_data(as_text=True)
    assert "Only an empty account can import an archive" in page
    response = import_via_page(b, exported)
    assert "Only an empty account can import an archive." in response.get_data(as_text=True)
    assert count_rows(other) == before


def test_import_asks_for_the_current_password(exported, other):
    b = Auth(other.test_client())
    b.register()
    before = count_rows(other)
    response = import_via_page(b, exported, password="wrong password 11")
    assert response.status_code == 400 and "The current password is wrong." in response.get_data(as_text=True)
    assert count_rows(other) == {**before, "failed_attempts": before["failed_attempts"] + 1}


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("account.json", b"{}")
        z.writestr("account.json.sig", b"")
        z.writestr("answers/bomb", b"\0" * (4 * 1024 * 1024))
    return out.getvalue()


def test_zip_bombs_and_absurd_sizes_are_refused_before_unpacking():
    bomb = _bomb()
    assert len(bomb) < 10_000
    with pytest.raises(ArchiveError) as refused:
        archive_format.open_archive(io.BytesIO(bomb), limits=Limits(max_file=1024 * 1024))
    assert refused.value.reason == "too_large" and "answers/bomb" in str(refused.value)
    with pytest.raises(ArchiveError) as refused:
        archive_format.open_archive(io.BytesIO(bomb), limits=Limits(max_total=2 * 1024 * 1024))
    assert refused.value.reason == "too_large"
    with pytest.raises(ArchiveError) as refused:
        archive_format.open_archive(io.BytesIO(bomb), limits=Limits(max_files=2))
    assert refused.value.reason == "too_large"


def test_the_format_module_needs_neither_flask_nor_a_database():
    code = "import sys, consent.archive.format; print('flask' in sys.modules, 'sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- second factors, witnesses, other databases --------------------------------------------


def test_import_keeps_the_second_factor_of_the_importing_account(exported, other):
    from tests.test_factors import _code, second_step, turn_on

    b = Auth(other.test_client())
    b.register()
    secret = turn_on(b)
    assert import_via_page(b, exported).status_code == 200
    b.logout()
    assert "/login/second-step" in b.login().headers["Location"]  # the factor moved with the account
    assert second_step(b, code=_code(secret, steps=1)).status_code == 302
    assert "Shopwise Online" in b.client.get("/platforms").get_data(as_text=True)


def test_import_asks_for_a_fresh_second_factor(exported, other, monkeypatch):
    from consent.services import factors
    from tests.test_factors import turn_on

    b = Auth(other.test_client())
    b.register()
    turn_on(b)
    monkeypatch.setattr(factors, "recently_confirmed", lambda *_: False)
    before = count_rows(other)
    response = import_via_page(b, exported)
    assert response.status_code == 302 and "/login/second-step" in response.headers["Location"]
    assert count_rows(other) == before


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Any]:
    import threading
    import time

    from werkzeug.serving import make_server

    from consent.witness.server import create_witness_app
    from consent.witness.store import create_database
    from tests.test_witness_flow import Served

    path = tmp_path / "witness.db"
    cosigner = create_database(path, "witness.example/w1", now=int(time.time()))
    server = make_server("127.0.0.1", 0, create_witness_app(path, "consent-ledger/"), threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield Served(server, cosigner, path)
    server.shutdown()
    server.server_close()


def _person_on(app: Flask) -> Auth:
    person = Auth(app.test_client())
    person.register()
    person.post(
        "/profile", {"full_name": "Zoë Dupré", "postal_address": "12 rue de la Paix\n75002 Paris", "country": "FR"}
    )
    return person


def test_an_archive_older_than_what_a_witness_saw_is_refused_as_a_rollback(tmp_path, witness):
    with (
        database(tmp_path, "wa") as url_a,
        database(tmp_path, "wb") as url_b,
        instance(url_a, WITNESSES=[witness.config]) as a,
        instance(url_b, WITNESSES=[witness.config]) as b_app,
    ):
        person = _person_on(a)
        fill(person, a)
        older = export_via_page(person)
        add_platform(person, name="One more")  # the witness now holds a longer ledger
        newer = export_via_page(person)
        b = Auth(b_app.test_client())
        b.register()
        before = count_rows(b_app)
        refused = import_via_page(b, older).get_data(as_text=True)
        assert "a rollback" in refused and "witness witness.example/w1 has seen" in refused
        assert count_rows(b_app) == before
        assert import_via_page(b, newer).status_code == 200
        with b_app.app_context():
            s = db.session()
            login = login_of(b_app)
            from consent.services import witnessing

            assert witnessing.status(s, login).acknowledged  # the witness cosigned it for B too
        add_platform(b, name="After the move")  # B's next decision is witnessed, on the same tree


def _postgres() -> str:
    url = PG_URL or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as e:
        pytest.skip(f"no PostgreSQL server answers at {url} ({type(e).__name__}): the cross-database test needs one")
    return url


def test_export_from_sqlite_import_into_postgresql_and_back(tmp_path):
    pg = _postgres()
    with (
        database(tmp_path, "lite_a", base="") as url_a,
        database(tmp_path, "pg_b", base=pg) as url_b,
        database(tmp_path, "lite_c", base="") as url_c,
        instance(url_a) as a,
        instance(url_b) as b_app,
        instance(url_c) as c_app,
    ):
        person = _person_on(a)
        fill(person, a)
        before = snapshot(a)
        b = Auth(b_app.test_client())
        b.register()
        assert import_via_page(b, export_via_page(person)).status_code == 200
        assert snapshot(b_app) == before
        c = Auth(c_app.test_client())
        c.register()
        assert import_via_page(c, export_via_page(b)).status_code == 200
        assert snapshot(c_app) == before
        add_platform(c, name="After two moves")
        with c_app.app_context():
            assert ledger.verify(db.session(), login_of(c_app)).ok


def test_an_account_with_an_erased_platform_moves_with_its_redacted_events(person, app, other):
    from consent.services import platforms

    fill(person, app)
    gone = add_platform(person, name="Forget me GmbH")
    add_use(person, gone, "Marketing")
    with app.app_context():
        platforms.erase_platform(db.session(), login_of(app), uuid.UUID(gone))
    before = snapshot(app)
    assert any(row["event"] is None for row in before["ledger_entries"])
    archive = zipfile.ZipFile(io.BytesIO(export_via_page(person)))
    assert b"Forget me" not in archive.read("ledger/bundle.json")
    assert b'"redacted": true' in archive.read("ledger/bundle.json")
    assert b"Forget me" not in archive.read("account.json") and b"Forget me" not in archive.read("index.html")
    b = Auth(other.test_client())
    b.register()
    assert import_via_page(b, export_via_page(person)).status_code == 200
    assert snapshot(other) == before
    with other.app_context():
        check = ledger.verify(db.session(), login_of(other))
        assert check.ok and check.redacted


# --- age, a stream at a time --------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, 64 * 1024 + 1, 200_000])
def test_age_streams_are_read_by_pyrage_and_read_pyrages(size):
    import pyrage

    data = secrets.token_bytes(size)
    ours = archive_format.encrypt(data, PASSPHRASE)
    assert pyrage.passphrase.decrypt(ours, PASSPHRASE) == data
    out = io.BytesIO()
    archive_format.decrypt_stream(io.BytesIO(ours), out, PASSPHRASE, limit=size)
    assert out.getvalue() == data
    if size not in (0, 200_000):
        return  # pyrage's own encryption costs seconds (scrypt at 2^20): two sizes suffice
    theirs = pyrage.passphrase.encrypt(data, PASSPHRASE)
    out = io.BytesIO()
    archive_format.decrypt_stream(io.BytesIO(theirs), out, PASSPHRASE, limit=size)
    assert out.getvalue() == data


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda b: b[:-1], "damaged"),  # truncated in the last chunk
        (lambda b: b[: len(b) - 70_000], "damaged"),  # a whole chunk cut: the new last one is not marked last
        (lambda b: b.replace(b" 18\n", b" 30\n", 1), "too_large"),  # a work factor that would cost 128 GiB
        # The wrapped file key changed, to another base64 letter (a flipped bit could make
        # '+' or '/' a character base64 lacks, then the header is merely damaged):
        (lambda b: b[:60] + (b"B" if b[60:61] == b"A" else b"A") + b[61:], "passphrase"),
    ],
)
def test_a_damaged_or_hostile_age_file_is_refused(damage, reason):
    sealed = archive_format.encrypt(secrets.token_bytes(150_000), PASSPHRASE)
    with pytest.raises(ArchiveError) as refused:
        archive_format.decrypt_stream(io.BytesIO(damage(sealed)), io.BytesIO(), PASSPHRASE, limit=10**6)
    assert refused.value.reason == reason


def test_an_encrypted_archive_bigger_than_the_cap_is_refused_while_decrypting():
    sealed = archive_format.encrypt(secrets.token_bytes(200_000), PASSPHRASE)
    with pytest.raises(ArchiveError) as refused:
        archive_format.open_archive(io.BytesIO(sealed), passphrase=PASSPHRASE, limits=Limits(max_total=100_000))
    assert refused.value.reason == "too_large"


def test_the_import_form_takes_archives_larger_than_other_forms_may_be(person, app, tmp_path):
    fill(person, app)
    archive = export_via_page(person)
    with database(tmp_path, "small") as url, instance(url, MAX_CONTENT_LENGTH=len(archive) // 2) as small:
        b = Auth(small.test_client())
        b.register()
        token = csrf_token(b.client, "/profile")
        too_big = {"csrf_token": token, "full_name": "x" * len(archive)}
        assert b.client.post("/profile", data=too_big).status_code == 413  # other forms keep the limit
        assert import_via_page(b, archive).status_code == 200


def test_an_account_with_nothing_yet_moves_too(auth, app, other):
    auth.register()
    archive = export_via_page(auth)
    assert "ledger/bundle.json" not in zipfile.ZipFile(io.BytesIO(archive)).namelist()
    before = snapshot(app)
    b = Auth(other.test_client())
    b.register()
    assert import_via_page(b, archive).status_code == 200
    assert snapshot(other) == before
    add_platform(b)  # the first decision starts the imported (empty) ledger
    with other.app_context():
        assert ledger.verify(db.session(), login_of(other)).ok


def test_account_json_describing_another_ledger_than_its_bundle_is_refused(exported):
    def shorter(name: str, data: bytes) -> bytes:
        if name != "account.json":
            return data
        doc = json.loads(data)
        doc["ledger"]["size"] -= 1
        return json.dumps(doc).encode()

    with pytest.raises(ArchiveError) as refused:
        archive_format.open_archive(io.BytesIO(_resign(exported, shorter)))
    assert refused.value.reason == "ledger" and "another ledger" in str(refused.value)


def test_a_change_made_while_the_archive_is_packed_is_in_it(person, app, monkeypatch):
    """The person's other tab decides while the archive is being packed: the archive is
    packed again, so it is of one moment, and that moment includes the change."""
    from consent.services import archive as archive_service
    from consent.services import platforms

    fill(person, app)
    real, calls = archive_service._export, []

    def export_with_a_change_meanwhile(*args: Any) -> Any:
        doc = real(*args)
        calls.append(1)
        if len(calls) == 1:
            with app.app_context():
                other_tab = db.session()
                platforms.add_platform(other_tab, login_of(app), {"name": "Added meanwhile"})
        return doc

    monkeypatch.setattr(archive_service, "_export", export_with_a_change_meanwhile)
    archive = zipfile.ZipFile(io.BytesIO(export_via_page(person)))
    assert len(calls) == 2
    doc = json.loads(archive.read("account.json"))
    assert "Added meanwhile" in {p["details"]["name"] for p in doc["platforms"]}
    assert doc["ledger"]["size"] == json.loads(archive.read("ledger/bundle.json"))["size"]


def test_records_that_never_stop_changing_are_refused_with_a_message(person, app, monkeypatch):
    from consent.services import archive as archive_service
    from consent.services import platforms

    fill(person, app)
    real = archive_service._export

    def always_changing(*args: Any) -> Any:
        doc = real(*args)
        with app.app_context():
            platforms.add_platform(db.session(), login_of(app), {"name": f"Busy {secrets.token_hex(2)}"})
        return doc

    monkeypatch.setattr(archive_service, "_export", always_changing)
    response = person.post(
        "/account/archive", {"export-current": PASSWORD}, action="/account/archive/export", prefix="export"
    )
    assert response.status_code == 200 and "kept changing" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "path"),
    [("answer.pdf", "answers/f.pdf"), ("page.HTML", "answers/f.html.txt"), ("logo.svg", "answers/f.svg.txt"), ("x", "answers/f")],
)
def test_an_answer_file_a_browser_would_run_is_kept_as_text(name, path):
    """A company's HTML or SVG opened from index.html would run its scripts (an attacker's pass)."""
    assert archive_format.answer_path("f", name) == path


def test_the_index_reads_on_a_phone_without_sideways_scrolling(exported, tmp_path):
    """At 390 px the platforms table made the page 835 px wide (an outsider's walk)."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    zipfile.ZipFile(io.BytesIO(exported)).extractall(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 800})
            page.goto((tmp_path / "index.html").as_uri())
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert page.get_by_role("link", name="key-card.pdf").count() == 1
        finally:
            browser.close()


def test_the_archive_is_found_from_settings_and_from_a_new_accounts_dashboard(person):
    """Only the delete-account box led to it (an outsider's walk)."""
    settings = person.client.get("/settings").get_data(as_text=True)
    assert 'id="account-archive"' in settings and 'href="/account/archive"' in settings
    dashboard = person.client.get("/dashboard").get_data(as_text=True)
    assert 'id="welcome-import"' in dashboard
    page = person.client.get("/account/archive").get_data(as_text=True)
    assert "age -d" in page


def test_a_refused_form_brings_the_person_to_its_error(person):
    """The error sat below the fold after a failed import or deletion (an outsider's walk):
    each form posts to its own section's anchor, which the answer page scrolls to."""
    archive = person.client.get("/account/archive").get_data(as_text=True)
    assert 'action="/account/archive/import#import-heading"' in archive
    assert 'action="/account/archive/export#export-heading"' in archive
    assert 'action="/settings/delete#delete"' in person.client.get("/settings").get_data(as_text=True)
