"""What every request checks about second factors (consent.services.factors): a pending
login opens only the second step; an instance that requires a factor sends a person
without one to set it up; sensitive changes ask for a recently confirmed factor."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from consent import db
from consent.services import factors

View = TypeVar("View", bound=Callable[..., Any])

#: What a pending login may reach: the second step, logging out, the language, the stylesheet.
_WHILE_PENDING = frozenset({"auth.second_step", "auth.logout", "static", "main.language"})
#: What a person without the factor an instance requires may reach, besides those.
_WHILE_UNPROTECTED = _WHILE_PENDING | {"account.security", "account.add_totp", "account.add_passkey", "main.language"}


def _guard() -> Response | None:
    if not current_user.is_authenticated or request.endpoint is None:
        return None
    if current_user.login.pending:
        if request.endpoint in _WHILE_PENDING:
            return None
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.second_step", next=target))
    if (
        current_app.config["REQUIRE_SECOND_FACTOR"]
        and request.endpoint not in _WHILE_UNPROTECTED
        and not factors.has_factor(db.session(), current_user.login)
    ):
        flash(_("This server asks everyone to set up a second factor before going on."), "info")
        return redirect(url_for("account.security"))
    return None


def fresh_factor_required(back_to: str | None = None) -> Callable[[View], View]:
    """For a sensitive change: a person with a second factor confirms it (again, if the last
    time was more than ten minutes ago) before the view runs (put it under login_required).

    Then the confirmation leads back to where they were: the same address for a GET (a
    link from a mail included), and for a POST, which a redirect cannot replay, the page
    of the form: the endpoint ``back_to``, or the same path when it is None."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not factors.recently_confirmed(db.session(), current_user.login):
                if request.method == "GET":
                    target = request.full_path.rstrip("?")
                else:
                    target = url_for(back_to) if back_to else request.path
                flash(_("Confirm it is you with your second factor, then try again."), "info")
                return redirect(url_for("auth.second_step", next=target))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str) -> str:
    """A few words a person recognises ("Firefox on Linux"). Written here rather than with
    a parsing library: the logins page needs the browser's family and the system, no more."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    words = re.sub(r"[^\w./ -]", "", user_agent)[:40].strip()
    return browser or system or words or _("Unknown device")


def relying_party() -> factors.RelyingParty | None:
    """Who passkeys made here are for: the configured public_url, else this request's
    address. None at an IP address, which browsers refuse for passkeys."""
    base = urlsplit(str(current_app.config["PUBLIC_URL"]) or request.host_url)
    host = base.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return factors.RelyingParty(host, f"{base.scheme}://{base.netloc}") if host else None
    return None


def init_app(app: Flask) -> None:
    app.before_request(_guard)
