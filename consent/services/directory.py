"""The directory: import it from a datarequests.org checkout, the snapshot the app ships or
the upstream repository; find entries in it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent import places
from consent.config import LANGUAGES
from consent.directory import format as fmt
from consent.directory import labels
from consent.directory import snapshot as snap
from consent.directory.search import domain, fold, rank, search_text
from consent.errors import ConsentError
from consent.models import DirectoryAuthority, DirectoryController, DirectoryPack, DirectoryRedirect
from consent.services import transaction

SUBFOLDERS = ("companies", "supervisory-authorities", "obsolete-records", "company-packs")


class DirectoryError(ConsentError):
    """The directory to import cannot be read at all (no such folder, no records)."""


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0


@dataclass
class ImportReport:
    controllers: Counts = field(default_factory=Counts)
    authorities: Counts = field(default_factory=Counts)
    redirects: Counts = field(default_factory=Counts)
    packs: Counts = field(default_factory=Counts)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            c.added or c.updated or c.retired for c in (self.controllers, self.authorities, self.redirects, self.packs)
        )


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


#: The largest record file read (the largest real one is 7.5 kB), so that one file's
#: parse stays within a few tens of MB whatever it holds.
MAX_FILE_BYTES = 1024 * 1024
#: The longest slug, or pack key ("file/slug"), the columns hold; the longest name.
MAX_SLUG = 200
MAX_NAME = 500
#: A rejection's reason is cut here: it quotes the record, and the record is the attacker's.
MAX_REASON = 200
#: What a rule may raise on a record of an unexpected shape (a list where a string goes...).
_MALFORMED = (fmt.RecordError, TypeError, AttributeError, KeyError, ValueError)


#: What _read gives for a file it rejected (None is a JSON value, "null").
UNREADABLE: Any = object()


def _shown(path: Path, folder: Path) -> str:
    """The file's name as the report shows it: bytes that are no UTF-8 as \\xNN, control
    characters escaped, so that a name cannot break or forge a line of the report."""
    name = str(path.relative_to(folder)).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _printable(name)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _reject(report: ImportReport, path: Path, folder: Path, reason: str) -> None:
    # The reason may quote the record (an unknown field's name, with a line break in it).
    reason = _printable(reason)
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    report.rejected.append((_shown(path, folder), reason))


def _read(path: Path, folder: Path, report: ImportReport, texts: Mapping[Path, bytes] | None = None) -> Any:
    """The file's JSON, or UNREADABLE with the reason in the report: nothing in one file
    can stop the import of the others. With ``texts``, the file's bytes are taken from there
    (a snapshot's or an archive's records, held in memory) and no file is opened."""
    try:
        return fmt.parse(_held(texts[path]) if texts is not None else _text(path, folder))
    except UnicodeDecodeError:
        _reject(report, path, folder, "not UTF-8 text")
    except OSError as e:
        _reject(report, path, folder, f"cannot be read: {e.strerror or type(e).__name__}")
    except fmt.RecordError as e:
        _reject(report, path, folder, str(e))
    return UNREADABLE


def _held(data: bytes) -> str:
    """A record file's text held in memory, under the same size cap as a file read."""
    if len(data) > MAX_FILE_BYTES:
        raise fmt.RecordError(f"larger than {MAX_FILE_BYTES} bytes")
    return data.decode("utf-8")


def _text(path: Path, folder: Path) -> str:
    # The stem becomes a key in the database, and the name a line of the report.
    name = str(path.relative_to(folder))
    if _has_surrogate(name):
        raise fmt.RecordError("a file name that is not UTF-8")
    if not name.isprintable():
        raise fmt.RecordError("a file name with control characters")
    if path.is_symlink():
        raise fmt.RecordError("a symbolic link")
    # No following a link, and no waiting on a FIFO: the checks happen on what was opened.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise fmt.RecordError("not a regular file")
        data = b""
        while len(data) <= MAX_FILE_BYTES:  # the size stat gives may change while reading
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise fmt.RecordError(f"larger than {MAX_FILE_BYTES} bytes")
    return data.decode("utf-8")


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _checked(check: Callable[[Any, str], Any], record: Any, path: Path, folder: Path, report: ImportReport) -> Any:
    """``check(record, stem)``, or None with the reason in the report (a rule's result is
    never None)."""
    if len(path.stem) > MAX_SLUG:
        _reject(report, path, folder, f"a name longer than {MAX_SLUG} characters")
        return None
    try:
        checked = check(record, path.stem)
    except _MALFORMED as e:
        _reject(
            report, path, folder, str(e) if isinstance(e, fmt.RecordError) else f"unexpected shape ({type(e).__name__})"
        )
        return None
    if isinstance(checked, dict) and len(str(checked.get("name", ""))) > MAX_NAME:
        _reject(report, path, folder, f"a name longer than {MAX_NAME} characters")
        return None
    if isinstance(checked, dict) and len(str(checked.get("redirect-to", ""))) > MAX_SLUG:
        _reject(report, path, folder, f"redirect-to: longer than {MAX_SLUG} characters")
        return None
    if isinstance(checked, list) and any(len(f"{path.stem}/{pack['slug']}") > MAX_SLUG for pack in checked):
        _reject(report, path, folder, f"a pack's key (file/slug) longer than {MAX_SLUG} characters")
        return None
    return checked


def import_directory(
    s: Session, folder: Path, *, progress: Callable[[int], None] | None = None, now: datetime | None = None
) -> ImportReport:
    """Import every valid record of ``folder`` in one transaction; report each rejected one.

    Records already there and unchanged are left alone, so a second run changes nothing.
    """
    if not folder.is_dir():
        raise DirectoryError(f"{folder}: no such directory")
    companies = sorted((folder / "companies").glob("*.json"))
    authorities = sorted((folder / "supervisory-authorities").glob("*.json"))
    obsolete = sorted((folder / "obsolete-records").glob("*.json"))
    packs = sorted((folder / "company-packs").glob("*.json"))
    if not (companies or authorities):
        raise DirectoryError(f"{folder}: expected companies/*.json or supervisory-authorities/*.json, found neither")
    report = ImportReport()
    for paths in (companies, authorities, obsolete, packs):
        # A subfolder linked elsewhere (a file linked is refused when it is opened). Checked
        # once a subfolder: resolving each file's path was a fifth of a rerun's time.
        if paths and not paths[0].parent.resolve().is_relative_to(folder.resolve()):
            for path in paths:
                _reject(report, path, folder, "outside the import folder")
            if progress:
                progress(len(paths))
            paths.clear()
    return _import_paths(s, folder, (obsolete, companies, authorities, packs), report, progress, now)


def _import_paths(
    s: Session,
    folder: Path,
    paths_of: tuple[list[Path], list[Path], list[Path], list[Path]],
    report: ImportReport,
    progress: Callable[[int], None] | None,
    now: datetime | None,
    texts: Mapping[Path, bytes] | None = None,
) -> ImportReport:
    """The import proper: obsolete records, companies, authorities and packs, in one transaction."""
    now = now or datetime.now(UTC)
    obsolete, companies, authorities, packs = paths_of
    with transaction(s):
        known = dict(s.execute(sa.select(DirectoryController.slug, DirectoryController.digest)).all())
        known_auth = dict(s.execute(sa.select(DirectoryAuthority.slug, DirectoryAuthority.digest)).all())
        retiring: dict[str, str] = {}  # the obsolete records of this import, by slug
        steps: list[tuple[list[Path], dict[str, str], Callable[[Path], None]]] = [
            # Obsolete records first: each retires the company of its slug (see _import_company).
            (obsolete, retiring, lambda p: _import_obsolete(s, p, folder, report, retiring, texts)),
            (companies, known, lambda p: _import_company(s, p, folder, known, retiring, report, now, texts)),
            (
                authorities,
                known_auth,
                lambda p: _import_one(
                    s,
                    p,
                    folder,
                    fmt.check_authority,
                    DirectoryAuthority,
                    known_auth,
                    report.authorities,
                    report,
                    now,
                    texts,
                ),
            ),
            (packs, {}, lambda p: _import_packs(s, p, folder, report, texts)),
        ]
        for paths, seen, step in steps:
            for start in range(0, len(paths), BATCH):
                batch = paths[start : start + BATCH]
                if not _attempt(s, folder, batch, report, seen, step, reject=False):
                    for path in batch:  # the one file the database refuses, found by going one by one
                        _attempt(s, folder, [path], report, seen, step, reject=True)
                if progress:
                    progress(len(batch))
    return report


#: Files imported under one savepoint: one each would cost a SAVEPOINT and a RELEASE a
#: file (the 3,000-file snapshot took five times as long).
BATCH = 100
#: Bytes of files read before a batch's pending rows are flushed: a pending row holds its
#: record, and a record under the size cap can be several MB as Python objects.
FLUSH_BYTES = 2 * 1024 * 1024


def _attempt(
    s: Session,
    folder: Path,
    batch: list[Path],
    report: ImportReport,
    known: dict[str, str],
    step: Callable[[Path], None],
    *,
    reject: bool,
) -> bool:
    """The files' import inside a savepoint. What the database refuses (what no check
    foresaw) undoes the batch, its counts and rejections too; with ``reject``, the batch is
    one file, and it is listed as rejected, so that the others go on."""
    counts = [dataclasses.replace(c) for c in (report.controllers, report.authorities, report.redirects, report.packs)]
    rejected, seen = len(report.rejected), dict(known)
    savepoint = s.begin_nested()
    try:
        pending = 0
        for path in batch:
            step(path)
            pending += _size(path)
            if pending > FLUSH_BYTES:
                s.flush()
                pending = 0
        s.flush()
    except sa.exc.StatementError as e:  # DBAPIError, or what the driver raised before sending
        savepoint.rollback()
        report.controllers, report.authorities, report.redirects, report.packs = counts
        del report.rejected[rejected:]
        known.clear()
        known.update(seen)
        if reject:
            cause = e.orig if isinstance(e, sa.exc.DBAPIError) else e
            _reject(report, batch[0], folder, f"refused by the database ({type(cause).__name__})")
        return False
    savepoint.commit()
    return True


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0  # rejected as unreadable already


def _import_company(
    s: Session,
    path: Path,
    folder: Path,
    known: dict[str, str],
    retiring: dict[str, str],
    report: ImportReport,
    now: datetime,
    texts: Mapping[Path, bytes] | None = None,
) -> None:
    """A company, unless an obsolete record of this import retires its slug: imported, it
    would be retired again on every run, and a rerun would never find "no changes"."""
    if path.stem in retiring:
        _reject(report, path, folder, f"retired by obsolete-records/{path.name}")
        return
    _import_one(s, path, folder, fmt.check_company, DirectoryController, known, report.controllers, report, now, texts)


def _import_one(
    s: Session,
    path: Path,
    folder: Path,
    check: Callable[[Any, str], dict[str, Any]],
    model: type[DirectoryController] | type[DirectoryAuthority],
    known: dict[str, str],
    counts: Counts,
    report: ImportReport,
    now: datetime,
    texts: Mapping[Path, bytes] | None = None,
) -> None:
    record = _read(path, folder, report, texts)
    if record is UNREADABLE:
        return
    record = _checked(check, record, path, folder, report)
    if record is None:
        return
    record = _unix_lines(record)
    digest = _digest(record)
    if known.get(path.stem) == digest:
        counts.unchanged += 1
        return
    values: dict[str, Any] = {"name": record["name"], "record": record, "digest": digest, "updated_at": now}
    if model is DirectoryController:
        values["search_text"] = search_text(record)
    if path.stem in known:
        s.execute(sa.update(model).where(model.slug == path.stem).values(**values))
        counts.updated += 1
    else:
        s.add(model(slug=path.stem, **values))
        counts.added += 1
    known[path.stem] = digest


def _unix_lines(value: Any) -> Any:
    """The record with each line break as LF: the directory's files mix CR LF with LF, and
    an address must compare equal to the same address typed into a form."""
    if isinstance(value, str):
        return newlines(value)
    if isinstance(value, list):
        return [_unix_lines(item) for item in value]
    if isinstance(value, dict):
        return {key: _unix_lines(item) for key, item in value.items()}
    return value


def newlines(text: str) -> str:
    """``text`` with CR LF and lone CR as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _import_obsolete(
    s: Session,
    path: Path,
    folder: Path,
    report: ImportReport,
    retiring: dict[str, str],
    texts: Mapping[Path, bytes] | None = None,
) -> None:
    record = _read(path, folder, report, texts)
    if record is UNREADABLE:
        return
    record = _checked(fmt.check_obsolete, record, path, folder, report)
    if record is None:
        return
    digest = _digest(record)
    row = s.get(DirectoryRedirect, path.stem)
    if row is not None and row.digest == digest:
        report.redirects.unchanged += 1
    else:
        values = {
            "name": record["name"],
            "reason": record["reason"],
            "redirect_to": record.get("redirect-to"),
            "digest": digest,
        }
        if row is None:
            s.add(DirectoryRedirect(slug=path.stem, **values))
            report.redirects.added += 1
        else:
            for key, value in values.items():
                setattr(row, key, value)
            report.redirects.updated += 1
    retiring[path.stem] = digest
    # An obsolete record retires the controller of the same slug, if an older import had it.
    if s.execute(sa.delete(DirectoryController).where(DirectoryController.slug == path.stem)).rowcount:  # type: ignore[attr-defined]
        report.controllers.retired += 1


def _import_packs(
    s: Session, path: Path, folder: Path, report: ImportReport, texts: Mapping[Path, bytes] | None = None
) -> None:
    value = _read(path, folder, report, texts)
    if value is UNREADABLE:
        return
    packs = _checked(lambda v, _stem: fmt.check_packs(v), value, path, folder, report)
    if packs is None:
        return
    for pack in packs:
        key = f"{path.stem}/{pack['slug']}"
        digest = _digest(pack)
        row = s.get(DirectoryPack, key)
        if row is not None and row.digest == digest:
            report.packs.unchanged += 1
        elif row is None:
            s.add(DirectoryPack(key=key, kind=pack["type"], companies=pack["companies"], digest=digest))
            report.packs.added += 1
        else:
            row.kind, row.companies, row.digest = pack["type"], pack["companies"], digest
            report.packs.updated += 1


# --- where a directory comes from: a checkout, the shipped snapshot, the upstream archive ----

#: Where the snapshot the app ships lives, in the consent.data package.
SNAPSHOT = "directory/snapshot.json.gz"
#: How long one read of a download may wait, and the whole download may take.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_DEADLINE = 300


@dataclass(frozen=True)
class Unpacked:
    """A directory ready to import: a checkout's folder, or the record files of a snapshot
    or an archive held in memory ({"companies/x.json": its bytes}); its number of record
    files (for a progress bar), and where it came from in words."""

    folder: Path | None
    files: int
    origin: str
    texts: dict[str, bytes] | None = field(default=None, repr=False)


def record_files(folder: Path) -> int:
    """How many record files ``folder`` holds (what the import's progress counts)."""
    if not folder.is_dir():
        return 0
    return sum(len(list((folder / sub).glob("*.json"))) for sub in SUBFOLDERS)


def shipped_snapshot() -> bytes:
    return resources.files("consent.data").joinpath(SNAPSHOT).read_bytes()


@contextmanager
def unpacked_snapshot(data: bytes | None = None) -> Iterator[Unpacked]:
    """The snapshot's records, ready to import (the shipped snapshot by default)."""
    try:
        value = snap.load(shipped_snapshot() if data is None else data)
        texts = snap.texts(value)
    except snap.SnapshotError as e:
        raise DirectoryError(f"the directory snapshot cannot be read: {e}") from None
    origin = f"{value.get('source', '?')} at {str(value.get('commit', '?'))[:12]} of {value.get('date', '?')}"
    yield Unpacked(None, len(texts), origin, texts)


#: Where record files held in memory are said to be; the report names them without it.
_HELD = Path("held")


def import_files(
    s: Session, files: dict[str, bytes], *, progress: Callable[[int], None] | None = None, now: datetime | None = None
) -> ImportReport:
    """Import record files held in memory ({"companies/x.json": its bytes}) as
    import_directory imports a checkout's, through the same checks, without writing them
    to disk first (3,000 small files took seconds on a busy machine)."""
    texts = {_HELD / name: data for name, data in files.items()}
    obsolete, companies, authorities, packs = (
        sorted(path for path in texts if path.parent == _HELD / name)
        for name in ("obsolete-records", "companies", "supervisory-authorities", "company-packs")
    )
    if not (companies or authorities):
        raise DirectoryError("expected companies/*.json or supervisory-authorities/*.json, found neither")
    return _import_paths(s, _HELD, (obsolete, companies, authorities, packs), ImportReport(), progress, now, texts)


def import_unpacked(s: Session, found: Unpacked, *, progress: Callable[[int], None] | None = None) -> ImportReport:
    if found.texts is not None:
        return import_files(s, found.texts, progress=progress)
    if found.folder is None:
        raise DirectoryError(f"{found.origin}: nothing to import")
    return import_directory(s, found.folder, progress=progress)


@contextmanager
def unpacked_path(path: Path) -> Iterator[Unpacked]:
    """A local directory to import: a checkout's folder as it is, or a .tar.gz of one (as
    GitHub serves it), or a snapshot (.json.gz), read into memory."""
    if path.is_dir():
        yield Unpacked(path, record_files(path), str(path))
        return
    if not path.is_file():
        raise DirectoryError(f"{path}: no such folder or file")
    with path.open("rb") as f:
        try:
            data = snap.read_bounded(f)
        except snap.SnapshotError as e:
            raise DirectoryError(f"{path}: {e}") from None
    if path.name.endswith(".json.gz"):
        with unpacked_snapshot(data) as found:
            yield found
        return
    yield _archive(data, str(path))


def _archive(data: bytes, origin: str) -> Unpacked:
    try:
        files, commit = snap.archive_files(data)
    except snap.SnapshotError as e:
        raise DirectoryError(f"{origin}: {e}") from None
    return Unpacked(None, len(files), f"{origin} at {commit[:12]}" if commit else origin, files)


def _opener() -> urllib.request.OpenerDirector:
    """HTTP(S) only, redirects included: no file:// or ftp:// however the server redirects."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def download(url: str, *, timeout: float = DOWNLOAD_TIMEOUT, deadline: float = DOWNLOAD_DEADLINE) -> bytes:
    """The bytes at ``url`` (http or https), at most snapshot.MAX_ARCHIVE_BYTES, within
    ``deadline`` seconds; DirectoryError, saying what to do offline, when it cannot be had."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DirectoryError(f"expected an http(s) address, got {url[:100]!r}")
    request = urllib.request.Request(url, headers={"User-Agent": "consent-manager directory update"})  # noqa: S310
    started = datetime.now(UTC)
    try:
        with _opener().open(request, timeout=timeout) as response:
            chunks: list[bytes] = []
            size = 0
            # read1: whatever has arrived, so a server dripping bytes meets the deadline too.
            while chunk := response.read1(64 * 1024):
                size += len(chunk)
                if size > snap.MAX_ARCHIVE_BYTES:
                    raise DirectoryError(f"{url}: expected at most {snap.MAX_ARCHIVE_BYTES:,} bytes, got more")
                if (datetime.now(UTC) - started).total_seconds() > deadline:
                    raise DirectoryError(f"{url}: the download took longer than {deadline:.0f} seconds")
                chunks.append(chunk)
    except (urllib.error.URLError, OSError, ValueError) as e:
        if isinstance(e, urllib.error.HTTPError):
            e.close()  # it holds the response, and its socket
        reason = getattr(e, "reason", None) or e
        raise DirectoryError(
            f"cannot download the directory from {url} ({reason}). Offline? Download or clone "
            f"{snap.SOURCE} elsewhere and run: consent directory update --from PATH"
        ) from None
    return b"".join(chunks)


@contextmanager
def unpacked_download(url: str = snap.ARCHIVE_URL) -> Iterator[Unpacked]:
    """The upstream repository's archive at ``url``, downloaded and read into memory."""
    yield _archive(download(url), url)


def is_empty(s: Session) -> bool:
    """Whether the directory holds no company yet (then the shipped snapshot is loaded)."""
    with transaction(s):
        return s.scalar(sa.select(DirectoryController.slug).limit(1)) is None


# --- finding entries ----------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A suggestion. ``name`` is the entry's name, followed by where it operates and its
    domain when other entries bear the same name ("Amazon Europe Core SARL (FR, amazon.fr)")."""

    slug: str
    name: str
    service: str | None
    address: str
    web: str


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(s: Session, query: str, *, limit: int = 8) -> list[Match]:
    """Entries whose name, services or web domain match ``query``, best first."""
    folded, raw = fold(query), query.strip().lower()
    if len(folded) < 2:
        return []
    # Web domains are kept as they are ("facebook.com"); names and services are folded.
    text = DirectoryController.search_text
    rows = s.scalars(
        sa.select(DirectoryController)
        .where(sa.or_(text.like(_like(folded), escape="\\"), text.like(_like(raw), escape="\\")))
        .limit(500)
    ).all()
    ranked = []
    for row in rows:
        position, service = rank(query, row.name, row.record.get("runs", []), row.search_text)
        if position < 99:
            ranked.append((position, fold(row.name), row, service))
    ranked.sort(key=lambda item: (item[0], item[1]))
    best = [(row, service) for _, _, row, service in ranked[:limit]]
    shared = _shared_names(s, {row.name for row, _ in best})
    return [
        Match(
            row.slug,
            f"{row.name} ({told_apart(row.record)})" if row.name in shared else row.name,
            service,
            row.record.get("address", "").split("\n")[0],
            row.record.get("web", ""),
        )
        for row, service in best
    ]


def _shared_names(s: Session, names: set[str]) -> set[str]:
    """Those of ``names`` that more than one entry bears."""
    if not names:
        return set()
    query = (
        sa.select(DirectoryController.name)
        .where(DirectoryController.name.in_(names))
        .group_by(DirectoryController.name)
        .having(sa.func.count() > 1)
    )
    return set(s.scalars(query))


#: How many of an entry's countries its told-apart label names before "+N".
_COUNTRIES_SHOWN = 3


def told_apart(record: dict[str, Any]) -> str:
    """What tells an entry from others of its name: where it operates and its domain
    ("DE, AT, CH +3, amazon.de"); "all" countries are left unsaid."""
    codes = [code.upper() for code in record.get("relevant-countries", []) if code != "all"]
    if len(codes) > _COUNTRIES_SHOWN + 1:  # "+1" would hide no more than the code it stands for
        where = ", ".join(codes[:_COUNTRIES_SHOWN]) + f" +{len(codes) - _COUNTRIES_SHOWN}"
    else:
        where = ", ".join(codes)
    site = record.get("web") or record.get("webform") or ""
    host = domain(site) if site else str(record.get("email", "")).rpartition("@")[2].lower()
    path = urlsplit(site).path.strip("/") if site else ""
    if host and path and "/" not in path and len(path) <= 5:
        host = f"{host}/{path}"  # one site for several countries: paypal.com/fr, picnic.app/de
    return ", ".join(part for part in (where, host) if part)


def resolve(s: Session, slug: str) -> DirectoryController | None:
    """The entry for ``slug``, following the redirects of retired records."""
    for _ in range(10):  # a redirect chain longer than this is a loop
        row = s.get(DirectoryController, slug)
        if row is not None:
            return row
        redirect = s.get(DirectoryRedirect, slug)
        if redirect is None or not redirect.redirect_to:
            return None
        slug = redirect.redirect_to
    return None


def platform_details(row: DirectoryController, *, service: str | None = None) -> dict[str, Any]:
    """A platform's details filled from a directory entry."""
    record = row.record
    # The country the company is in (its address), whose holidays its deadlines count;
    # "relevant-countries" says where its service is offered, which is another thing.
    address = newlines(str(record.get("address", "")))
    name = f"{service} ({row.name})" if service else row.name
    return {
        "name": name[:200],
        "website": record.get("web", ""),
        "email": record.get("email", ""),
        "address": address,
        "country": places.country_of(address),
        "directory": row.slug,
    }


def fingerprint(details: Mapping[str, Any]) -> str:
    """What a page showed of a directory entry's details. The directory is the operator's
    to write, so the page sends this back and the click signs the details only if they
    are still the ones the person saw (``shown``): nothing is signed unseen."""
    return hashlib.sha256(json.dumps(details, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def shown(details: Mapping[str, Any], seen: str | None) -> bool:
    return seen is not None and fingerprint(details) == seen


@dataclass(frozen=True)
class Hints:
    """What the directory says about writing to a company. Its words come as labels.Label:
    known ones to translate, unknown ones to show as the directory has them."""

    required: list[labels.Label]
    id_document: bool
    medium: str
    webform: str
    language: str
    categories: list[labels.Label] = field(default_factory=list)
    countries: list[labels.Label] = field(default_factory=list)
    #: The request language named in each interface language ({"fr": "allemand", ...}).
    language_names: dict[str, str] = field(default_factory=dict)


def hints(row: DirectoryController) -> Hints:
    record = row.record
    medium = record.get("suggested-transport-medium") or ("email" if record.get("email") else "letter")
    return Hints(
        required=[labels.identification(element["desc"]) for element in record.get("required-elements", [])],
        id_document=bool(record.get("needs-id-document")),
        medium=medium,
        webform=record.get("webform", ""),
        language=record.get("request-language", ""),
        categories=[labels.category(name) for name in record.get("categories", [])],
        countries=labels.countries(record.get("relevant-countries", [])),
        language_names=labels.language_names(record.get("request-language", ""), LANGUAGES),
    )


def categories(s: Session) -> list[str]:
    found: set[str] = set()
    for record in s.scalars(sa.select(DirectoryController.record)):
        found.update(record.get("categories", []))
    return sorted(found)


def packs(s: Session) -> list[DirectoryPack]:
    return list(s.scalars(sa.select(DirectoryPack).order_by(DirectoryPack.key)))


def members(
    s: Session, *, pack: str | None = None, category: str | None = None, country: str = ""
) -> list[DirectoryController]:
    """The entries of a pack, or of a category relevant to ``country``, by name."""
    if pack is not None:
        row = s.get(DirectoryPack, pack)
        if row is None:
            return []
        found = [resolve(s, slug) for slug in row.companies]
        entries = [entry for entry in found if entry is not None]
    elif category is not None:
        entries = [
            row
            for row in s.scalars(sa.select(DirectoryController))
            if category in row.record.get("categories", [])
            and (not country or {"all", country.lower()} & set(row.record.get("relevant-countries", [])))
        ]
    else:
        return []
    unique = {entry.slug: entry for entry in entries}
    return sorted(unique.values(), key=lambda entry: fold(entry.name))


#: The details a directory update may change on a platform (its name is the person's).
_UPDATABLE = ("website", "email", "address", "directory")


def updates_for(
    s: Session, linked_slug: str, current: dict[str, Any]
) -> tuple[DirectoryController | None, dict[str, Any]]:
    """The directory entry a platform was filled from (following redirects), and the
    details in which that entry now differs from the platform's."""
    if not linked_slug:
        return None, {}
    entry = resolve(s, linked_slug)
    if entry is None:
        return None, {}
    fresh = platform_details(entry)
    # Compared with LF line breaks: a browser sends a textarea's lines with CR LF, so an
    # address saved through a form would otherwise always differ from the directory's.
    return entry, {
        name: fresh[name]
        for name in _UPDATABLE
        if fresh[name] and newlines(str(fresh[name])) != newlines(str(current.get(name) or ""))
    }
