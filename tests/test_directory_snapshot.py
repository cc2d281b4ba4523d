"""The directory out of the box: the snapshot the app ships, `consent directory update` from
the upstream archive or a local copy, names told apart, and the directory's words shown in
the person's language. None of these tests needs ../shared: the snapshot is in the repository."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import re
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from consent import db
from consent.directory import labels
from consent.directory import snapshot as snap
from consent.models import DirectoryController
from consent.services import directory
from tests.conftest import count_rows
from tests.test_directory import SAMPLE, company, run_import, write_directory

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "consent" / "data" / "directory" / "snapshot.json.gz"


# --- the shipped snapshot ----------------------------------------------------------------------


def test_the_shipped_snapshot_is_compact_and_names_its_source_licence_commit_and_date():
    data = SHIPPED.read_bytes()
    assert len(data) < 1024 * 1024, f"expected well under 1 MB, got {len(data):,} bytes"
    value = snap.load(data)
    assert value["licence"] == "CC0-1.0" and value["source"] == "https://github.com/datenanfragen/data"
    assert re.fullmatch(r"[0-9a-f]{7,40}", value["commit"]) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value["date"])
    assert len(value["companies"]) > 3000 and len(value["supervisory-authorities"]) > 50
    assert value["companies"]["instagram"]["name"] == "Instagram"
    assert directory.shipped_snapshot() == data  # what the installed package reads


def test_the_snapshot_holds_facts_but_not_the_editors_prose():
    value = snap.load(SHIPPED.read_bytes())
    assert not [slug for slug, record in value["companies"].items() if "comments" in record]
    with_fields = [r for r in value["companies"].values() if r.get("required-elements")]
    assert len(with_fields) > 400  # identification fields are facts, and ship


def _checkout(folder: Path) -> Path:
    commented = company("chatty", "Chatty Ltd", comments=["A long note by an editor, prose that does not ship."])
    broken = company("broken", "Broken Ltd", web="httsp://broken.example")
    write_directory(folder, [*SAMPLE, commented, broken])
    (folder / "LICENSE").write_text("CC0 1.0 Universal")
    return folder


def test_build_checks_each_record_leaves_out_prose_and_gives_the_same_bytes_twice(tmp_path):
    folder = _checkout(tmp_path / "data")
    built, left_out = snap.build(folder, commit="0a29c3d6", date="2026-07-21")
    assert left_out == [("companies/broken.json", "web: expected an http(s) address, got 'httsp://broken.example'")]
    assert sorted(built["companies"]) == ["chatty", "creditwatch", "photoshare", "scorebureau"]
    assert "comments" not in built["companies"]["chatty"]
    assert snap.dump(built) == snap.dump(snap.build(folder, commit="0a29c3d6", date="2026-07-21")[0])


def test_the_script_writes_the_snapshot_and_refuses_a_checkout_without_its_date(tmp_path):
    import subprocess
    import sys

    folder = _checkout(tmp_path / "data")
    out = tmp_path / "snapshot.json.gz"
    script = [sys.executable, str(ROOT / "scripts" / "directory_snapshot.py"), str(folder), "-o", str(out)]
    done = subprocess.run([*script, "--commit", "0a29c3d6", "--date", "2026-07-21"], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "left out  companies/broken.json" in done.stdout and "4 companies" in done.stdout
    assert snap.load(out.read_bytes())["date"] == "2026-07-21"
    refused = subprocess.run(script, check=False, capture_output=True, text=True)  # no git, no --commit
    assert refused.returncode == 2 and "give --commit and --date" in refused.stderr


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not gzip", "not a gzip'd snapshot"),
        (gzip.compress(b"[1, 2]", mtime=0), "expected a snapshot of format 1, got 'list'"),
        (gzip.compress(b'{"format": 2}', mtime=0), "expected a snapshot of format 1, got 2"),
        (gzip.compress(b'{"format": 1, "companies": []}', mtime=0), "companies: expected an object of records by name"),
    ],
)
def test_a_damaged_snapshot_is_refused_with_a_reason(data, message):
    with pytest.raises(snap.SnapshotError, match=re.escape(message)):
        snap.load(data)


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "x\ny"])
def test_a_snapshot_record_name_that_is_no_file_name_is_refused(name):
    with pytest.raises(snap.SnapshotError, match="expected a record name"):
        snap.texts({"format": 1, "companies": {name: {}}})


def test_a_snapshot_with_a_bad_record_name_changes_nothing(app):
    data = snap.dump({"format": 1, "companies": {"../x": {}}})
    before = count_rows(app)
    with pytest.raises(directory.DirectoryError, match="expected a record name"):
        with directory.unpacked_snapshot(data):
            pass
    assert count_rows(app) == before


def test_records_held_in_memory_are_checked_like_files(app):
    bad = dict(SAMPLE[1], web="httsp://creditwatch.example")
    files = {
        "companies/creditwatch.json": json.dumps(bad).encode(),
        "companies/photoshare.json": json.dumps(SAMPLE[0]).encode(),
        "companies/scorebureau.json": b"\xff\xfe not UTF-8",
        "companies/huge.json": b" " * (directory.MAX_FILE_BYTES + 1),
    }
    with app.app_context():
        report = directory.import_files(db.session(), files)
    assert report.controllers.added == 1
    assert report.rejected == [
        ("companies/creditwatch.json", "web: expected an http(s) address, got 'httsp://creditwatch.example'"),
        ("companies/huge.json", f"larger than {directory.MAX_FILE_BYTES} bytes"),
        ("companies/scorebureau.json", "not UTF-8 text"),
    ]


# --- first start -------------------------------------------------------------------------------


def test_first_start_loads_the_snapshot_and_insta_finds_instagram(app):
    """What `make run` does on a fresh database (`consent db upgrade` calls the same loader)."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["directory", "load-snapshot"])
    assert first.exit_code == 0, first.output
    assert "controllers  3068 added" in first.output and "Nothing rejected." in first.output
    with app.app_context():
        assert directory.search(db.session(), "insta")[0].name == "Instagram"
    before = count_rows(app)
    again = runner.invoke(args=["directory", "load-snapshot"])
    assert again.exit_code == 0 and "Directory: already filled" in again.output
    assert count_rows(app) == before


def test_a_directory_imported_before_is_not_overwritten_by_the_snapshot(app, tmp_path):
    run_import(app, write_directory(tmp_path / "dir", SAMPLE))
    result = app.test_cli_runner().invoke(args=["directory", "load-snapshot"])
    assert result.exit_code == 0 and "already filled" in result.output
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(DirectoryController)) == len(SAMPLE)


@pytest.mark.parametrize("strict", [True, False])
def test_a_shipped_snapshot_that_cannot_be_read_is_an_error_or_a_warning(app, monkeypatch, strict):
    """`consent directory load-snapshot` fails; `consent db upgrade` (not strict) warns and goes on."""
    import click

    from consent import cli

    monkeypatch.setattr(directory, "shipped_snapshot", lambda: b"damaged")
    command = click.Command("probe", callback=lambda: cli.load_directory_snapshot_if_empty(strict=strict))
    with app.app_context():
        result = app.test_cli_runner().invoke(command)
    assert "the directory snapshot cannot be read: not a gzip'd snapshot" in result.output
    assert result.exit_code == (1 if strict else 0)
    assert ("Warning:" in result.output) is not strict


def test_db_upgrade_on_a_fresh_database_fills_the_directory(database_url):
    """`make run` runs `consent db upgrade`, then `consent run`: no step of the person's own."""
    from consent import create_app
    from tests.conftest import test_settings

    app = create_app(test_settings(database_url))
    try:
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            assert directory.search(db.session(), "insta")[0].name == "Instagram"
    finally:
        with app.app_context():
            db.engine().dispose()


# --- updates -----------------------------------------------------------------------------------


def _tarball(records: list[dict], *, top: str = "data-0123abc", extra: dict[str, bytes] | None = None) -> bytes:
    """A .tar.gz as GitHub serves a repository: one top folder, the commit in the pax header."""
    buffer = io.BytesIO()
    commit = {"comment": "0123abc0123abc0123abc0123abc0123abc0123a"}
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers=commit) as archive:
        files = {f"{top}/companies/{r['slug']}.json": json.dumps(r).encode() for r in records}
        files[f"{top}/LICENSE"] = b"CC0 1.0 Universal"
        files.update(extra or {})
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture
def web() -> Iterator[tuple[str, dict[str, tuple[int, dict[str, str], bytes]]]]:
    """A local HTTP server: ``routes[path] = (status, headers, body)``; no real network."""
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, b"not here"))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", routes
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_update_downloads_the_upstream_archive_with_the_imports_report(app, web):
    base, routes = web
    routes["/data.tar.gz"] = (200, {}, _tarball(SAMPLE))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["directory", "update", "--url", f"{base}/data.tar.gz"])
    assert first.exit_code == 0, first.output
    assert f"Downloading {base}/data.tar.gz" in first.output and "at 0123abc0123a" in first.output
    assert "controllers  3 added, 0 updated, 0 unchanged" in first.output and "Nothing rejected." in first.output
    assert "Updating" in first.output  # the progress bar's label, as the import shows "Importing"
    with app.app_context():
        assert directory.search(db.session(), "snap")[0].service == "Snapgram"
    routes["/data.tar.gz"] = (200, {}, _tarball([*SAMPLE[:2], dict(SAMPLE[2], email="dpo@score.example")]))
    second = runner.invoke(args=["directory", "update", "--url", f"{base}/data.tar.gz"])
    assert "controllers  0 added, 1 updated, 2 unchanged" in second.output
    third = runner.invoke(args=["directory", "update", "--url", f"{base}/data.tar.gz"])
    assert "No changes: the directory was already up to date." in third.output


def test_update_follows_a_redirect_as_github_does(app, web):
    base, routes = web
    routes["/archive/HEAD.tar.gz"] = (302, {"Location": f"{base}/codeload.tar.gz"}, b"")
    routes["/codeload.tar.gz"] = (200, {}, _tarball(SAMPLE))
    result = app.test_cli_runner().invoke(args=["directory", "update", "--url", f"{base}/archive/HEAD.tar.gz"])
    assert result.exit_code == 0 and "controllers  3 added" in result.output


def test_offline_update_says_what_to_do_exits_1_and_changes_nothing(app):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = count_rows(app)
    result = app.test_cli_runner().invoke(args=["directory", "update", "--url", f"http://127.0.0.1:{port}/x.tar.gz"])
    assert result.exit_code == 1
    assert f"Error: cannot download the directory from http://127.0.0.1:{port}/x.tar.gz" in result.output
    assert "Offline?" in result.output and "consent directory update --from PATH" in result.output
    assert count_rows(app) == before


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ((404, {}, b"not here"), "(Not Found)"),
        ((302, {"Location": "file:///etc/passwd"}, b""), "cannot download the directory"),
        ((200, {}, b"<html>a login page</html>"), "not a .tar.gz archive"),
        ((200, {}, _tarball([], extra={"data-1/README.md": b"# no records"})), "found none"),
    ],
)
def test_an_update_that_cannot_be_used_is_refused_and_changes_nothing(app, web, route, message):
    base, routes = web
    routes["/data.tar.gz"] = route
    before = count_rows(app)
    result = app.test_cli_runner().invoke(args=["directory", "update", "--url", f"{base}/data.tar.gz"])
    assert result.exit_code == 1 and message in result.output, result.output
    assert count_rows(app) == before


def test_an_oversized_download_is_cut_off(app, web, monkeypatch):
    base, routes = web
    routes["/data.tar.gz"] = (200, {}, b"x" * 300_000)
    monkeypatch.setattr(snap, "MAX_ARCHIVE_BYTES", 100_000)
    result = app.test_cli_runner().invoke(args=["directory", "update", "--url", f"{base}/data.tar.gz"])
    assert result.exit_code == 1 and "expected at most 100,000 bytes, got more" in result.output


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("MAX_ARCHIVE_FILES", 2, "expected at most 2 files in the archive, got more"),
        ("MAX_ARCHIVE_UNPACKED", 100, "expected at most 100 bytes unpacked, got more"),
    ],
)
def test_an_archive_beyond_the_limits_is_refused_and_changes_nothing(app, tmp_path, monkeypatch, limit, value, message):
    """Small archives that unpack to a great deal: bounded before they are read through."""
    monkeypatch.setattr(snap, limit, value)
    archive = tmp_path / "data.tar.gz"
    archive.write_bytes(_tarball(SAMPLE))
    before = count_rows(app)
    result = app.test_cli_runner().invoke(args=["directory", "update", "--from", str(archive)])
    assert result.exit_code == 1 and message in result.output, result.output
    assert count_rows(app) == before


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x.tar.gz", "javascript:alert(1)"])
def test_update_only_downloads_over_http(app, url):
    result = app.test_cli_runner().invoke(args=["directory", "update", "--url", url])
    assert result.exit_code == 1 and "expected an http(s) address" in result.output


def test_an_archive_gives_only_its_record_files(tmp_path):
    """Links, other folders and odd names in the archive are passed over; nothing is written."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in {
            "data-1/companies/good.json": json.dumps(company("good", "Good Ltd")).encode(),
            "data-1/companies/../../escape.json": b"{}",
            "data-1/templates/access.txt": b"letter prose",
            "data-1/companies/.hidden.json": b"{}",
            "data-1/a/b/companies/deep.json": b"{}",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        link = tarfile.TarInfo("data-1/companies/link.json")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    files, commit = snap.archive_files(buffer.getvalue())
    assert list(files) == ["companies/good.json"] and commit == ""
    assert not list(tmp_path.rglob("*"))  # nothing written anywhere


def test_update_from_a_local_checkout_archive_or_snapshot(app, tmp_path):
    runner = app.test_cli_runner()
    folder = write_directory(tmp_path / "checkout", SAMPLE[:1])
    result = runner.invoke(args=["directory", "update", "--from", str(folder)])
    assert result.exit_code == 0 and "controllers  1 added" in result.output, result.output
    archive = tmp_path / "data.tar.gz"
    archive.write_bytes(_tarball(SAMPLE[:2]))
    result = runner.invoke(args=["directory", "update", "--from", str(archive)])
    assert "controllers  1 added, 0 updated, 1 unchanged" in result.output
    built, _ = snap.build(write_directory(tmp_path / "all", SAMPLE), commit="abc1234", date="2026-01-02")
    (tmp_path / "s.json.gz").write_bytes(snap.dump(built))
    result = runner.invoke(args=["directory", "update", "--from", str(tmp_path / "s.json.gz")])
    assert "controllers  1 added, 0 updated, 2 unchanged" in result.output
    assert "at abc1234 of 2026-01-02" in result.output


def test_update_from_a_missing_path_is_refused(app, tmp_path):
    before = count_rows(app)
    result = app.test_cli_runner().invoke(args=["directory", "update", "--from", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "nope: no such folder or file" in result.output
    assert count_rows(app) == before


# --- names told apart ----------------------------------------------------------------------------


TWINS = [
    company("example-de", "Example GmbH", web="https://www.example.de/", **{"relevant-countries": ["de"]}),
    company("example-at", "Example GmbH", email="dpo@example.at", **{"relevant-countries": ["at"]}),
    company("example-eu", "Example GmbH", web="https://pay.example/fr", **{"relevant-countries": ["fr", "be", "lu", "nl", "it"]}),
    company("examplary", "Examplary AG", web="https://examplary.example/"),
]


def test_companies_of_one_name_are_told_apart_by_country_and_domain(app, tmp_path):
    run_import(app, write_directory(tmp_path / "dir", TWINS))
    with app.app_context():
        names = {m.slug: m.name for m in directory.search(db.session(), "exam")}
    assert names == {
        "example-de": "Example GmbH (DE, example.de)",
        "example-at": "Example GmbH (AT, example.at)",
        "example-eu": "Example GmbH (FR, BE, LU +2, pay.example/fr)",
        "examplary": "Examplary AG",
    }


def test_suggestions_tell_twins_apart_too(app, tmp_path, auth, client):
    from tests.conftest import csrf_token

    run_import(app, write_directory(tmp_path / "dir", TWINS))
    auth.register()
    token = csrf_token(client, "/platforms/new")
    found = client.post("/directory/suggest", json={"q": "example"}, headers={"X-CSRFToken": token}).json
    assert "Example GmbH (DE, example.de)" in [m["name"] for m in found]
    page = auth.post("/platforms/new", {"step": "search", "q": "example"}).get_data(as_text=True)
    assert "Example GmbH (AT, example.at)" in page


def test_how_many_names_the_shipped_directory_shares():
    """The figure behind telling names apart: 18 names borne by 54 companies."""
    from collections import Counter

    names = Counter(r["name"] for r in snap.load(SHIPPED.read_bytes())["companies"].values())
    shared = {name: n for name, n in names.items() if n > 1}
    assert (len(shared), sum(shared.values())) == (18, 54)


# --- line endings (the false "newer details") ----------------------------------------------------


def test_an_address_sent_with_crlf_is_not_newer_details(app, tmp_path, auth, client):
    """A browser sends a textarea's lines with CR LF; the directory has LF."""
    run_import(app, write_directory(tmp_path / "dir", SAMPLE))
    auth.register()
    address = SAMPLE[1]["address"].replace("\n", "\r\n")
    created = auth.post(
        "/platforms/new",
        {
            "step": "create",
            "name": "CreditWatch AG",
            "directory": "creditwatch",
            "website": "https://creditwatch.example/",
            "address": address,
        },
    )
    platform_id = created.headers["Location"].rsplit("/", 1)[1]
    assert "The directory has newer details" not in client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    # Saved again through Edit (CR LF again): still nothing newer.
    edited = auth.post(
        f"/platforms/{platform_id}/edit",
        {
            "name": "CreditWatch AG",
            "directory": "creditwatch",
            "website": "https://creditwatch.example/",
            "address": address + "\r\n",
        },
    )
    assert edited.status_code == 302, edited.get_data(as_text=True)[:2000]
    assert "The directory has newer details" not in client.get(f"/platforms/{platform_id}").get_data(as_text=True)


def test_a_record_written_with_crlf_is_stored_with_lf(app, tmp_path):
    crlf = company("crlf", "CRLF Ltd", address="CRLF Ltd\r\nMain Street 1\r\n10115 Berlin\r\nGermany")
    run_import(app, write_directory(tmp_path / "dir", [crlf]))
    with app.app_context():
        row = directory.resolve(db.session(), "crlf")
        assert row is not None and row.record["address"] == "CRLF Ltd\nMain Street 1\n10115 Berlin\nGermany"
        _, updates = directory.updates_for(db.session(), "crlf", {"address": crlf["address"], "directory": "crlf"})
    assert updates == {}


# --- the directory's words in the person's language ------------------------------------------------


@pytest.mark.parametrize(
    ("desc", "shown"),
    [
        ("Nom", labels.Label("Name", True)),
        ("E-Mail-Adresse", labels.Label("E-mail address", True)),
        ("Numéro d'appel", labels.Label("Telephone number", True)),
        ("  KUNDENNUMMER ", labels.Label("Customer number", True)),
        ("IKEA Family Number", labels.Label("IKEA Family Number", False)),
    ],
)
def test_identification_fields_are_named_when_known_and_kept_as_written_otherwise(desc, shown):
    assert labels.identification(desc) == shown


def test_every_category_of_the_format_has_a_label():
    from consent.directory import format as fmt

    assert set(labels.CATEGORIES) == fmt.CATEGORIES


WORDY = company(
    "chatmedia",
    "Chat Media SAS",
    categories=["social media", "entertainment"],
    **{
        "request-language": "de",
        "relevant-countries": ["all"],
        "required-elements": [
            {"desc": "Nom", "type": "name"},
            {"desc": "E-Mail", "type": "email"},
            {"desc": "IKEA Family Number", "type": "input"},
        ],
    },
)


def test_hints_show_the_directorys_words_in_english(app, tmp_path, auth):
    run_import(app, write_directory(tmp_path / "dir", [WORDY, company("berlin", "Berlin GmbH")]))
    auth.register()
    html = auth.post("/platforms/new", {"step": "choose", "directory": "chatmedia"}).get_data(as_text=True)
    assert "They ask you to identify yourself with: Name, E-mail address, IKEA Family Number</li>" in html
    assert "Kind of company: Social media, Entertainment</li>" in html
    assert "Where they offer their services: All countries</li>" in html
    assert "Language for requests: German</li>" in html
    assert "Nom" not in html and "social media" not in html
    html = auth.post("/platforms/new", {"step": "choose", "directory": "berlin"}).get_data(as_text=True)
    assert "Where they offer their services: Germany</li>" in html


def test_hints_show_known_fields_in_french(app, tmp_path, auth, client):
    run_import(app, write_directory(tmp_path / "dir", [WORDY]))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    auth.register()
    html = auth.post("/platforms/new", {"step": "choose", "directory": "chatmedia"}).get_data(as_text=True)
    assert "Nom, Adresse e-mail, IKEA Family Number</li>" in html
    assert "allemand</li>" in html


def test_pure_snapshot_and_label_modules_need_no_flask():
    import subprocess
    import sys

    code = "import sys, consent.directory.snapshot, consent.directory.labels; print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy'}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_archive_whose_headers_unpack_past_the_cap_is_refused_before_they_fill_the_memory(monkeypatch):
    """A GNU long name is read whole by tarfile: it counts towards the unpacked cap, and is
    refused before it is held (found by an operator's attack pass)."""
    import gzip
    import io
    import tarfile
    import tracemalloc

    from consent.directory import snapshot as snap

    monkeypatch.setattr(snap, "MAX_ARCHIVE_UNPACKED", 1024 * 1024)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("data-abc/companies/" + "a" * (32 * 1024 * 1024) + ".json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    bomb = gzip.compress(raw.getvalue(), compresslevel=9)
    assert len(bomb) < 200_000
    tracemalloc.start()
    with pytest.raises(snap.SnapshotError, match="unpacked"):
        snap.archive_files(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_a_server_that_drips_bytes_meets_the_deadline():
    """Each read takes what has arrived, so the deadline holds even when bytes come one by
    one just within the socket's timeout (found by an operator's attack pass)."""
    import socket
    import threading
    import time

    from consent.services import directory

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        end = time.monotonic() + 6
        try:
            while time.monotonic() < end:
                conn.sendall(b"a")
                time.sleep(0.3)
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    with pytest.raises(directory.DirectoryError, match="longer than 1 seconds"):
        directory.download(f"http://127.0.0.1:{server.getsockname()[1]}/x.tar.gz", timeout=1.0, deadline=1.0)
    assert time.monotonic() - started < 4
    server.close()
    thread.join(timeout=10)
