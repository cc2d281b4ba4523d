"""The app factory: settings, then the database, then the web layer, then the command line."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from consent import cli, config, db, web
from consent.resources import resource_dir


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The app. Tests pass ``test_config``; otherwise settings come from file and environment."""
    instance_path = Path(os.environ.get("CONSENT_INSTANCE", "instance")).resolve()
    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        instance_path=str(instance_path),
        instance_relative_config=True,
    )
    settings = config.load(instance_path, test_config)
    app.config.update(settings)
    app.config.update(
        SESSION_COOKIE_NAME="consent_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config["LOGIN_LIFETIME_HOURS"]),
        BABEL_DEFAULT_LOCALE=app.config["DEFAULT_LANGUAGE"],
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session it belongs to
    )
    db.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
