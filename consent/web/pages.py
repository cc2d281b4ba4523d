"""Page helpers several blueprints share."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template, url_for


def form_page(template: str, **context: object) -> tuple[str, int]:
    """A page with forms: 400 when any of them was sent back with errors."""
    failed = any(getattr(value, "errors", None) for value in context.values())
    return render_template(template, **context), (400 if failed else 200)


def safe_next(target: str | None) -> str:
    """Only a path on this site: an address elsewhere would make the login form a trap."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()  # no CR/LF (a header split) nor other control characters
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.dashboard")


def public_url_for(endpoint: str, **values: Any) -> str:
    """An address for a mail: from the configured public_url, never from the Host header
    of the request, which a client chooses (a forged one would send a link elsewhere)."""
    return str(current_app.config["PUBLIC_URL"]).rstrip("/") + url_for(endpoint, **values)
