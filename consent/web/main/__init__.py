"""The landing page, the dashboard and the language switch."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from consent.web.main import routes  # noqa: F401  (routes attach themselves to bp)
