"""The person's ledger: timeline, what stood on a date, verification, export, receipts."""

from flask import Blueprint

bp = Blueprint("ledger", __name__)

from consent.web.ledger import (
    freshness,  # noqa: F401  (so does the browser's checkpoint check)
    routes,  # noqa: F401  (routes attach themselves to bp)
)
