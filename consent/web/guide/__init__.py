"""The guide "which companies probably hold my data"."""

from flask import Blueprint

bp = Blueprint("guide", __name__)

from consent.web.guide import routes  # noqa: F401  (routes attach themselves to bp)
