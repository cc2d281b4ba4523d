"""The directory snapshot the app ships, and the archives `consent directory update` reads.

Pure code, no Flask and no database. A snapshot is one gzip'd JSON object holding the facts
of a datarequests.org checkout (https://github.com/datenanfragen/data, CC0 1.0): each record
as the format has it, minus its free-text ``comments``, with the source, licence, commit and
date of the data beside them (docs/directory.md). Nothing here stores anything: a snapshot
and an archive give their records as a checkout's files held in memory, and the one import
(services.directory) checks and stores them like any checkout's.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from consent.directory import format as fmt

FORMAT = 1
SOURCE = "https://github.com/datenanfragen/data"
#: The upstream repository's default branch as a tarball (GitHub resolves HEAD).
ARCHIVE_URL = "https://github.com/datenanfragen/data/archive/HEAD.tar.gz"
LICENCE = "CC0-1.0"
LICENCE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
#: The subfolders of a checkout, in the order the snapshot lists them.
FOLDERS = ("companies", "supervisory-authorities", "obsolete-records", "company-packs")
_CHECKS = {
    "companies": fmt.check_company,
    "supervisory-authorities": fmt.check_authority,
    "obsolete-records": fmt.check_obsolete,
}
#: Free text written by the directory's editors: prose, not facts, so it does not ship.
PROSE_FIELDS = frozenset({"comments"})

#: Limits on what is read: the real snapshot is 354 kB gzip'd and 1.8 MB as JSON, the
#: upstream tarball a few MB with some 3,300 record files: the limits leave room to grow.
MAX_SNAPSHOT_JSON = 64 * 1024 * 1024
MAX_ARCHIVE_BYTES = 100 * 1024 * 1024
MAX_ARCHIVE_FILES = 50_000
#: What all the archive's files, read or passed over, may hold unpacked: passing over a
#: file still unpacks it, so a small archive could otherwise keep the command busy for hours.
MAX_ARCHIVE_UNPACKED = 1024 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}\.json\Z")


class SnapshotError(ValueError):
    """A snapshot or an archive cannot be used at all; the message says why."""


def _facts(record: Any) -> Any:
    if isinstance(record, dict):
        return {key: value for key, value in record.items() if key not in PROSE_FIELDS}
    return record


def build(folder: Path, *, commit: str, date: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The snapshot of the checkout in ``folder``, and the files left out with the reason.

    Each record goes through the format's checks (the import's own), so the snapshot holds
    only what an import would take.
    """
    if not (folder / "companies").is_dir():
        raise SnapshotError(f"{folder}: expected a checkout with a companies/ folder")
    snapshot: dict[str, Any] = {
        "format": FORMAT,
        "source": SOURCE,
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "commit": commit,
        "date": date,
    }
    left_out: list[tuple[str, str]] = []
    for name in FOLDERS:
        found: dict[str, Any] = {}
        for path in sorted((folder / name).glob("*.json")):
            try:
                value = fmt.parse(path.read_text(encoding="utf-8"))
                if name == "company-packs":
                    fmt.check_packs(value)
                else:
                    _CHECKS[name](value, path.stem)
            except (fmt.RecordError, UnicodeDecodeError, TypeError, KeyError, AttributeError) as e:
                left_out.append((f"{name}/{path.name}", str(e)[:200]))
                continue
            found[path.stem] = _facts(value)
        snapshot[name] = found
    return snapshot, left_out


def dump(snapshot: dict[str, Any]) -> bytes:
    """The snapshot as gzip'd JSON; the same snapshot gives the same bytes (no timestamp)."""
    text = json.dumps(snapshot, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def load(data: bytes) -> dict[str, Any]:
    """A snapshot from its gzip'd bytes, or SnapshotError (it is read only to MAX_SNAPSHOT_JSON)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            text = f.read(MAX_SNAPSHOT_JSON + 1)
    except (OSError, EOFError) as e:
        raise SnapshotError(f"not a gzip'd snapshot: {e}") from None
    if len(text) > MAX_SNAPSHOT_JSON:
        raise SnapshotError(f"expected at most {MAX_SNAPSHOT_JSON} bytes of JSON, got more")
    try:
        value = json.loads(text)
    except ValueError as e:
        raise SnapshotError(f"not valid JSON: {e}") from None
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        got = value.get("format") if isinstance(value, dict) else type(value).__name__
        raise SnapshotError(f"expected a snapshot of format {FORMAT}, got {got!r}")
    for name in FOLDERS:
        if not isinstance(value.get(name, {}), dict):
            raise SnapshotError(f"{name}: expected an object of records by name")
    return value


def texts(snapshot: dict[str, Any]) -> dict[str, bytes]:
    """The snapshot's records as a checkout's files: {"companies/instagram.json": its JSON}.
    A name that could not be a file of the folder is refused."""
    found: dict[str, bytes] = {}
    for name in FOLDERS:
        for stem, record in snapshot.get(name, {}).items():
            file_name = f"{stem}.json"
            if not isinstance(stem, str) or not _FILE_NAME.match(file_name):
                raise SnapshotError(f"{name}: expected a record name of letters, digits and -, got {str(stem)[:60]!r}")
            found[f"{name}/{file_name}"] = json.dumps(record, ensure_ascii=False).encode("utf-8")
    return found


def read_bounded(stream: IO[bytes], limit: int = MAX_ARCHIVE_BYTES) -> bytes:
    """At most ``limit`` bytes of ``stream``, or SnapshotError if it holds more."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(64 * 1024, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise SnapshotError(f"expected at most {limit:,} bytes, got more")
    return b"".join(chunks)


def _record_members(archive: tarfile.TarFile) -> Iterator[tuple[str, tarfile.TarInfo]]:
    """("companies/x.json", member) of each record file of the archive: regular files
    directly in one of the FOLDERS, at the top or under one folder (GitHub's data-<commit>/).
    Links, devices, other folders and odd names are passed over."""
    unpacked = 0
    for count, member in enumerate(archive):
        if count >= MAX_ARCHIVE_FILES:
            raise SnapshotError(f"expected at most {MAX_ARCHIVE_FILES} files in the archive, got more")
        unpacked += member.size
        if unpacked > MAX_ARCHIVE_UNPACKED:
            raise SnapshotError(f"expected at most {MAX_ARCHIVE_UNPACKED:,} bytes unpacked, got more")
        parts = member.name.split("/")
        if len(parts) not in (2, 3) or parts[-2] not in FOLDERS or not member.isreg():
            continue
        if not _FILE_NAME.match(parts[-1]):
            continue
        yield f"{parts[-2]}/{parts[-1]}", member


class _Unpacking(io.RawIOBase):
    """The archive's bytes as they unpack, refused past ``limit`` before they are read:
    tarfile reads a header's data (a GNU long name, a pax record) whole, in one call, so
    counting the members' sizes alone would let a small archive fill the memory."""

    def __init__(self, inner: gzip.GzipFile, limit: int) -> None:
        self.inner, self.limit = inner, limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.inner.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.inner.seek(offset, whence)

    def read(self, size: int | None = -1) -> bytes:
        wanted = self.limit + 1 if size is None or size < 0 else size
        if self.inner.tell() + wanted > self.limit:
            wanted = self.limit + 1 - self.inner.tell()
        data = self.inner.read(max(wanted, 0))
        if self.inner.tell() > self.limit:
            raise SnapshotError(f"expected at most {self.limit:,} bytes unpacked, got more")
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def archive_files(data: bytes) -> tuple[dict[str, bytes], str]:
    """The record files of a .tar.gz checkout (as GitHub serves it), {"companies/x.json":
    its bytes}, and the commit the archive names ("" if none). Nothing in the archive is
    written, run or followed; a file over MAX_RECORD_BYTES is read only far enough for the
    import to refuse it as too large."""
    try:
        unpacking = _Unpacking(gzip.GzipFile(fileobj=io.BytesIO(data)), MAX_ARCHIVE_UNPACKED)
        archive = tarfile.open(fileobj=unpacking, mode="r:")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise SnapshotError(f"not a .tar.gz archive: {e}") from None
    found: dict[str, bytes] = {}
    total = 0
    with archive:
        try:
            for name, member in _record_members(archive):
                extracted = archive.extractfile(member)
                if extracted is None:
                    continue
                content = extracted.read(MAX_RECORD_BYTES + 1)
                total += len(content)
                if total > MAX_SNAPSHOT_JSON:
                    raise SnapshotError(f"expected at most {MAX_SNAPSHOT_JSON:,} bytes of records, got more")
                found[name] = content
        except (tarfile.TarError, OSError, EOFError) as e:
            raise SnapshotError(f"the archive is damaged: {e}") from None
        # `git archive` (GitHub's tarballs) names the commit in the global header.
        commit = str(archive.pax_headers.get("comment", ""))[:40]
    if not found:
        raise SnapshotError(f"expected record files under {', '.join(FOLDERS)}/ in the archive, found none")
    return found, commit if re.fullmatch(r"[0-9a-f]{7,40}", commit) else ""
