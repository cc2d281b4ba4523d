"""The ASVS 5.0 Level 2 table of docs/security.md cannot rot silently: every Level 1 and 2
requirement (ids in tests/asvs_5_0_level2_ids.txt, from OWASP's 5.0 release) has exactly one
row or n/a line, each status is one of four words, and every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## OWASP ASVS 5.0, Level 2"
STATUSES = {"met", "partly", "not met", "n/a"}


def _section() -> str:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert SECTION in text, f"docs/security.md has no section {SECTION!r}"
    after = text.split(SECTION, 1)[1]
    return after.split("\n## ", 1)[0]


def _rows() -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in _section().splitlines()
        if re.match(r"^\| \d+\.\d+\.\d+ \|", line)
    ]


def test_every_level_2_requirement_has_exactly_one_entry():
    expected = (Path(__file__).parent / "asvs_5_0_level2_ids.txt").read_text().split()
    listed = [row[0] for row in _rows()]
    for line in _section().splitlines():
        if line.startswith("All of "):
            listed += [i.strip() for i in line.removeprefix("All of ").split(":", 1)[0].split(",")]
    assert len(listed) == len(set(listed)), "a requirement is listed twice"
    assert sorted(listed) == sorted(expected)


def test_every_row_has_a_known_status_and_a_reason_or_a_test():
    for row in _rows():
        assert len(row) == 5, row
        requirement, _asks, status, where, proof = row
        assert status in STATUSES, f"{requirement}: status {status!r}"
        assert where, f"{requirement}: say where it is met or why not"
        if status == "met":
            assert proof.startswith("`tests/"), f"{requirement}: a met requirement names its test"


def test_every_test_the_table_names_exists():
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", _section())
    assert len(named) > 100
    for path, name in named:
        source = ROOT / path
        assert source.exists(), f"{path} does not exist"
        assert re.search(rf"^def {name}\(", source.read_text(encoding="utf-8"), re.M), f"{path} has no {name}"


def test_the_counts_in_the_introduction_are_the_table_s():
    said = re.search(
        r"(\d+) requirements, (\d+) met, (\d+) partly met, (\d+) not met, (\d+) not applicable",
        " ".join(_section().split()),
    )
    assert said, "the introduction gives no counts"
    statuses = [row[2] for row in _rows()]
    for line in _section().splitlines():
        if line.startswith("All of "):
            statuses += ["n/a"] * len(line.removeprefix("All of ").split(":", 1)[0].split(","))
    counted = (len(statuses), *(statuses.count(s) for s in ("met", "partly", "not met", "n/a")))
    assert tuple(int(n) for n in said.groups()) == counted
