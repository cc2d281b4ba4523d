"""A hypothesis fuzz of the directory import (issue 9): folders mixing valid records with
arbitrary JSON, mutated records, bytes that are no JSON and odd file names. Whatever they
hold, no exception escapes, every file is imported or listed as rejected (never both), the
database holds exactly the imported files, and a second run changes nothing.

Derandomized, so every run (and CI) tries the same examples."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent import db
from consent.directory import format as fmt
from consent.directory.format import SLUG
from consent.models import DirectoryAuthority, DirectoryController, DirectoryPack, DirectoryRedirect
from consent.services import directory
from tests.test_directory import company

MODELS = {
    "companies": (DirectoryController, DirectoryController.slug),
    "supervisory-authorities": (DirectoryAuthority, DirectoryAuthority.slug),
    "obsolete-records": (DirectoryRedirect, DirectoryRedirect.slug),
    "company-packs": (DirectoryPack, DirectoryPack.key),
}

# --- what a file may hold ------------------------------------------------------------------

odd_text = st.lists(
    st.text(max_size=8)
    | st.sampled_from(["\ud800", "\udfff", "\x00", "\u2028", "é", "\U0001f600", " ", "\n", "\x1b", "\u202e"]),
    max_size=4,
).map("".join)
numbers = (
    st.integers()
    | st.sampled_from([2**53, 2**53 + 1, 2**63, -(2**63) - 1, 10**400])
    | st.floats()  # NaN and Infinity included: json.dumps writes them, PostgreSQL's JSON has none
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


def valid_record(folder: str, stem: str) -> Any:
    if folder == "companies":
        return company(stem, f"Company {stem}")
    if folder == "supervisory-authorities":
        return {"slug": stem, "relevant-countries": ["de"], "name": f"Authority {stem}", "address": "A", "sources": []}
    if folder == "obsolete-records":
        return {"slug": stem, "name": f"Gone {stem}", "reason": "duplicate"}
    return [{"slug": "pack", "type": "add-all", "companies": ["a", "b"]}]


#: Fields a record of one kind may hold but the valid ones below leave out.
EXTRA_FIELDS = ["email", "runs", "web", "required-elements", "categories", "needs-id-document", "redirect-to", "x"]
# Which field changes is an index into the record's own fields and these (so that every
# kind of record gets its own fields changed); None removes the field.
mutation = st.lists(
    # Containers often, since a list or an object where a string goes is what breaks a rule's code.
    st.tuples(st.integers(0, 30), st.none() | json_values | st.lists(json_values, min_size=1, max_size=2)),
    min_size=1,
    max_size=2,
)


def mutated(record: Any, changes: list[tuple[int, Any]]) -> Any:
    target = record[0] if isinstance(record, list) else record
    for index, value in changes:
        fields = [*target, *EXTRA_FIELDS]
        name = fields[index % len(fields)]
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return record


#: A file's content: ("json", value), ("text", str), ("bytes", bytes) or a special kind.
mutated_content = mutation.map(lambda changes: ("mutated", changes))
contents = st.one_of(  # a strategy named more than once is drawn more often
    st.just(("valid", None)),
    st.just(("valid", None)),
    mutated_content,
    mutated_content,
    mutated_content,
    mutated_content,
    json_values.map(lambda value: ("json", value)),
    st.binary(max_size=40).map(lambda data: ("bytes", data)),
    st.sampled_from([5, 33, 20_000]).map(lambda n: ("text", "[" * n + "]" * n)),
    st.sampled_from(["", "{", "[1,]", '{"a": NaN}', '"\\ud800"', '{"slug": "\\u0000"}', "1e999"]).map(
        lambda text: ("text", text)
    ),
    st.sampled_from(["folder", "symlink", "fifo", "huge"]).map(lambda kind: (kind, None)),
)

slug_stems = st.from_regex(r"[a-z0-9][a-z0-9-]{0,11}", fullmatch=True).map(str.encode)
#: Slugs drawn often enough to meet in several subfolders (a company and its obsolete record).
twin_stems = st.sampled_from([b"twin", b"twin-2"])
odd_stems = st.one_of(
    st.text(min_size=1, max_size=20).map(lambda s: s.encode("utf-8", "surrogateescape")),
    st.binary(min_size=1, max_size=12),  # not UTF-8, as a Linux file name may be
    st.sampled_from([b"UPPER", b"two\nlines", b"caf\xe9", b"a" * 201, b"-", b".hidden", b"x.json"]),
).filter(lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b"..") and len(b) <= 240)

files = st.dictionaries(
    st.tuples(st.sampled_from(sorted(MODELS)), st.one_of(slug_stems, twin_stems, odd_stems)),
    contents,
    min_size=1,
    max_size=8,
)


def write(folder: Path, sub: str, stem: bytes, content: tuple[str, Any], outside: Path) -> Path:
    parent = os.fsencode(folder / sub)
    os.makedirs(parent, exist_ok=True)
    path = parent + b"/" + stem + b".json"
    kind, value = content
    text_stem = os.fsdecode(stem)
    if kind == "valid":
        data = json.dumps(valid_record(sub, text_stem)).encode()
    elif kind == "mutated":
        data = json.dumps(mutated(valid_record(sub, text_stem), value)).encode("utf-8", "surrogatepass")
    elif kind == "json":
        data = json.dumps(value).encode()
    elif kind == "text":
        data = value.encode()
    elif kind == "bytes":
        data = value
    elif kind == "folder":
        os.mkdir(path)
        return Path(os.fsdecode(path))
    elif kind == "symlink":
        os.symlink(outside, path)
        return Path(os.fsdecode(path))
    elif kind == "fifo":
        os.mkfifo(path)
        return Path(os.fsdecode(path))
    else:  # huge
        data = json.dumps({**valid_record("companies", text_stem), "pad": "x" * directory.MAX_FILE_BYTES}).encode()
    with open(path, "wb") as f:
        f.write(data)
    return Path(os.fsdecode(path))


def rows(app) -> dict[str, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        s = db.session()
        return {
            sub: sorted((k, d) for k, d in s.execute(sa.select(key, model.digest)))
            for sub, (model, key) in MODELS.items()
        }


def empty_directory(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        s = db.session()
        for model, _key in MODELS.values():
            s.execute(sa.delete(model))
        s.commit()


def test_a_fuzzed_folder_imports_each_file_or_rejects_it(app, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(company("outside", "Outside")))
    examples = {"n": 0, "imported": 0, "rejected": 0}

    @settings(max_examples=80, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(written=files, twins=st.lists(st.sampled_from(sorted(MODELS)), unique=True, max_size=4))
    def one_folder(written: dict[tuple[str, bytes], tuple[str, Any]], twins: list[str]) -> None:
        # Valid records of one slug in several subfolders: a company and its obsolete record.
        written = {**{(sub, b"twin"): ("valid", None) for sub in twins}, **written}
        empty_directory(app)
        folder = tmp_path / f"run{examples['n']}"
        examples["n"] += 1
        # One valid company always, so that the folder is a directory to import at all.
        paths = {("companies", b"anchor"): write(folder, "companies", b"anchor", ("valid", None), outside)}
        for (sub, stem), content in written.items():
            if (sub, stem) != ("companies", b"anchor"):
                paths[sub, stem] = write(folder, sub, stem, content, outside)

        with app.app_context():
            report = directory.import_directory(db.session(), folder)  # no exception escapes
        rejected = [name for name, _reason in report.rejected]
        assert len(rejected) == len(set(rejected)), "a file rejected twice"
        assert all(len(reason) <= directory.MAX_REASON for _name, reason in report.rejected)
        assert all(name.isprintable() and reason.isprintable() for name, reason in report.rejected)

        found = rows(app)
        expected: dict[str, set[str]] = {sub: set() for sub in MODELS}
        for (sub, stem), path in paths.items():
            if directory._shown(path, folder) in rejected:
                continue
            if sub == "company-packs":
                value = json.loads(path.read_text())
                expected[sub].update(f"{os.fsdecode(stem)}/{pack['slug']}" for pack in value)
            else:
                expected[sub].add(os.fsdecode(stem))
        # An obsolete record retires the company of its slug: a company file beside it is rejected.
        assert not expected["companies"] & expected["obsolete-records"]
        # Exactly the files not rejected are in the database: every file one or the other.
        assert {sub: {key for key, _ in found[sub]} for sub in MODELS} == expected
        assert set(rejected) <= {directory._shown(path, folder) for path in paths.values()}, "a file never written"
        assert "anchor" in {key for key, _ in found["companies"]}, "a good record was lost"
        for (sub, stem), (kind, _value) in written.items():
            retired = sub == "companies" and os.fsdecode(stem) in expected["obsolete-records"]
            if (
                kind == "valid"
                and SLUG.match(stem.decode("latin-1"))
                and len(stem) <= directory.MAX_SLUG
                and not retired
            ):
                assert directory._shown(paths[sub, stem], folder) not in rejected, (sub, stem)
        examples["imported"] += sum(len(keys) for keys in expected.values())
        examples["rejected"] += len(rejected)

        with app.app_context():
            again = directory.import_directory(db.session(), folder)
        assert not again.changed
        assert again.rejected == report.rejected
        assert rows(app) == found

    one_folder()
    assert examples["n"] >= 80
    assert examples["imported"] > 80 and examples["rejected"] > 80  # both sides were exercised


CHECKS = {
    "companies": fmt.check_company,
    "supervisory-authorities": fmt.check_authority,
    "obsolete-records": fmt.check_obsolete,
    "company-packs": lambda value, _stem: fmt.check_packs(value),
}


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(kind=st.sampled_from(sorted(CHECKS)), changes=mutation)
def test_a_mutated_record_passes_its_check_or_is_refused_with_a_reason(kind, changes):
    # No database here, so many more examples: a rule meeting a list, an object or a number
    # where it expects a string says so, rather than fail with TypeError or KeyError.
    record = json.loads(json.dumps(mutated(valid_record(kind, "stem"), changes)))
    try:
        CHECKS[kind](record, "stem")
    except fmt.RecordError as e:
        assert str(e)
