"""Flask-Login on top of server-side logins (consent.services.accounts).

The only thing in the cookie is the login's token: Flask-Login's user id *is* that token,
so ending the login row in the database ends the cookie with it.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user

from consent import db
from consent.config import LANGUAGES
from consent.keys import Argon2Params
from consent.services import accounts, factors
from consent.vault import Vault


class CurrentUser(UserMixin):
    """The person behind this request, with the data key their login unlocked."""

    def __init__(self, login: accounts.ActiveLogin) -> None:
        self.login = login

    def get_id(self) -> str:
        return self.login.token

    @property
    def vault(self) -> Vault:
        return self.login.vault

    @property
    def email(self) -> str:
        return self.vault.read(self.login.user, "email") or ""


def account_settings() -> accounts.AccountSettings:
    return current_app.extensions["consent.accounts"]


def start_login(login: accounts.ActiveLogin) -> None:
    """Bind a new login to this browser, in a fresh session (against session fixation)."""
    kept = {name: session[name] for name in ("language", "time_zone") if session.get(name)}
    session.clear()
    # Flask-WTF keeps this request's CSRF token in g: dropped with the old session, so the
    # page drawn right after login carries a token of the new one (else "form expired").
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    session.permanent = True
    session.update(kept)  # the browser's own settings, chosen before logging in
    login_user(CurrentUser(login))
    from consent.web.second_factor import describe_device

    factors.note_device(db.session(), login, describe_device(request.user_agent.string))


def _load(token: str) -> CurrentUser | None:
    login = accounts.resume(db.session(), account_settings(), token)
    return None if login is None else CurrentUser(login)


def select_language() -> str:
    if not has_request_context():
        return str(current_app.config["DEFAULT_LANGUAGE"])
    # A pending login (the password without its second factor yet) is not yet the person:
    # it neither reads nor sets the account's language, only this browser's.
    if (
        current_user.is_authenticated
        and not current_user.login.pending
        and current_user.login.user.language in LANGUAGES
    ):
        return str(current_user.login.user.language)
    if session.get("language") in LANGUAGES:
        return str(session["language"])
    return request.accept_languages.best_match(LANGUAGES) or str(current_app.config["DEFAULT_LANGUAGE"])


def init_app(app: Flask, manager: LoginManager) -> None:
    app.extensions["consent.accounts"] = accounts.AccountSettings(
        argon2=Argon2Params(
            app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_KIB"], app.config["ARGON2_PARALLELISM"]
        ),
        email_lookup_key=app.config["EMAIL_LOOKUP_KEY"].encode(),
        login_idle=timedelta(minutes=app.config["LOGIN_IDLE_MINUTES"]),
        login_lifetime=timedelta(hours=app.config["LOGIN_LIFETIME_HOURS"]),
        max_failures=app.config["LOGIN_MAX_FAILURES"],
        failure_window=timedelta(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"]),
        argon2_slots=app.config["ARGON2_MAX_CONCURRENT"],
    )
    manager.init_app(app)
    manager.user_loader(_load)
    manager.login_view = "auth.login"
    manager.login_message = _l("Please log in to see this page.")
    manager.login_message_category = "info"
    # Logins are checked against the database on every request; Flask-Login's own
    # guess from the IP address would only log people out when their network changes.
    manager.session_protection = None
