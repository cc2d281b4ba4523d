from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from consent import db
from consent.guide import BY_KEY, SITUATIONS
from consent.services import guide
from consent.web.guide import bp

#: Each part of life in the person's words: what to tick, and why those companies.
QUESTIONS = {
    "everyone": (
        _l("Companies that hold data on almost everyone in your country"),
        _l("Credit agencies and address brokers collect data on people who never signed up with them."),
    ),
    "social": (_l("I use social networks or messaging apps"), _l("Social networks and messaging services.")),
    "shopping": (_l("I shop online"), _l("Online shops and marketplaces.")),
    "banking": (_l("I have a bank account, a card or a loan"), _l("Banks, payment services and lenders.")),
    "phone": (_l("I have a phone or internet contract"), _l("Phone and internet providers.")),
    "insurance": (_l("I have insurance"), _l("Insurers.")),
    "entertainment": (_l("I stream music, films or games"), _l("Streaming, games and media.")),
    "travel": (_l("I travel: flights, trains, hotels, car rental"), _l("Airlines, railways, travel agencies.")),
    "utilities": (_l("I pay for electricity, gas or water"), _l("Energy and water suppliers.")),
    "health": (_l("I use health or fitness services"), _l("Health and fitness services.")),
    "debt": (
        _l("A bill of mine was once passed on to a debt collector"),
        _l("Debt collection agencies."),
    ),
}


@bp.route("/platforms/guide", methods=["GET", "POST"])
@login_required
def show() -> Response | tuple[str, int]:
    """The questions; then (step "ask") the suggestions; then (step "add") the ticked ones
    added. Answers travel by POST only: which parts of life a person ticked (a debt
    collector, health services) must not land in a URL or an access log."""
    s, login = db.session(), current_user.login
    step = request.form.get("step") if request.method == "POST" else None
    chosen = [key for key in request.form.getlist("life") if key in BY_KEY]
    problem = None
    if step == "add":
        seen = {key.removeprefix("seen-"): value for key, value in request.form.items() if key.startswith("seen-")}
        try:
            added = guide.add(s, login, request.form.getlist("slug"), seen)
        except guide.DirectoryChanged:
            problem = _("The directory changed since this page showed it: check the details below again.")
        else:
            if added:
                flash(ngettext("%(num)d platform added.", "%(num)d platforms added.", added), "success")
                return redirect(url_for("platforms.index"))
            problem = _("Tick at least one company that is not in your list yet.")
    page = render_template(
        "guide.html",
        situations=SITUATIONS,
        questions=QUESTIONS,
        chosen=chosen,
        found=guide.for_person(s, login, chosen) if step else None,
        problem=problem,
    )
    return page, 400 if problem else 200
