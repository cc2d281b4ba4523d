"""A hypothesis-driven fuzz of the forms (issue 9): 2,000 posts a run, on each database.

The targets come from the URL map (every route that takes a POST, so a new form is fuzzed
without anyone adding it here), and each target's fields from the forms the app's pages
show for it, read as a browser reads them: the fuzz starts from what a browser would send
unchanged (so many posts are accepted and the accepting paths are exercised too), then
replaces, drops or adds fields with text of every script and control character, huge and
empty values, numbers, impossible dates, choices not on the list and odd uploaded files.

No post may give a server error; a refused one (4xx) may write nothing (rows and ledger
heads compared); and at the end the person's ledger and the records beside it verify.
Derandomized: the same posts every run, so CI never flakes."""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_routes_generated import World, _field_names, _methods, _rules

REQUESTS = 2000

#: POST routes the fuzz leaves alone, and why (every other one is fuzzed).
NOT_FUZZED = {
    "auth.logout": "its only input is the token: the rest of the run would be a visitor's",
    "platforms.archive": "its only input is the token: the platform's forms would be refused from then on",
}


def csrf_field_names() -> set[str]:
    """The token's name in every form, prefixed ones included (read from the views, so a
    form given a new prefix gets its token too)."""
    web = Path(__file__).resolve().parents[1] / "consent" / "web"
    prefixes = {m for path in web.rglob("*.py") for m in re.findall(r'prefix="([\w-]+)"', path.read_text())}
    return {"csrf_token"} | {f"{prefix}-csrf_token" for prefix in prefixes}


@dataclass
class Target:
    """One route taking a POST, with what its forms on the app's pages hold."""

    path: str
    #: What a browser sends when the person changes nothing (hidden values, text already
    #: filled in, the selected option, ticked boxes).
    defaults: dict[str, str] = field(default_factory=dict)
    #: Every value a field offers (options, checkbox values, submit buttons' values).
    options: dict[str, list[str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)

    @property
    def names(self) -> list[str]:
        return sorted(set(self.defaults) | set(self.options) | self.files)


class _PageForms(HTMLParser):
    """The POST forms of one page, as a browser reads them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[Target] = []
        self._form: Target | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attributes}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                action = urljoin(self.page, a.get("action") or self.page).split("#", 1)[0]
                self._form = Target(action)
                self.forms.append(self._form)
            return
        form, name = self._form, a.get("name")
        if form is None:
            return
        if tag == "option" and self._select:
            form.options.setdefault(self._select, []).append(a.get("value", ""))
            if "selected" in a or self._select not in form.defaults:
                form.defaults[self._select] = a.get("value", "")
        elif not name:
            return
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            form.defaults[name] = ""
        elif (tag == "button" and a.get("type", "submit") == "submit") or (
            tag == "input" and a.get("type") == "submit"
        ):
            form.options.setdefault(name, []).append(a.get("value", ""))
            form.defaults.setdefault(name, a.get("value", ""))  # as if its first button were pressed
        elif tag == "input" and a.get("type") == "file":
            form.files.add(name)
        elif tag == "input" and a.get("type") in ("checkbox", "radio"):
            form.options.setdefault(name, []).append(a.get("value", "y"))
            if "checked" in a:
                form.defaults[name] = a.get("value", "y")
        elif tag == "input":
            form.defaults[name] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._form is not None and self._textarea:
            # A browser drops the line break that follows <textarea> (HTML, "textarea" parsing).
            text = self._form.defaults[self._textarea]
            self._form.defaults[self._textarea] = text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.defaults[self._textarea] += data


def targets(world: World) -> list[Target]:
    """Every POST route of the URL map with the fields its forms show, read from every page
    the person can open. A route no page shows a form for (a link's second step, a log-in
    page a logged-in person is sent away from) gets every field name the app's forms use."""
    app = world.app
    seen: dict[str, list[Target]] = {}
    for rule in _rules(app):
        if "GET" not in _methods(rule) or rule.endpoint == "static":
            continue
        page = world.path(rule)
        response = world.ada.client.get(page)
        if response.status_code == 200 and response.mimetype == "text/html":
            parser = _PageForms(page)
            parser.feed(response.get_data(as_text=True))
            for form in parser.forms:
                seen.setdefault(urlsplit(form.path).path, []).append(form)
        response.close()
    everything = sorted(_field_names(app))
    found = []
    for rule in _rules(app):
        if "POST" not in _methods(rule) or rule.endpoint in NOT_FUZZED:
            continue
        path = world.path(rule)
        forms = seen.get(path)
        if not forms:
            found.append(Target(path, options={name: [] for name in everything}))
            continue
        target = Target(forms[0].path)  # its query string too (the letter's kind)
        for form in forms:
            target.defaults = {**form.defaults, **target.defaults}
            for name, offered in form.options.items():
                target.options.setdefault(name, []).extend(offered)
            target.files |= form.files
        found.append(target)
    return found


ODD = [
    "",
    "\u202e",
    "\u2066",
    "\u202a",
    "\r\n",
    "\t",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\x9b",
    "\u200b",
    "\ufeff",
    "\ufffd",
    "x" * 5000,
    "y",
    "on",
    "grant",
    "withdraw",
    "access",
    "fr",
    "zz",
    "closed",
    "-1",
    "0",
    "1e309",
    "NaN",
    "0000-00-00",
    "2026-02-30",
    "2026-13-01",
    "99999-01-01",
    "00000000-0000-0000-0000-000000000000",
]
#: Values for any field: text of every script, control characters alone and inside text,
#: numbers far past any column, dates from year 1 to 9999, and the list above.
VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300),
    st.sampled_from(ODD),
    st.sampled_from(ODD[1:15]).map(lambda c: f"moc.{c}live"),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
)


@st.composite
def posts(draw: st.DrawFn, found: list[Target], everything: list[str]) -> tuple[str, dict[str, Any]]:
    """A target and the fields posted to it: its defaults (mostly), some replaced by odd or
    offered values, some dropped, now and then a field of another form, or a file."""
    target = draw(st.sampled_from(found))
    names = target.names or everything
    data: dict[str, Any] = dict(target.defaults) if draw(st.integers(0, 3)) else {}
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        offered = target.options.get(name) or [""]
        data[name] = draw(st.one_of(VALUES, st.sampled_from(offered)))
    for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        data.pop(name, None)
    if draw(st.integers(0, 9)) == 0:
        data[draw(st.sampled_from(everything))] = draw(VALUES)
    for name in sorted(target.files):
        if draw(st.booleans()):
            data[name] = (io.BytesIO(draw(st.binary(max_size=3000))), draw(VALUES))
    return target.path, data


def test_two_thousand_generated_form_posts_give_no_server_error_and_no_partial_write(app: Flask) -> None:
    world = World(app)
    ada = world.ada
    found = targets(world)
    assert len(found) >= 30 and any(t.defaults for t in found), [t.path for t in found]
    everything = sorted(_field_names(app))
    token = World.token(ada, "/settings")
    tokens = dict.fromkeys(csrf_field_names(), token)
    outcomes: Counter[tuple[str, str]] = Counter()
    last = [world.snapshot()]
    started = time.perf_counter()

    @settings(
        max_examples=REQUESTS, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(post=posts(found, everything))
    def fuzz(post: tuple[str, dict[str, Any]]) -> None:
        path, data = post
        response = ada.client.post(path, data={**data, **tokens})
        response.close()  # a download holds its spool file until closed
        assert response.status_code < 500, f"POST {path} {data!r}: {response.status_code}"
        after = world.snapshot()
        if response.status_code >= 400:
            assert after == last[0], f"POST {path} {data!r} was refused ({response.status_code}), yet wrote"
        outcomes[(urlsplit(path).path, "refused" if response.status_code >= 400 else "accepted")] += 1
        last[0] = after

    fuzz()
    elapsed = time.perf_counter() - started
    refused = sum(n for (_, outcome), n in outcomes.items() if outcome == "refused")
    accepted = sum(outcomes.values()) - refused
    print(
        f"\nfuzz: {REQUESTS} posts to {len(found)} routes in {elapsed:.1f} s ({refused} refused, {accepted} accepted)"
    )
    for (path, outcome), n in sorted(outcomes.items()):
        print(f"  {path} {outcome}: {n}")
    assert sum(outcomes.values()) == REQUESTS
    assert accepted >= REQUESTS // 5, "the fuzz hardly reaches the accepting paths any more"
    assert {path for path, _ in outcomes} == {urlsplit(t.path).path for t in found}, "a route was never posted to"
    # Every accepted change was sealed: the ledger and the records beside it verify.
    ada.client.post("/language", data={"csrf_token": token, "language": "en"})
    check = ada.client.post("/ledger/verify", data={"csrf_token": token})
    assert check.status_code == 200 and "Your ledger is intact." in check.get_data(as_text=True)
