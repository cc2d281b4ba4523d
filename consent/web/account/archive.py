"""Taking the whole account away, and bringing one here (issue 12: being built)."""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from consent.web.account import bp


@bp.get("/account/archive")
@login_required
def archive() -> str:
    return render_template("account/archive.html")
