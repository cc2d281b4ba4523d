"""Platforms in everyday use (issue 11): no silent change, undo and confirm, search."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, quote

import pytest

from consent import db
from consent.errors import DecisionError
from consent.services import platforms
from consent.vocabulary import DPV, GDPR, PD
from consent.web.platforms.wrapping import breakable
from tests.conftest import Auth, count_rows, csrf_token
from tests.test_platforms import SHOP, _login, add_platform, add_use, all_events, decide, use_ids

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def page_of(client, platform_id: str) -> str:
    return client.get(f"/platforms/{platform_id}").get_data(as_text=True)


def flashes(client) -> str:
    return client.get("/settings").get_data(as_text=True)


# --- renewing keeps or asks for the end date ---------------------------------------------


def test_renew_without_a_new_end_date_is_refused_and_keeps_the_old_one(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", expires=NEXT_YEAR)
    use_id = use_ids(app, platform_id)["Marketing"]
    before = count_rows(app)["ledger_entries"]
    decide(person, use_id, "renew")
    assert "Give the new end date of the consent" in flashes(client)
    assert count_rows(app)["ledger_entries"] == before
    assert "valid until" in page_of(client, platform_id)
    with app.app_context():
        (use,) = platforms.get_platform(db.session(), _login(app), uuid.UUID(platform_id)).uses
        assert use.expires == NEXT_YEAR


def test_renew_with_a_date_or_explicitly_without_end(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", expires=NEXT_YEAR)
    use_id = use_ids(app, platform_id)["Marketing"]
    later = (date.today() + timedelta(days=700)).isoformat()
    decide(person, use_id, "renew", expires=later)
    assert all_events(app)[-1]["data"]["expires"] == later
    decide(person, use_id, "renew", no_end="y")
    assert all_events(app)[-1]["type"] == "use.renewed" and all_events(app)[-1]["data"]["expires"] is None
    assert "valid until" not in page_of(client, platform_id)


def test_renew_to_a_past_date_is_refused(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", decided_on="2026-01-10", expires="2026-02-01")
    use_id = use_ids(app, platform_id)["Marketing"]
    before = count_rows(app)["ledger_entries"]
    decide(person, use_id, "renew", expires=(date.today() - timedelta(days=3)).isoformat())
    assert "The new end date cannot be in the past." in flashes(client)
    assert count_rows(app)["ledger_entries"] == before


def test_the_renew_form_asks_for_the_end_date(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", expires=NEXT_YEAR)
    page = page_of(client, platform_id)
    renew = page[page.index('<details class="renew"') :]
    renew = renew[: renew.index("</details>")]
    assert "New end date" in renew and 'name="expires"' in renew and 'name="no_end"' in renew


# --- archive: confirmed, reversible, and withdrawal stays open -------------------------------


def test_archive_says_what_happens_before_and_un_archive_brings_the_platform_back(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    page = page_of(client, platform_id)
    confirm = page[page.index('<details class="confirm">') :]
    assert "you can bring it back at any time" in confirm[: confirm.index("</details>")]
    assert "Archive Shopwise Online" in confirm
    person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive")
    page = page_of(client, platform_id)
    assert "This platform is archived" in page and "Bring it back from the archive" in page
    response = person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/unarchive")
    assert response.status_code == 302
    assert [e["type"] for e in all_events(app)][-2:] == ["platform.archived", "platform.unarchived"]
    assert "The platform is back among your current platforms." in page_of(client, platform_id)
    assert platform_id in client.get("/platforms").get_data(as_text=True)
    # Once back, it takes decisions again.
    decide(person, use_ids(app, platform_id)["Marketing"], "withdraw")
    assert all_events(app)[-1]["type"] == "use.withdrawn"


def test_un_archive_of_a_current_platform_is_refused_and_records_nothing(person, client, app):
    platform_id = add_platform(person)
    before = count_rows(app)["ledger_entries"]
    person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/unarchive")
    assert "This platform is not archived." in page_of(client, platform_id)
    assert count_rows(app)["ledger_entries"] == before


def test_an_archived_platform_shows_withdraw_for_its_granted_uses_only(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    add_use(person, platform_id, "DirectMarketing", decision="refuse")
    person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive")
    page = page_of(client, platform_id)
    ids = use_ids(app, platform_id)
    assert f"/uses/{ids['Marketing']}/withdraw" in page
    assert f"/uses/{ids['Direct marketing (newsletters, offers by e-mail, post or phone)']}/grant" not in page
    assert 'name="decision" value="grant"' not in page  # no new use on an archived platform


def test_another_person_cannot_un_archive(person, app):
    platform_id = add_platform(person)
    person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive")
    person.logout()
    intruder = Auth(app.test_client())
    intruder.register(email="mallory@example.org")
    before = count_rows(app)["ledger_entries"]
    assert intruder.post("/dashboard", {}, action=f"/platforms/{platform_id}/unarchive").status_code == 404
    assert count_rows(app)["ledger_entries"] == before


# --- undo a withdrawal --------------------------------------------------------------------


def test_undo_grants_again_on_the_same_terms_and_names_the_withdrawal(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", expires=NEXT_YEAR, recipients="Ad partners")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    withdrawal = all_events(app)[-1]
    assert f'name="index" value="{withdrawal["index"]}"' in client.get("/dashboard").get_data(as_text=True)
    page = page_of(client, platform_id)
    assert f'action="/uses/{use_id}/undo"' in page and f'name="index" value="{withdrawal["index"]}"' in page
    response = person.post(
        f"/platforms/{platform_id}",
        {"index": withdrawal["index"], "back_to": f"/platforms/{platform_id}"},
        action=f"/uses/{use_id}/undo",
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/platforms/{platform_id}"
    grant = all_events(app)[-1]
    assert grant["type"] == "use.granted"
    assert grant["data"] == {
        "purpose": DPV + "Marketing",
        "label": "Marketing",
        "expires": NEXT_YEAR,
        "undoes": withdrawal["index"],
    }
    page = page_of(client, platform_id)
    assert "Undone: the use is granted again on the same terms" in page
    assert f"/uses/{use_id}/undo" not in page  # nothing left to undo
    with app.app_context():
        (use,) = platforms.get_platform(db.session(), _login(app), uuid.UUID(platform_id)).uses
        assert (use.status, use.expires, use.recipients) == ("granted", NEXT_YEAR, "Ad partners")


def test_undo_is_refused_after_ten_minutes(person, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    index = all_events(app)[-1]["index"]
    with app.app_context():
        s, login = db.session(), _login(app)
        late = datetime.now(UTC) + timedelta(minutes=11)
        with pytest.raises(DecisionError) as refused:
            platforms.undo_withdrawal(s, login, uuid.UUID(use_id), index, now=late)
        assert refused.value.reason == "undo_too_late"
        view = platforms.get_platform(s, login, uuid.UUID(platform_id))
        assert platforms.undoable(s, login, view, now=late) == {}
        assert platforms.undoable(s, login, view) == {use_id: index}
    assert all_events(app)[-1]["index"] == index


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("grant", "There is no withdrawal of this use to undo."),
        ("earlier", "a later decision on this use followed it"),
    ],
)
def test_undo_only_of_the_latest_withdrawal(person, client, app, which, message):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    first_withdrawal = all_events(app)[-1]["index"]
    decide(person, use_id, "grant")
    decide(person, use_id, "withdraw")
    index = {"grant": 1, "earlier": first_withdrawal}[which]
    before = count_rows(app)["ledger_entries"]
    person.post(f"/platforms/{platform_id}", {"index": index}, action=f"/uses/{use_id}/undo")
    assert message in flashes(client)
    assert count_rows(app)["ledger_entries"] == before


def test_undo_of_someone_else_s_use_or_without_index_changes_nothing(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    index = all_events(app)[-1]["index"]
    before = count_rows(app)["ledger_entries"]
    assert person.post("/dashboard", {}, action=f"/uses/{use_id}/undo").status_code == 400
    for bad in ("-1", "1.5", "x", str(2**64)):
        assert person.post("/dashboard", {"index": bad}, action=f"/uses/{use_id}/undo").status_code == 400
    assert client.get(f"/uses/{use_id}/undo").status_code == 405
    person.logout()
    intruder = Auth(app.test_client())
    intruder.register(email="mallory@example.org")
    assert intruder.post("/dashboard", {"index": index}, action=f"/uses/{use_id}/undo").status_code == 404
    assert count_rows(app)["ledger_entries"] == before + 0


def test_no_undo_is_offered_on_an_archived_platform(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive")
    decide(person, use_ids(app, platform_id)["Marketing"], "withdraw")
    assert "/undo" not in page_of(client, platform_id)


# --- a use resting on the contract is not "withdrawn" ------------------------------------------


def _card(page: str, use_id: str) -> str:
    card = page[page.index(f'id="use-{use_id}"') :]
    return card[: card.index("</li>")]


def test_providing_the_service_offers_no_consent_withdrawal(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "ServiceProvision")
    add_use(person, platform_id, "Marketing")
    ids = use_ids(app, platform_id)
    service = ids["Providing the service I use"]
    erasure = f"/platforms/{platform_id}/letter?kind=erasure"
    card = _card(page_of(client, platform_id), service)
    assert "Rests on your contract, not on consent." in card and erasure in card
    assert ">Withdraw<" not in card and "Record that it ended" in card
    assert ">Withdraw<" in _card(page_of(client, platform_id), ids["Marketing"])
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f"/uses/{service}/withdraw" not in dashboard and f"/uses/{ids['Marketing']}/withdraw" in dashboard
    assert "Rests on your contract, not on consent." in dashboard and erasure in dashboard


def test_a_contract_use_can_be_recorded_as_ended(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "ServiceProvision")
    service = use_ids(app, platform_id)["Providing the service I use"]
    decide(person, service, "withdraw", ended="1")
    assert all_events(app)[-1]["type"] == "use.withdrawn"
    page = flashes(client)
    assert "Recorded: this use has ended." in page and "letter-offer" not in page


def test_providing_the_service_on_consent_is_withdrawn_like_any_consent(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "ServiceProvision", legal_basis=GDPR + "A6-1-a")
    add_use(person, platform_id, "Marketing", legal_basis=GDPR + "A6-1-b")
    ids = use_ids(app, platform_id)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f"/uses/{ids['Providing the service I use']}/withdraw" in dashboard
    assert f"/uses/{ids['Marketing']}/withdraw" not in dashboard  # this one rests on a contract


# --- deleting identifiers and notes asks first ----------------------------------------------


def test_removing_identifiers_or_notes_asks_first_then_deletes(person, client, app):
    platform_id = add_platform(person)
    cleared = {**SHOP, "identifiers-0-value": "", "notes": ""}
    response = person.post(f"/platforms/{platform_id}/edit", cleared)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Saving deletes what you removed:" in page
    assert "customer number: C-77123" in page and "your private notes" in page
    assert "Save and delete them" in page
    assert "C-77123" in page_of(client, platform_id)  # nothing deleted yet
    fingerprint = re.search(r'name="confirm_removal" type="hidden" value="([0-9a-f]+)"', page).group(1)
    # Agreeing to delete one thing is no agreement to delete another.
    person.post(f"/platforms/{platform_id}/edit", {**cleared, "notes": "kept", "confirm_removal": fingerprint})
    assert "C-77123" in page_of(client, platform_id)
    response = person.post(f"/platforms/{platform_id}/edit", {**cleared, "confirm_removal": fingerprint})
    assert response.status_code == 302
    page = page_of(client, platform_id)
    assert "C-77123" not in page and "Bought a bike there" not in page


def test_an_edit_that_deletes_nothing_saves_at_once(person, client, app):
    platform_id = add_platform(person)
    response = person.post(f"/platforms/{platform_id}/edit", {**SHOP, "identifiers-1-value": "ada@example.org"})
    assert response.status_code == 302
    assert "ada@example.org" in page_of(client, platform_id)


# --- small defects --------------------------------------------------------------------------


def test_add_a_platform_tab_title_is_plain_text(person, client):
    page = client.get("/platforms/new").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title == "Add a platform · Consent manager"


def test_country_shows_as_its_name(person, client, app):
    platform_id = add_platform(person, country="IE")
    assert "<dd>Ireland</dd>" in page_of(client, platform_id)
    assert "Ireland" in client.get("/platforms").get_data(as_text=True)
    person.post("/settings", {"language": "fr", "next": "/settings"}, action="/language")
    assert "<dd>Irlande</dd>" in page_of(client, platform_id)


def test_reloading_the_use_form_after_an_error_shows_the_page(person, client):
    platform_id = add_platform(person)
    response = person.post(
        f"/platforms/{platform_id}", {"purpose": "custom", "decision": "grant"}, action=f"/platforms/{platform_id}/uses"
    )
    assert response.status_code == 400
    reload = client.get(f"/platforms/{platform_id}/uses")
    assert reload.status_code == 302 and reload.headers["Location"] == f"/platforms/{platform_id}#new-use"
    assert client.get(f"/platforms/{uuid.uuid4()}/uses").status_code == 404


def test_long_values_get_break_opportunities_and_stay_escaped():
    assert breakable("Shopwise") == "Shopwise"
    assert breakable("C-77123") == "C-77123"  # short values are left alone
    long = "privacy.department@" + "x" * 40 + ".example"
    out = str(breakable(long))
    assert out.replace("<wbr>", "") == long and "<wbr>" in out
    assert max(len(part) for part in out.split("<wbr>")) <= 16
    hostile = str(breakable("<script>" * 5))
    assert "<script>" not in hostile and hostile.replace("<wbr>", "") == "&lt;script&gt;" * 5


# --- the add-platform form is progressive -----------------------------------------------------


def _fold(page: str, name: str) -> str:
    return re.search(rf'<details class="fold" id="{name}-fold"[^>]*>', page).group(0)


def test_categories_and_identifiers_are_folded_until_needed(person, client):
    page = client.get("/platforms/new").get_data(as_text=True)
    assert " open" not in _fold(page, "categories") and " open" not in _fold(page, "identifiers")
    # A form sent back with a value there, or an error, opens its part.
    response = person.post("/platforms/new", {**SHOP, "name": ""})
    page = response.get_data(as_text=True)
    assert " open" in _fold(page, "categories") and " open" in _fold(page, "identifiers")
    response = person.post(
        "/platforms/new",
        {"name": "X", "categories": [], "identifiers-0-value": "x" * 301, "identifiers-0-kind": ""},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert " open" not in _fold(page, "categories") and " open" in _fold(page, "identifiers")


def test_editing_opens_the_parts_that_hold_values(person, client):
    platform_id = add_platform(person, categories=[PD + "Name"])
    page = client.get(f"/platforms/{platform_id}/edit").get_data(as_text=True)
    assert " open" in _fold(page, "categories") and " open" in _fold(page, "identifiers")


# --- search and filters -----------------------------------------------------------------------


@pytest.fixture
def three(person, app):
    """Shopwise (customer number C-77123, marketing granted), FriendSphere (Ireland,
    advertising withdrawn, contact data), and an archived OldBank (a refusal)."""
    shop = add_platform(person)
    add_use(person, shop, "Marketing", expires=(date.today() + timedelta(days=10)).isoformat())
    social = add_platform(
        person,
        name="FriendSphere",
        website="https://www.friendsphere.example/about",
        email="dpo@friendsphere.example",
        country="IE",
        categories=[PD + "EmailAddress"],
        **{"identifiers-0-value": "ada_l"},
    )
    add_use(person, social, "PersonalisedAdvertising")
    decide(person, use_ids(app, social)["Personalised advertising"], "withdraw")
    bank = add_platform(person, name="OldBank", website="", email="", **{"identifiers-0-value": ""})
    add_use(person, bank, "DirectMarketing", decision="refuse")
    person.post(f"/platforms/{bank}", {}, action=f"/platforms/{bank}/archive")
    return {"shop": shop, "social": social, "bank": bank}


def _search(client, query: str):  # type: ignore[no-untyped-def]
    """The search form as the browser posts it: what is typed never travels in a URL."""
    return client.post("/platforms", data={"csrf_token": csrf_token(client, "/platforms"), **dict(parse_qsl(query))})


def _found(client, query: str) -> set[str]:
    page = _search(client, query).get_data(as_text=True)
    return set(re.findall(r'href="/platforms/([0-9a-f-]{36})"', page))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"shop", "social"}),
        ("q=shopwise", {"shop"}),
        ("q=SHOP", {"shop"}),
        ("q=friendsphere.example", {"social"}),  # the website's domain, and the e-mail's
        ("q=dpo%40friendsphere", {"social"}),
        ("q=C-77123", {"shop"}),  # an identifier, sealed, searched after opening it
        ("q=ada_l", {"social"}),
        ("q=nowhere", set()),
        ("uses=granted", {"shop"}),
        ("uses=withdrawn", {"social"}),
        ("uses=expiring", {"shop"}),
        ("uses=refused", set()),
        ("uses=refused&shown=archived", {"bank"}),
        ("uses=refused&shown=all", {"bank"}),
        ("shown=archived", {"bank"}),
        ("shown=all", {"shop", "social", "bank"}),
        ("archived=1", {"bank"}),
        ("category=" + quote(PD + "EmailAddress", safe=""), {"social"}),
        ("category=" + quote(PD + "Name", safe="") + "&q=friend", set()),
        ("q=shop&uses=withdrawn", set()),
    ],
)
def test_search_and_filters(three, client, query, expected):
    assert _found(client, query) == {three[name] for name in expected}


def test_no_match_says_so_and_offers_to_clear(three, client):
    page = _search(client, "q=nowhere").get_data(as_text=True)
    assert "No platform matches." in page and 'href="/platforms">Clear the search</a>' in page
    assert 'value="nowhere"' in page  # the query stays in the box


def test_what_is_typed_never_travels_in_a_url(three, client):
    """An identifier typed in the search is personal: a link with it searches nothing (an
    access log would hold it), and the form posts it (found by an operator's attack pass)."""
    page = client.get("/platforms?q=C-77123").get_data(as_text=True)
    assert set(re.findall(r'href="/platforms/([0-9a-f-]{36})"', page)) == {three["shop"], three["social"]}
    assert 'value="C-77123"' not in page
    assert re.search(r'<form method="post" action="/platforms" role="search"', page)


@pytest.mark.parametrize(
    "query", ["uses=everything", "shown=deleted", "category=" + quote("https://example.org/x#y"), "q=" + "x" * 201]
)
def test_a_bad_filter_says_so_and_filters_nothing(three, client, query):
    response = _search(client, query)
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True) or "longer than 200" in response.get_data(
        as_text=True
    )
    assert _found(client, query) == {three["shop"], three["social"]}


def test_search_never_shows_someone_else_s_platforms(three, person, app):
    person.logout()
    intruder = Auth(app.test_client())
    intruder.register(email="mallory@example.org")
    add_platform(intruder, name="Mallory's Shop")
    for query in ("", "q=shopwise", "q=C-77123", "shown=all", "uses=granted", "q=friendsphere"):
        found = _found(intruder.client, query)
        assert not found & set(three.values()), query
    assert "Shopwise" not in intruder.client.get("/platforms?shown=all").get_data(as_text=True)


def test_the_new_events_replay_to_the_projection_and_verify(person, client, app, tmp_path):
    from consent.ledger import bundle
    from consent.ledger.state import replay
    from consent.services import ledger

    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    person.post(f"/platforms/{platform_id}", {"index": all_events(app)[-1]["index"]}, action=f"/uses/{use_id}/undo")
    person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive")
    decide(person, use_id, "withdraw")  # on the archived platform
    person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/unarchive")
    recorded = all_events(app)
    kinds = [e["type"] for e in recorded if e["type"] != "records.sealed"]  # the account's own records
    assert kinds == [
        "platform.added",
        "use.granted",
        "use.withdrawn",
        "use.granted",
        "platform.archived",
        "use.withdrawn",
        "platform.unarchived",
    ]
    with app.app_context():
        s, login = db.session(), _login(app)
        assert replay(ledger.iter_events(s, login)) == ledger.projected_state(s, login)
        assert ledger.verify(s, login).ok
        key = ledger.verifier_key(login)
    export = client.get("/ledger/export.json")
    path = tmp_path / "ledger.json"
    path.write_bytes(export.data)
    export.close()
    with path.open("rb") as f:
        assert bundle.verify_bundle(f, expected_key=key).events == len(recorded)


def test_no_id_twice_on_a_platform_page_with_every_form(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", expires=NEXT_YEAR)
    add_use(person, platform_id, "ServiceProvision")
    decide(person, use_ids(app, platform_id)["Marketing"], "withdraw")  # an undo on offer
    for _ in range(2):
        ids = re.findall(r'\sid="([^"]+)"', page_of(client, platform_id))
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
        person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive")


def test_the_undo_notice_posts_the_undo(person, client, app):
    """templates/platforms/_undo_offer.html, for the page layout's notices (flash
    category "undo-offer", message "<use id> <event index>")."""
    from flask import render_template_string

    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    index = all_events(app)[-1]["index"]
    with app.test_request_context("/dashboard"):
        html = render_template_string(
            '{% with message = m %}{% include "platforms/_undo_offer.html" %}{% endwith %}', m=f"{use_id} {index}"
        )
    assert f'action="/uses/{use_id}/undo"' in html and f'name="index" value="{index}"' in html
    assert ">Undo the withdrawal</button>" in html and 'name="back_to" value="/dashboard"' in html
    person.post("/dashboard", {"index": index, "back_to": "/dashboard"}, action=f"/uses/{use_id}/undo")
    assert all_events(app)[-1]["data"]["undoes"] == index


def test_granting_again_states_its_own_end_instead_of_the_old_one(person, client, app):
    """A consent given again after a withdrawal is a new consent: it ends when the person
    says (here: never), not on the date the withdrawn one would have ended."""
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", expires=NEXT_YEAR)
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    decide(person, use_id, "grant")
    assert all_events(app)[-1]["type"] == "use.granted" and all_events(app)[-1]["data"]["expires"] is None
    with app.app_context():
        (use,) = platforms.get_platform(db.session(), _login(app), uuid.UUID(platform_id)).uses
        assert use.status == "granted" and use.expires is None
    assert "valid until" not in page_of(client, platform_id)
    later = (date.today() + timedelta(days=30)).isoformat()
    decide(person, use_id, "withdraw")
    decide(person, use_id, "grant", expires=later)
    assert all_events(app)[-1]["data"]["expires"] == later


def test_a_withdrawal_offers_its_undo_in_one_click_on_the_page_it_lands_on(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    landed = decide(person, use_id, "withdraw")
    assert landed.headers["Location"].endswith("/dashboard")
    index = all_events(app)[-1]["index"]
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'action="/uses/{use_id}/undo"' in page and f'name="index" value="{index}"' in page
    assert "Undo the withdrawal" in page
    assert "Undo the withdrawal" not in client.get("/dashboard").get_data(as_text=True)  # offered once


def test_no_undo_is_offered_for_a_withdrawal_on_an_archived_platform(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive")
    decide(person, use_id, "withdraw")
    assert all_events(app)[-1]["type"] == "use.withdrawn"
    assert "Undo the withdrawal" not in client.get("/dashboard").get_data(as_text=True)
