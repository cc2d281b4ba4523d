"""The web layer: thin blueprints over the services, plus what every response needs."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from consent.config import LANGUAGE_NAMES
from consent.directory.search import domain
from consent.extensions import babel, csrf, login_manager
from consent.web import times
from consent.web.countries import country_name
from consent.web.decisions import (
    category_label,
    event_label,
    letter_label,
    request_status_label,
    status_label,
    use_label,
)


class _SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Pages and downloads are personal: no shared cache or back-button cache may keep
    # them (send_file sets its own Cache-Control first, so this one replaces it).
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    return response


def _refuse_nul() -> None:
    """A NUL byte is in no name, address or search a person types, and PostgreSQL refuses
    it in text: a request that carries one, anywhere, is refused before any view runs."""
    values = [*request.args.values(), *request.form.values(), *(f.filename or "" for f in request.files.values())]
    if any("\x00" in value for value in values) or "\x00" in request.path:
        abort(400)


def init_app(app: Flask) -> None:
    from consent.web import (
        account,
        auth,
        errors,
        guide,
        ledger,
        limits,
        logins,
        main,
        platforms,
        requests,
        second_factor,
    )

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    babel.init_app(app, locale_selector=logins.select_language, timezone_selector=times.select_time_zone)
    logins.init_app(app, login_manager)
    errors.init_app(app)
    app.before_request(_refuse_nul)
    second_factor.init_app(app)
    app.after_request(_security_headers)
    app.jinja_env.add_extension("jinja2.ext.do")
    times.init_app(app)  # the filters "when" and "isodate", in the person's time zone
    app.jinja_env.filters["domain"] = domain
    app.jinja_env.filters["country"] = country_name
    app.jinja_env.globals.update(
        status_label=status_label,
        event_label=event_label,
        use_label=use_label,
        category_label=category_label,
        letter_label=letter_label,
        request_status_label=request_status_label,
    )
    app.context_processor(lambda: {"current_language": str(get_locale()), "language_names": LANGUAGE_NAMES})
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(platforms.bp)
    app.register_blueprint(guide.bp)
    app.register_blueprint(ledger.bp)
    app.register_blueprint(requests.bp)
    limits.init_app(app)  # last: it wraps the views of every blueprint
