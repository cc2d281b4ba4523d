"""One bad record is rejected on its own (issue 9): whatever a file of the directory holds,
the import lists it as rejected with a reason and imports every good record beside it;
a second run changes nothing. Ends with a hypothesis fuzz of whole folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent import db
from consent.models import DirectoryController
from tests.test_directory import company, run_import, write_directory

GOOD = company("goodshop", "Good Shop GmbH", email="privacy@goodshop.example")


def _slugs(app) -> set[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return set(db.session().scalars(sa.select(DirectoryController.slug)))


HOSTILE_TEXT = {
    "list-for-string": json.dumps(company("listy", ["a", "b"])),
    "number-for-string": json.dumps({**company("numbery", "N"), "email": [1, 2]}),
    "surrogate": '{"slug": "surrogate", "name": "bad \\ud800 name", "relevant-countries": ["de"]}',
    "nul": json.dumps(company("nully", "Nul\u0000Company")),
    "nan": '{"slug": "nan", "name": "NaN Co", "relevant-countries": ["de"], "quality": NaN}',
    "infinity": '{"slug": "inf", "name": "Inf Co", "relevant-countries": ["de"], "x": -Infinity}',
    "huge-number": json.dumps({**company("hugenum", "Huge"), "x": 2**70}),
    "deep": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "long-name": json.dumps(company("longname", "N" * 5000)),
    "not-json": "{oops",
    "empty": "",
    "array": "[1, 2, 3]",
    "string": '"just a string"',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_TEXT))
def test_a_hostile_record_is_rejected_and_the_good_one_imported(app, tmp_path, kind):
    folder = write_directory(tmp_path / "dir", [GOOD], **{f"companies/{kind}.json": HOSTILE_TEXT[kind]})
    report = run_import(app, folder)
    assert [name for name, _reason in report.rejected] == [f"companies/{kind}.json"]
    assert _slugs(app) == {"goodshop"}
    again = run_import(app, folder)
    assert not again.changed and len(again.rejected) == 1


def test_files_that_are_no_records_are_rejected_one_by_one(app, tmp_path):
    folder = write_directory(tmp_path / "dir", [GOOD])
    (folder / "companies" / "x.json").mkdir()  # a folder named like a record
    (folder / "companies" / "latin1.json").write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    (folder / "companies" / "big.json").write_text(json.dumps({**company("big", "Big"), "pad": "x" * 2_000_000}))
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps(company("secret", "Outside")))
    os.symlink(outside, folder / "companies" / "secret.json")
    long_stem = "a" * 201
    (folder / "companies" / f"{long_stem}.json").write_text(json.dumps(company(long_stem, "Long slug")))
    report = run_import(app, folder)
    rejected = dict(report.rejected)
    assert set(rejected) == {
        "companies/x.json",
        "companies/latin1.json",
        "companies/big.json",
        "companies/secret.json",
        f"companies/{long_stem}.json",
    }, rejected
    assert rejected["companies/x.json"] == "not a regular file"
    assert rejected["companies/latin1.json"] == "not UTF-8 text"
    assert _slugs(app) == {"goodshop"}


record_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
mutations = st.fixed_dictionaries(
    {},
    optional={
        "name": record_values,
        "email": record_values,
        "relevant-countries": record_values,
        "runs": record_values,
        "web": record_values,
        "address": record_values,
        "required-elements": record_values,
    },
)


def test_a_fuzzed_folder_imports_its_good_records_and_rejects_the_rest(app, tmp_path):
    runs = {"files": 0}

    @settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(changes=st.lists(mutations, min_size=1, max_size=5), garbage=st.lists(record_values, max_size=2))
    def one_folder(changes: list[dict], garbage: list) -> None:  # type: ignore[type-arg]
        with app.app_context():  # each example starts from an empty directory
            db.session().execute(sa.delete(DirectoryController))
            db.session().commit()
        folder = tmp_path / f"run{runs['files']}"
        records = [{**company(f"fuzz{n}", f"Fuzz {n}"), **change} for n, change in enumerate(changes)]
        files = {f"companies/junk{n}.json": json.dumps(value) for n, value in enumerate(garbage)}
        write_directory(folder, [GOOD, *records], **files)
        runs["files"] += 1
        report = run_import(app, folder)
        rejected = {name for name, _ in report.rejected}
        imported = _slugs(app)
        names = [f"companies/{r['slug']}.json" for r in records] + list(files)
        for name in names:
            slug = Path(name).stem
            assert (name in rejected) != (slug in imported), f"{name}: neither imported nor rejected, or both"
        assert "goodshop" in imported
        assert not run_import(app, folder).changed  # idempotent

    one_folder()
    assert runs["files"] >= 60
