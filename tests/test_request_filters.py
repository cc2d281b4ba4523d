"""The requests page's search and filters: a POST form (what is typed stays out of URLs and
logs), the filters alone in a link, no script."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from tests.conftest import Auth, csrf_token
from tests.test_platforms import add_platform
from tests.test_requests import FRENCH_SHOP, post_letter

BANK = {**FRENCH_SHOP, "name": "Zeta Bank", "email": "dpo@zeta.example"}


def request_id(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"].rsplit("/", 1)[1]


def update(person: Auth, rid: str, status: str) -> None:
    page = f"/requests/{rid}"
    assert person.post(page, {"status": status}, action=f"{page}/update").status_code == 302


@pytest.fixture
def world(person, app):
    """Ada's requests in every status, and Mallory's, to a shop of the same name."""
    today = datetime.now(UTC).date()
    shop = add_platform(person, **FRENCH_SHOP)
    bank = add_platform(person, **BANK)
    ids = {
        "overdue": request_id(post_letter(person, shop, step="sent", sent_on="2026-09-01")),
        "draft": request_id(post_letter(person, bank, kind="erasure", step="draft")),
        "due_soon": request_id(post_letter(person, bank, step="sent", sent_on=(today - timedelta(days=27)).isoformat())),
        "sent": request_id(post_letter(person, shop, kind="erasure", step="sent")),
        "answered": request_id(post_letter(person, bank, kind="portability", step="sent")),
        "extended": request_id(post_letter(person, bank, kind="objection", step="sent", situation="Je suis harcelé.")),
        "filed": request_id(post_letter(person, shop, step="sent", sent_on="2026-08-03")),
    }
    update(person, ids["answered"], "answered")
    update(person, ids["extended"], "extended")
    ids["complaint"] = request_id(
        post_letter(
            person, shop, kind="complaint", parent=ids["filed"], authority="fr-cnil", channel="webform", step="sent"
        )
    )
    person.logout()
    mallory = Auth(app.test_client())
    mallory.register(email="mallory@example.org")
    mallory.post("/profile", {"full_name": "Mallory", "postal_address": "1 rue X\n75001 Paris", "country": "FR"})
    theirs = request_id(post_letter(mallory, add_platform(mallory, **FRENCH_SHOP), step="sent"))
    person.login()
    return ids, theirs


def search(client, **query):  # type: ignore[no-untyped-def]
    """The search form as the browser posts it."""
    return client.post("/requests", data={"csrf_token": csrf_token(client, "/requests"), **query})


def listed(client, **query) -> list[str]:
    response = search(client, **query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    if 'id="request-list"' not in page:
        return []
    section = page.split('id="request-list"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="/requests/([0-9a-f-]{36})"', section)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"overdue", "draft", "due_soon", "sent", "answered", "extended", "filed", "complaint"}),
        ({"q": "eclair"}, {"overdue", "sent", "filed", "complaint"}),  # folded: no accent, any case
        ({"q": "ZETA"}, {"draft", "due_soon", "answered", "extended"}),
        ({"kind": "erasure"}, {"draft", "sent"}),
        ({"status": "draft"}, {"draft"}),
        ({"status": "sent"}, {"due_soon", "sent", "complaint"}),
        ({"status": "extended"}, {"extended"}),
        ({"status": "overdue"}, {"overdue"}),
        ({"status": "answered"}, {"answered"}),
        ({"status": "complaint_filed"}, {"filed"}),
        ({"due_soon": "y"}, {"due_soon"}),
        ({"q": "bank", "kind": "access", "due_soon": "y"}, {"due_soon"}),
    ],
)
def test_each_filter_shows_what_it_names(world, client, query, expected):
    ids, _theirs = world
    assert sorted(listed(client, **query)) == sorted(ids[name] for name in expected)


def test_nothing_matching_says_so_with_a_way_back(world, client):
    page = search(client, q="Nowhere Ltd").get_data(as_text=True)
    assert 'id="no-match">No request matches.' in page
    assert '<a href="/requests">Show every request</a>' in page and 'id="clear-filters"' in page
    assert 'value="Nowhere Ltd"' in page  # the search stays in its box


def test_someone_elses_requests_never_appear(world, client):
    ids, theirs = world
    assert len(listed(client)) == len(ids)
    for query in ({}, {"q": "Boutique"}, {"status": "sent"}, {"kind": "access"}):
        assert theirs not in listed(client, **query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"status": "bribed"}, "Not a valid choice."),
        ({"kind": "love-letter"}, "Not a valid choice."),
        ({"q": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"q": "Bou\u202etique"}, "Remove the invisible control characters from this text."),
    ],
)
def test_a_bad_filter_says_why_and_shows_every_request(world, client, query, message):
    ids, _theirs = world
    response = search(client, **query)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    section = page.split('id="request-list"', 1)[1].split("</ul>", 1)[0]
    assert len(re.findall(r'href="/requests/[0-9a-f-]{36}"', section)) == len(ids)


def test_a_link_filters_but_never_searches_what_was_typed(world, client):
    """A platform's name is personal: in a URL it would reach access logs, so a link
    carries the filters only (found by an operator's attack pass)."""
    ids, _theirs = world
    page = client.get("/requests?" + urlencode({"q": "eclair", "status": "overdue"})).get_data(as_text=True)
    section = page.split('id="request-list"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'href="/requests/([0-9a-f-]{36})"', section) == [ids["overdue"]]
    assert 'value="eclair"' not in page and 'method="post" action="/requests"' in page


def test_no_request_yet_shows_no_search(person, client):
    page = client.get("/requests").get_data(as_text=True)
    assert "No request yet." in page and 'id="request-filters"' not in page
