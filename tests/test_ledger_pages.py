"""The ledger's pages: filters, the way back from an event, what stood on a date, the key
card's download, and ids that each page uses once (issue 11)."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.conftest import Auth, count_rows
from tests.test_platforms import add_platform, add_use, all_events, decide, use_ids


@pytest.fixture
def ledger(person, app):
    """Shopwise: Marketing granted on 10 Jan 2026, withdrawn on 20 Feb; FriendSphere:
    Advertising refused on 5 Mar 2026."""
    shop = add_platform(person)
    add_use(person, shop, "Marketing", decided_on="2026-01-10")
    decide(person, use_ids(app, shop)["Marketing"], "withdraw", decided_on="2026-02-20")
    friends = add_platform(person, name="FriendSphere", country="IE")
    add_use(person, friends, "PersonalisedAdvertising", decision="refuse", decided_on="2026-03-05")
    return {"shop": shop, "friends": friends}


def _listed(client, query: str = "") -> list[int]:
    page = client.get(f"/ledger{query}")
    return [int(n) for n in re.findall(r'<li id="event-(\d+)">', page.get_data(as_text=True))]


def _index_of(app, kind: str, name: str | None = None) -> int:
    return next(
        e["index"] for e in all_events(app) if e["type"] == kind and (name is None or e["data"].get("name") == name)
    )


def test_the_ledger_filters_by_platform(ledger, client, app):
    shown = _listed(client, f"?platform={ledger['friends']}")
    friends = {e["index"] for e in all_events(app) if e.get("platform") == ledger["friends"]}
    assert set(shown) == friends and len(friends) == 2


def test_the_ledger_filters_by_kind(ledger, client, app):
    assert _listed(client, "?kind=use.withdrawn") == [_index_of(app, "use.withdrawn")]
    assert _listed(client, "?kind=platform.added") == [
        _index_of(app, "platform.added", "FriendSphere"),
        _index_of(app, "platform.added", "Shopwise Online"),
    ]


def test_the_ledger_filters_by_dates_of_decision(ledger, client, app):
    assert _listed(client, "?start=2026-02-01&end=2026-02-28") == [_index_of(app, "use.withdrawn")]
    assert _listed(client, "?start=2026-03-05&end=2026-03-05") == [_index_of(app, "use.refused")]
    assert _listed(client, "?end=2026-01-10") == [_index_of(app, "use.granted")]
    assert len(_listed(client, "?start=2026-01-01")) == len(all_events(app))  # the platforms are added today


def test_filters_combine_and_say_when_nothing_matches(ledger, client):
    page = client.get(f"/ledger?platform={ledger['shop']}&kind=use.refused").get_data(as_text=True)
    assert "No event matches these filters." in page
    assert '<a href="/ledger#events" id="clear-filters">Clear the filters</a>' in page
    assert 'id="clear-filters"' not in client.get("/ledger").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?platform=00000000-0000-4000-8000-000000000000", "Choose a platform from the list."),
        ("?kind=use.forged", "Choose a kind of event from the list."),
        ("?start=2026-03-01&end=2026-02-01", "The end date is before the start date."),
        ("?start=yesterday", "Not a valid date value."),
    ],
)
def test_a_bad_filter_says_what_is_wrong_and_hides_nothing(ledger, client, app, query, message):
    every = len(all_events(app))
    before = count_rows(app)
    page = client.get(f"/ledger{query}")
    assert page.status_code == 400 and message in page.get_data(as_text=True)
    assert len(_listed(client, query)) == every  # the whole ledger, unfiltered
    assert count_rows(app) == before


def test_someone_elses_platform_is_no_filter_and_their_events_never_show(ledger, app):
    grace = Auth(app.test_client())
    grace.register(email="grace@example.org")
    page = grace.client.get(f"/ledger?platform={ledger['shop']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and "Choose a platform from the list." in text
    assert "Shopwise" not in text and "FriendSphere" not in text and "Marketing" not in text
    assert _listed(grace.client) == []


def test_the_event_page_leads_back_to_the_ledger_and_the_platform(ledger, client, app):
    index = _index_of(app, "use.withdrawn")
    page = client.get(f"/ledger/events/{index}").get_data(as_text=True)
    assert f'<a href="/ledger#event-{index}" id="back-to-ledger">Back to my ledger</a>' in page
    assert f'<a href="/platforms/{ledger["shop"]}" id="back-to-platform">Back to Shopwise Online</a>' in page
    assert f'<li id="event-{index}">' in client.get("/ledger").get_data(as_text=True)  # where it leads


def test_a_use_dated_before_its_platform_was_added_shows_the_platforms_name(ledger, client):
    # The platforms were added today; their uses are dated in January and March.
    text = client.get("/ledger/as-of?date=2026-01-31").get_data(as_text=True)
    section = re.search(r'<section class="panel">\s*<h3>(.*?)</h3>', text, re.S)
    assert section, text
    assert section.group(1).startswith("Shopwise Online")
    assert "(added to your ledger after this date)" in section.group(1)
    assert re.search(r'status-granted">Granted</span>\s+Marketing', text)
    assert "since Jan 10, 2026" in text


def test_the_key_card_as_text_says_its_charset_once(person, client):
    answer = client.get("/ledger/key-card.txt")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="consent-key-card.txt"'


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids[value] += 1


def _duplicate_ids(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted(name for name, n in parser.ids.items() if n > 1)


def test_no_page_of_settings_or_the_ledger_uses_an_id_twice(ledger, client, app, auth):
    index = _index_of(app, "use.withdrawn")
    pages = [
        "/settings",
        "/settings/security",
        "/settings/logins",
        "/settings/email",
        "/profile",
        "/ledger",
        f"/ledger?platform={ledger['shop']}&kind=use.refused",
        "/ledger?start=2026-03-01&end=2026-02-01",
        "/ledger/as-of?date=2026-01-31",
        "/ledger/as-of?date=yesterday",
        f"/ledger/events/{index}",
        "/ledger/key",
    ]
    for path in pages:
        page = client.get(path)
        assert page.status_code in (200, 400), path
        assert _duplicate_ids(page.get_data(as_text=True)) == [], path
    # Pages that answer a POST: a refused time zone, a refused password, the verification.
    refused = auth.post("/settings", {"tz-time_zone": "Nowhere/Else"}, action="/settings/time-zone", prefix="tz")
    assert _duplicate_ids(refused.get_data(as_text=True)) == []
    wrong = auth.post(
        "/settings",
        {"password-current": "wrong", "password-password": "x", "password-confirm": "y"},
        action="/settings/password",
        prefix="password",
    )
    assert _duplicate_ids(wrong.get_data(as_text=True)) == []
    verified = auth.post("/ledger", {}, action="/ledger/verify")
    assert verified.status_code == 200 and _duplicate_ids(verified.get_data(as_text=True)) == []


def test_the_duplicate_id_check_finds_one():
    assert _duplicate_ids('<h2 id="language">L</h2><select id="language"></select><p id="x"></p>') == ["language"]


def test_the_as_of_page_asks_for_a_date_without_an_error_on_arrival(person, client):
    page = client.get("/ledger/as-of")
    assert page.status_code == 200 and "Enter a date" not in page.get_data(as_text=True)
    assert client.get("/ledger/as-of?date=yesterday").status_code == 400  # a bad date still says so


def test_the_passkey_hint_names_this_instances_own_port(app):
    from tests.conftest import PASSWORD

    app.config["PUBLIC_URL"] = ""  # a laptop's instance, reached at its address
    client, at = app.test_client(), "http://127.0.0.1:5077"
    form = client.get("/register", base_url=at).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    client.post(
        "/register",
        base_url=at,
        data={"csrf_token": token, "email": "ada@example.org", "password": PASSWORD, "confirm": PASSWORD},
    )
    page = client.get("/settings/security", base_url=at).get_data(as_text=True)
    assert "Passkeys need this site opened by its name" in page  # an IP address: no passkeys here
    assert "http://localhost:5077 instead of http://127.0.0.1:5077" in page and ":5000" not in page
