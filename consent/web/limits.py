"""Limits per client address, the browser's device mark, and the answers that say "wait".

The per-account rules (free attempts, then growing delays; the Argon2 ration) are the
services' (consent.services.attempts). Here, Flask-Limiter caps how many guesses one
client address may send at all, whatever account they aim at: one shared budget over
every page that checks a password, a recovery code or a second factor.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from consent.errors import Busy, TooManyAttempts
from consent.services import accounts

#: Every endpoint that checks a secret someone could guess. A new one belongs here;
#: tests/test_abuse.py fails for a page with a password field that is missing.
GUESSING = frozenset(
    {
        "auth.login",
        "auth.register",
        "auth.finish_registration",
        "auth.reset",
        "account.change_password",
        "account.new_recovery_code",
        "account.delete_account",
        "account.change_email",
        "auth.second_step",
        "account.add_totp",
        "account.add_passkey",
        "account.remove_factor",
        "account.export_archive",
        "account.import_archive",
    }
)

#: The cookie that tells a browser which has logged in to an account before from everyone
#: else (consent.keys.device_mark): attempts from it are counted apart.
DEVICE_COOKIE = "consent_device"
_DEVICE_MAX_AGE = timedelta(days=400)  # the longest a browser keeps a cookie


def device() -> str | None:
    value = request.cookies.get(DEVICE_COOKIE, "")
    return value if 0 < len(value) <= 100 else None


def remember_device(response: Response, mark: str) -> Response:
    response.set_cookie(
        DEVICE_COOKIE,
        mark,
        max_age=int(_DEVICE_MAX_AGE.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]) or request.is_secure,
    )
    return response


def known_device(response: Response, email: str) -> Response:
    """Mark this browser as one that logged in to ``email``: its attempts count apart."""
    from consent.web.logins import account_settings

    return remember_device(response, accounts.device_mark(account_settings(), email, device()))


def wait_a_moment(page: Response | tuple[str, int], wait: timedelta) -> Response:
    """``page`` answered 429 Too Many Requests, with Retry-After in whole seconds."""
    response = current_app.make_response(page)
    response.status_code = 429
    response.headers["Retry-After"] = str(max(1, math.ceil(wait.total_seconds())))
    return response


def wait_message(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds <= 90:
        return ngettext(
            "Too many attempts for this address. Wait %(num)d second and try again.",
            "Too many attempts for this address. Wait %(num)d seconds and try again.",
            seconds,
        )
    return ngettext(
        "Too many attempts for this address. Wait %(num)d minute and try again.",
        "Too many attempts for this address. Wait %(num)d minutes and try again.",
        math.ceil(seconds / 60),
    )


def _busy(error: Busy) -> Response:
    message = _("The server is busy checking other passwords. Try again in a moment.")
    return wait_a_moment((render_template("error.html", code=429, message=message), 429), error.retry_after)


def _too_many(error: TooManyAttempts) -> Response:
    # Pages that show the form again catch this themselves; any other says it on its own.
    return wait_a_moment((render_template("error.html", code=429, message=wait_message(error.retry_after)), 429), error.retry_after)


def _over_budget(_error: RateLimitExceeded) -> Response:
    current = current_app.extensions["consent.limiter"].current_limit
    wait = timedelta(seconds=current.reset_at - time.time()) if current else timedelta(minutes=1)
    message = _("Too many attempts from your network. Wait a little and try again.")
    return wait_a_moment((render_template("error.html", code=429, message=message), 429), wait)


def init_app(app: Flask) -> None:
    """Put the per-address limit on every GUESSING endpoint (after the blueprints are in)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "consent")
    # Flask-Limiter's own headers would put a Retry-After on every answer, even a 200.
    app.config["RATELIMIT_HEADERS_ENABLED"] = False
    limiter = Limiter(key_func=get_remote_address, app=app, default_limits=[])
    app.extensions["consent.limiter"] = limiter
    budget = limiter.shared_limit(app.config["GUESSES_PER_ADDRESS"], scope="guesses", methods=["POST"])
    for endpoint in GUESSING:
        app.view_functions[endpoint] = budget(app.view_functions[endpoint])  # type: ignore[assignment]
    app.register_error_handler(Busy, _busy)
    app.register_error_handler(TooManyAttempts, _too_many)
    app.register_error_handler(RateLimitExceeded, _over_budget)
