"""Register, log in, log out, and reset a forgotten password with the recovery code."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from consent.web.auth import routes, second_factor  # noqa: F401  (routes attach themselves to bp)
