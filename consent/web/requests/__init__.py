"""Letters to platforms and authorities, and the requests they start."""

from flask import Blueprint

bp = Blueprint("requests", __name__)

from consent.web.requests import routes  # noqa: F401  (routes attach themselves to bp)
