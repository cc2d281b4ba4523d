"""A hypothesis-driven fuzz of the forms (issue 9): 2,000 requests a run, on each
database, with generated values in the fields every form of the app has; none may give a
server error, a refused one may write nothing, and the ledger checks out at the end.

Derandomized: the same requests every run, so CI never flakes; the strategies still mix
text of every script and control character, huge and empty values, numbers, dates out of
range and choices that are not on the list."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_routes_generated import World, _field_names

REQUESTS = 2000

#: The forms a person fills in, with the path each posts to (ids from the World).
FORMS = [
    "/profile",
    "/platforms/new",
    "/platforms/{platform_id}/edit",
    "/platforms/{platform_id}/uses",
    "/platforms/{platform_id}/letter",
    "/uses/{use_id}/withdraw",
    "/uses/{use_id}/renew",
    "/requests/{request_id}/update",
    "/requests/{request_id}/sent",
    "/requests/several",
    "/platforms/bulk",
    "/directory/suggest",
    "/ledger/verify",
    "/settings/calendar",
    "/settings/email",
    "/settings/security/totp",
    "/login/second-step",
]

values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300),
    st.sampled_from(["\u202e", "\u2066", "\r\n", "\t", "\x7f", "\x85", "\u200b", "\ufeff"]).map(lambda c: f"a{c}b"),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates(min_value=__import__("datetime").date(1, 1, 1)).map(lambda d: d.isoformat()),
    st.sampled_from(["", "y", "on", "grant", "withdraw", "access", "fr", "zz", "post", "email", "closed", "x" * 5000]),
)


def test_two_thousand_generated_form_posts_give_no_server_error_and_no_partial_write(app):
    world = World(app)
    fields = sorted(_field_names(app))
    token = World.token(world.ada, "/settings")
    targets = [form.format(**world.values()) for form in FORMS]
    seen = {"requests": 0, "refused": 0, "accepted": 0}
    started = time.perf_counter()

    @settings(
        max_examples=REQUESTS,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        target=st.sampled_from(targets),
        data=st.dictionaries(st.sampled_from(fields), values, max_size=8),
    )
    def post(target: str, data: dict[str, str]) -> None:
        before = world.snapshot()
        response = world.ada.client.post(target, data={**data, "csrf_token": token})
        response.close()
        seen["requests"] += 1
        assert response.status_code < 500, f"POST {target} {data!r}: {response.status_code}"
        if response.status_code >= 400:
            seen["refused"] += 1
            assert world.snapshot() == before, f"POST {target} {data!r} was refused, yet wrote"
        else:
            seen["accepted"] += 1

    post()
    elapsed = time.perf_counter() - started
    print(f"\nfuzz: {seen['requests']} requests in {elapsed:.1f} s ({seen['refused']} refused, {seen['accepted']} accepted)")
    assert seen["requests"] == REQUESTS
    assert world.ada.client.get("/ledger").status_code == 200  # no alarm: every accepted change was sealed
