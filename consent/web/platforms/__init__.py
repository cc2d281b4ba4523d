"""Platforms (the companies that hold the person's data) and the decisions on each use."""

from flask import Blueprint

bp = Blueprint("platforms", __name__)

from consent.web.platforms import routes  # noqa: F401  (routes attach themselves to bp)
