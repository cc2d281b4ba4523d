"""Abuse resistance (issue 9): guesses slowed per account and per client address, never a
lock an attacker can put on the owner; Argon2 work rationed; every guessing page limited."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consent import create_app, db, keys, migrate
from consent.errors import Busy, InvalidCredentials, TooManyAttempts
from consent.services import accounts, attempts
from consent.web.limits import GUESSING
from tests.conftest import NEW_PASSWORD, PASSWORD, Auth, count_rows, test_settings

REDIS_URL = os.environ.get("CONSENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _settings(app) -> accounts.AccountSettings:  # type: ignore[no-untyped-def]
    return app.extensions["consent.accounts"]


def _register(app, email: str = "ada@example.org") -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        accounts.register(db.session(), _settings(app), email=email, password=PASSWORD)


def _from(app, address: str) -> Auth:  # type: ignore[no-untyped-def]
    """A browser at another client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Auth(client)


# --- the delays ------------------------------------------------------------------------


def test_the_free_attempts_are_followed_by_doubling_delays_up_to_the_window():
    limits = attempts.Limits(free=10, window=timedelta(minutes=15))
    delays = [attempts.delay_after(n, limits).total_seconds() for n in (0, 9, 10, 11, 12, 13, 19, 20, 200)]
    assert delays == [0, 0, 1, 2, 4, 8, 512, 900, 900]


def test_each_attempt_after_the_free_ones_waits_twice_as_long_as_the_one_before(app):
    _register(app)
    t0 = datetime.now(UTC)

    def guess(at: datetime) -> str:
        with app.app_context():
            try:
                accounts.log_in(db.session(), _settings(app), email="ada@example.org", password="wrong guess", now=at)
            except InvalidCredentials:
                return "checked"
            except TooManyAttempts as e:
                return f"wait {e.retry_after.total_seconds():g}"
        return "logged in"

    assert [guess(t0) for _ in range(10)] == ["checked"] * 10
    second = timedelta(seconds=1)
    assert guess(t0) == "wait 1"
    assert guess(t0 + second) == "checked"  # 11th, 1 s after the 10th
    assert guess(t0 + 2 * second) == "wait 1"  # the 12th waits 2 s after the 11th
    assert guess(t0 + 3 * second) == "checked"
    assert guess(t0 + 6 * second) == "wait 1"  # the 13th waits 4 s
    assert guess(t0 + 7 * second) == "checked"
    # Knocking while waiting does not make the wait longer: refused attempts leave no row.
    assert count_rows(app)["failed_attempts"] == 13


def test_forty_parallel_wrong_log_ins_cannot_pass_the_limit(app):
    _register(app)
    settings = dataclasses.replace(_settings(app), argon2_slots=40)  # the limit under test is the count
    start = threading.Barrier(40)
    outcomes: list[str] = []

    def guess() -> None:
        with app.app_context():
            start.wait()
            try:
                accounts.log_in(db.session(), settings, email="ada@example.org", password="wrong guess")
            except InvalidCredentials:
                outcomes.append("checked")
            except TooManyAttempts:
                outcomes.append("slowed")

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 40
    checked = outcomes.count("checked")
    print(f"\n40 parallel wrong log-ins: {checked} checked, {40 - checked} slowed (limit {settings.max_failures})")
    assert 1 <= checked <= settings.max_failures
    assert count_rows(app)["failed_attempts"] == checked


# --- the owner is never locked out -----------------------------------------------------


def test_an_attacker_who_is_slowed_down_never_slows_the_owner(app):
    owner = Auth(app.test_client())
    owner.register()
    owner.logout()
    attacker = _from(app, "203.0.113.9")
    answers = [attacker.login(password=f"guess number {n}").status_code for n in range(18)]
    assert answers[:10] == [400] * 10 and set(answers[10:]) <= {400, 429} and 429 in answers
    # The owner's browser logged in to this address before: its attempts count apart.
    assert owner.login(password="my own typo here").status_code == 400
    assert owner.login().status_code == 302
    # And the attacker is still slowed: the owner's success forgave the owner's browser only.
    assert attacker.login(password="one more guess").status_code == 429


def test_a_device_mark_works_for_its_own_address_and_browser_only():
    key = secrets.token_bytes(32)
    device = keys.new_device_id()
    mark = keys.device_mark(device, "Ada@Example.org", key)
    assert keys.device_of(mark, "ada@example.org ", key) == device
    assert keys.device_of(mark, "grace@example.org", key) is None
    assert keys.device_of(mark, "ada@example.org", secrets.token_bytes(32)) is None
    tampered = ("A" if mark[0] != "A" else "B") + mark[1:]
    for bad in (tampered, mark[:-2], "", "é" * 10, "not base64 at all!!", "=" * 40):
        assert keys.device_of(bad, "ada@example.org", key) is None


def test_a_browser_that_logged_in_to_another_address_is_a_stranger_here(app):
    owner = Auth(app.test_client())
    owner.register()
    grace = Auth(app.test_client())
    grace.register(email="grace@example.org")
    grace.logout()
    for n in range(10):
        assert grace.login(password=f"guess number {n}").status_code == 400  # at ada's address
    assert grace.login().status_code == 429  # counted with the strangers, not as ada's browser


# --- re-authentication -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "prefix", "fields"),
    [
        ("/settings/password", "password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        ("/settings/recovery-code", "recovery", {}),
        ("/settings/delete", "delete", {"understood": "y"}),
    ],
)
def test_re_entering_the_password_is_limited_per_login(app, action, prefix, fields):
    thief = Auth(app.test_client())  # holds a stolen cookie of a login
    thief.register()
    owner = Auth(app.test_client())
    owner.login()
    before = count_rows(app)

    def confirm(who: Auth, password: str):  # type: ignore[no-untyped-def]
        data = {f"{prefix}-current": password, **{f"{prefix}-{k}": v for k, v in fields.items()}}
        return who.post("/settings", data, action=action, prefix=prefix)

    assert [confirm(thief, f"guess number {n}").status_code for n in range(10)] == [400] * 10
    slowed = confirm(thief, PASSWORD)
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"
    assert "Too many attempts" in slowed.get_data(as_text=True)
    # The owner's own login is not slowed by the thief's guesses.
    assert confirm(owner, "owner's typo here").status_code == 400
    after = count_rows(app)
    assert after.pop("failed_attempts") == 11
    before.pop("failed_attempts")
    assert after == before  # nothing changed: same account, same logins


# --- Argon2 is rationed ----------------------------------------------------------------


def test_argon2_work_runs_at_most_the_configured_number_at_once(app, monkeypatch):
    _register(app)
    running = 0
    most = 0
    lock = threading.Lock()
    real = accounts.passwords.verify_password

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)
            return real(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(accounts.passwords, "verify_password", counted)
    settings = dataclasses.replace(_settings(app), argon2_slots=2, max_failures=100)
    start = threading.Barrier(12)

    def log_in(n: int) -> None:
        with app.app_context():
            start.wait()
            try:
                accounts.log_in(db.session(), settings, email=f"nobody{n}@example.org", password="x")
            except (InvalidCredentials, Busy):
                pass

    threads = [threading.Thread(target=log_in, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 2


def test_a_log_in_that_finds_no_free_argon2_slot_is_answered_429_with_retry_after(database_url):
    app = create_app(test_settings(database_url, ARGON2_MAX_CONCURRENT=1))
    with app.app_context():
        migrate.upgrade(db.engine())
    owner = Auth(app.test_client())
    owner.register()
    owner.logout()
    before = count_rows(app)
    with attempts.argon2_slot(_settings(app).limits):  # another request holds the only slot
        busy = owner.login()
    assert busy.status_code == 429
    assert busy.headers["Retry-After"] == "1"
    assert "The server is busy checking other passwords." in busy.get_data(as_text=True)
    assert count_rows(app) == before  # no login, and the attempt was taken back
    assert owner.login().status_code == 302
    with app.app_context():
        db.engine().dispose()


_SERVER = """
import sys
from werkzeug.serving import make_server
from consent import create_app, db, migrate
app = create_app({
    "SECRET_KEY": "s" * 64, "EMAIL_LOOKUP_KEY": "e" * 64, "DATABASE_URL": sys.argv[1],
    "WTF_CSRF_ENABLED": False, "GUESSES_PER_ADDRESS": "10000 per minute",
})  # Argon2 at the shipped cost: 64 MiB per computation
with app.app_context():
    migrate.upgrade(db.engine())
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def _peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match, "no VmHWM in /proc: this test needs Linux"
    return int(match.group(1)) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from Linux's /proc")
def test_twenty_four_parallel_log_ins_to_unknown_addresses_stay_under_a_memory_ceiling(database_url):
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, database_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the request log
        text=True,
        cwd=Path(__file__).parents[1],
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(base + "/login").read()  # noqa: S310 (our own http server) warm up
        idle = _peak_rss_mib(server.pid)
        start = threading.Barrier(24)
        statuses: list[int] = []

        def log_in(n: int) -> None:
            body = urllib.parse.urlencode({"email": f"nobody{n}@example.org", "password": "a guess"}).encode()
            start.wait()
            try:
                with urllib.request.urlopen(base + "/login", data=body, timeout=60) as response:  # noqa: S310
                    statuses.append(response.status)
            except urllib.error.HTTPError as e:
                statuses.append(e.code)

        threads = [threading.Thread(target=log_in, args=(n,)) for n in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        peak = _peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    print(f"\n24 parallel log-ins: peak RSS {peak:.0f} MiB (idle {idle:.0f} MiB); answers {sorted(statuses)}")
    assert len(statuses) == 24 and set(statuses) <= {400, 429}
    # Two slots of 64 MiB each, plus the process: far below the 953 MiB seen without a cap.
    assert peak - idle < 2 * 64 + 96


# --- the budget per client address -----------------------------------------------------


def _app(database_url: str, **overrides):  # type: ignore[no-untyped-def]
    app = create_app(test_settings(database_url, **overrides))
    with app.app_context():
        migrate.upgrade(db.engine())
    return app


def test_one_client_address_has_one_budget_of_guesses_over_every_guessing_page(database_url):
    app = _app(database_url, GUESSES_PER_ADDRESS="5 per minute")
    client = Auth(app.test_client())
    for n in range(3):
        assert client.login(email=f"someone{n}@example.org").status_code == 400
    wrong = "0000-0000-0000-0000-0000-0000-0000-0000"
    reset = {"email": "ada@example.org", "recovery_code": wrong, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/reset", reset).status_code == 400
    newcomer = Auth(app.test_client())  # another browser at the same address
    assert newcomer.register(email="new@example.org").status_code == 200  # the 5th guess: allowed
    before = count_rows(app)
    refused = client.login()
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61  # the rest of the minute, rounded up
    assert "Too many attempts from your network." in refused.get_data(as_text=True)
    assert client.post("/reset", reset).status_code == 429
    assert count_rows(app) == before
    assert client.client.get("/login").status_code == 200  # reading a page is no guess
    other = _from(app, "192.0.2.7")
    assert other.login(email="someone@example.org").status_code == 400  # another address has its own
    with app.app_context():
        db.engine().dispose()


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as e:
        message = f"Redis at {REDIS_URL} does not answer ({type(e).__name__}): the shared-limit test needs it"
        if os.environ.get("CONSENT_REQUIRE_REDIS"):
            pytest.fail(message + " (CONSENT_REQUIRE_REDIS is set, as in CI)")
        pytest.skip(message)


def test_with_redis_every_worker_shares_one_budget(database_url):
    _redis_or_skip()
    prefix = f"consent-test-{secrets.token_hex(6)}"
    shared = {"GUESSES_PER_ADDRESS": "4 per minute", "REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    first, second = _app(database_url, **shared), _app(database_url, **shared)  # two workers
    assert first.extensions["consent.limiter"]._storage.__class__.__name__ == "RedisStorage"
    one, two = Auth(first.test_client()), Auth(second.test_client())
    assert [one.login(email=f"x{n}@example.org").status_code for n in range(2)] == [400, 400]
    assert [two.login(email=f"y{n}@example.org").status_code for n in range(2)] == [400, 400]
    assert one.login().status_code == 429
    assert two.login().status_code == 429
    for app in (first, second):
        with app.app_context():
            db.engine().dispose()


# --- every guessing page is limited ----------------------------------------------------

_FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
_ACTION = re.compile(r'action="([^"]*)"')
_SECRET_INPUT = re.compile(r'type="password"|autocomplete="one-time-code"')


def test_every_form_that_takes_a_password_or_code_posts_to_a_limited_endpoint(app, client):
    anonymous = {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and not rule.arguments}
    pages: dict[str, str] = {}
    for path in sorted(anonymous):
        if path.startswith("/static"):
            continue
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html":
            pages[f"anonymous {path}"] = response.get_data(as_text=True)
    Auth(client).register()
    for path in sorted(anonymous):
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html":
            pages[f"logged in {path}"] = response.get_data(as_text=True)
    adapter = app.url_map.bind("localhost")
    found = set()
    for where, html in pages.items():
        for form in _FORM.findall(html):
            if not _SECRET_INPUT.search(form):
                continue
            action = _ACTION.search(form)
            path = urllib.parse.urlsplit(action.group(1) if action and action.group(1) else where.split()[-1]).path
            endpoint, _ = adapter.match(path, method="POST")
            assert endpoint in GUESSING, f"{where}: the form posting to {path} takes a secret but {endpoint} is not limited"
            found.add(endpoint)
    assert {"auth.login", "auth.register", "auth.reset", "account.change_password"} <= found
