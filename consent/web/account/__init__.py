"""The person's profile (the identity used in letters) and their account settings."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from consent.web.account import archive, email, routes, security  # noqa: F401  (routes attach themselves to bp)
