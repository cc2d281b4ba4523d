"""`consent demo`: an account with a realistic year of history, to look around at once.

The person is fictional (Lena Hoffmann, living in Berlin), and so are the platforms, each
standing for a well-known kind of company. Everything goes through the services, so the
ledger vouches for it all, and every date is counted back from today: the request that is
overdue stays overdue whenever the demo is made.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from consent import places
from consent.directory import authorities
from consent.ledger import events
from consent.letters import Identity, LedgerReference, LetterRequest, Original, Party
from consent.services import accounts, ledger, platforms, profiles, requests
from consent.services.accounts import AccountSettings, ActiveLogin
from consent.services.platforms import Identifier
from consent.vocabulary import DPV, GDPR, PD

_WORDS = ("amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel")

#: The person's profile: what every letter needs, in a real town with a real postal code
#: (Berlin-Mitte, so German holidays count and a complaint goes to Berlin's authority).
PROFILE = {
    "full_name": "Lena Hoffmann",
    "postal_address": "Torstraße 112\n10119 Berlin",
    "correspondence_email": "lena.hoffmann@example.org",
    "date_of_birth": "1988-04-17",
    "phone": "+49 30 5550 1234",
    "country": "DE",
    "authority": "",
}

_Use = tuple[str, str, bool, int | None]
#: (name, website, postal address, country, categories, [(purpose, label, granted, expires in days or None)])
PLATFORMS: list[tuple[str, str, str, str, list[str], list[_Use]]] = [
    (
        "Shopwise Online",
        "shopwise.example",
        "Friedrichstraße 68\n10117 Berlin\nGermany",
        "DE",
        ["Name", "Address", "PurchasesAndSpendingHabit"],
        [
            ("ServiceProvision", "Delivering my orders", True, None),
            ("DirectMarketing", "Newsletter with offers", True, None),
            ("PersonalisedAdvertising", "Ads based on my purchases", False, None),
        ],
    ),
    (
        "FriendSphere",
        "friendsphere.example",
        "1 Grand Canal Square\nDublin 2\nD02 P820\nIreland",
        "IE",
        ["Name", "Picture", "Location", "Interest"],
        [
            ("ServiceProvision", "Running my profile", True, None),
            ("PersonalisedAdvertising", "Personalised ads", True, None),
            ("SellDataToThirdParties", "Sharing my data with partners", False, None),
        ],
    ),
    (
        "StreamBox",
        "streambox.example",
        "Herengracht 420\n1017 BZ Amsterdam\nNetherlands",
        "NL",
        ["EmailAddress", "BrowsingBehavior"],
        [
            ("ProvidePersonalisedRecommendations", "Recommendations", True, None),
            ("ServiceUsageAnalytics", "Viewing statistics", True, None),
        ],
    ),
    (
        "Northbank",
        "northbank.example",
        "8 rue de la Banque\n75002 Paris\nFrance",
        "FR",
        ["Name", "BankAccount", "Financial", "OfficialID"],
        [
            ("ServiceProvision", "Keeping my account", True, None),
            ("Marketing", "Offers for loans and insurance", False, None),
        ],
    ),
    (
        "Telora Mobile",
        "telora.example",
        "40 quai de Dion-Bouton\n92800 Puteaux\nFrance",
        "FR",
        ["Name", "TelephoneNumber", "Location"],
        [
            ("ServiceProvision", "Phone service", True, None),
            ("SellInsightsFromData", "Selling location insights", False, None),
            ("DirectMarketing", "Text messages with offers", True, None),
        ],
    ),
    (
        "FreshMart loyalty card",
        "freshmart.example",
        "15 rue du Commerce\n69002 Lyon\nFrance",
        "FR",
        ["Name", "PurchasesAndSpendingHabit"],
        [
            ("PersonalisedAdvertising", "Coupons based on my basket", True, 200),
            ("ServiceUsageAnalytics", "Shopping statistics", True, None),
        ],
    ),
    (
        "Daily Courier",
        "dailycourier.example",
        "10 Fleet Street\nLondon EC4Y 1AA\nUnited Kingdom",
        "GB",
        ["EmailAddress", "BrowsingBehavior"],
        [
            ("ServiceProvision", "Digital subscription", True, None),
            ("TargetedAdvertising", "Targeted ads on articles", True, None),
        ],
    ),
    (
        "PulseFit",
        "pulsefit.example",
        "Kungsgatan 30\n111 35 Stockholm\nSweden",
        "SE",
        ["Health", "Location", "DateOfBirth"],
        [
            ("ServiceProvision", "Tracking my workouts", True, None),
            ("ResearchAndDevelopment", "Improving their algorithms", True, None),
            ("SellDataToThirdParties", "Selling health data to insurers", False, None),
        ],
    ),
    (
        "SkyHop Airlines",
        "skyhop.example",
        "Calle de Alcalá 50\n28014 Madrid\nSpain",
        "ES",
        ["Name", "OfficialID", "DateOfBirth"],
        [
            ("ServiceProvision", "Booking my flights", True, None),
            ("DirectMarketing", "Travel offers", True, None),
        ],
    ),
    (
        "Voltwise Energy",
        "voltwise.example",
        "Lindenstraße 20\n50674 Köln\nGermany",
        "DE",
        ["Name", "Address", "BankAccount"],
        [
            ("ServiceProvision", "Supplying electricity", True, None),
            ("ServiceUsageAnalytics", "Smart-meter analysis", True, 120),
        ],
    ),
    (
        "Quizly",
        "quizly.example",
        "Rue de la Loi 10\n1000 Bruxelles\nBelgium",
        "BE",
        ["EmailAddress", "Interest"],
        [
            ("ServiceProvision", "My game account", True, None),
            ("PersonalisedAdvertising", "Ads between games", False, None),
        ],
    ),
]
#: A platform the person stopped using, archived a few weeks after it was added.
ARCHIVED = "Quizly"


#: What the person knows the platforms by (kept in the platform's private notes).
IDENTIFIERS = {"Shopwise Online": [Identifier("Customer number", "SW-4481-2290")]}


def create_demo(
    s: Session, settings: AccountSettings, *, now: datetime | None = None, verify_url: str = ""
) -> tuple[str, str]:
    """Create the demo account; returns its e-mail and password. ``verify_url`` is the
    public page a letter citing the ledger points to (empty: the letter names none)."""
    now = now or datetime.now(UTC)
    email = f"demo-{secrets.token_hex(4)}@example.org"
    # Six words and a number: four could repeat a word and fall short of the password policy.
    password = "-".join(secrets.choice(_WORDS) for _ in range(6)) + f"-{secrets.randbelow(10_000)}"
    start = now - timedelta(days=400)
    login = accounts.register(s, settings, email=email, password=password, now=start).login
    ids, second_thoughts = _platforms(s, login, start)
    _requests(s, login, ids, second_thoughts, now, verify_url)
    platforms.record_expiries(s, login, now=now)
    # The profile and a draft are records without a decision: they are sealed by an event
    # of today, so they come last, after the backdated history.
    profiles.update_profile(s, login, dict(PROFILE))
    requests.save_draft(
        s,
        login,
        ids["PulseFit"],
        _letter("PulseFit", "erasure", "en", now.date()),
        channel="email",
        now=now,
    )
    accounts.log_out(s, login.token)
    return email, password


def _platforms(s: Session, login: ActiveLogin, start: datetime) -> tuple[dict[str, uuid.UUID], list[uuid.UUID]]:
    """Eleven platforms added over the first half of the year, their uses granted or
    refused, one archived since.
    Returns the platforms' ids by name, and the marketing uses the person will withdraw."""
    ids: dict[str, uuid.UUID] = {}
    second_thoughts = []
    for n, (name, site, address, country, categories, uses) in enumerate(PLATFORMS):
        moment = start + timedelta(days=3 + n * 21, hours=n)
        ids[name] = platforms.add_platform(
            s,
            login,
            {
                "name": name,
                "website": f"https://{site}",
                "email": f"privacy@{site}",
                "address": address,
                "country": country,
                "categories": [PD + c for c in categories],
            },
            identifiers=IDENTIFIERS.get(name, ()),
            notes="Demo data",
            now=moment,
        )
        for m, (purpose, label, granted, expires_in) in enumerate(uses):
            moment += timedelta(hours=2 + m)
            expires = (moment.date() + timedelta(days=expires_in)).isoformat() if expires_in else None
            use_id = platforms.new_use(
                s,
                login,
                ids[name],
                granted=granted,
                use={
                    "purpose": DPV + purpose,
                    "label": label,
                    "legal_basis": GDPR + ("A6-1-b" if purpose == "ServiceProvision" else "A6-1-a"),
                    "expires": expires,
                },
                now=moment,
            )
            if granted and purpose in ("PersonalisedAdvertising", "DirectMarketing"):
                second_thoughts.append(use_id)
    platforms.archive_platform(s, login, ids[ARCHIVED], now=start + timedelta(days=225))
    return ids, second_thoughts[:3]


def _identity() -> Identity:
    return Identity(
        PROFILE["full_name"] or "",
        address=PROFILE["postal_address"] or "",
        email=PROFILE["correspondence_email"] or "",
    )


def _party(name: str) -> Party:
    found = next(p for p in PLATFORMS if p[0] == name)
    return Party(name, found[2], f"privacy@{found[1]}")


def _letter(to: str, kind: str, language: str, today: date, **more: Any) -> LetterRequest:
    """A letter from the demo person to the platform named ``to`` (``more``: the rest of LetterRequest)."""
    more.setdefault("recipient", _party(to))
    return LetterRequest(
        kind=kind,
        language=language,
        sender=_identity(),
        today=today,
        place=places.town_of(PROFILE["postal_address"] or ""),
        **more,
    )


def _original(s: Session, login: ActiveLogin, request_id: uuid.UUID) -> Original:
    view = requests.get_request(s, login, request_id)
    if view is None or view.sent_on is None or view.received_on is None or view.due is None:
        raise RuntimeError("the demo's follow-up needs a request that was sent")
    return Original(view.kind, view.sent_on, view.received_on, view.due, view.estimated)


def _at(day: date) -> datetime:
    """The moment a backdated step is recorded: that day, in the morning (UTC)."""
    return datetime.combine(day, time(9, 30), tzinfo=UTC)


def _requests(
    s: Session,
    login: ActiveLogin,
    ids: dict[str, uuid.UUID],
    second_thoughts: list[uuid.UUID],
    now: datetime,
    verify_url: str,
) -> None:
    """A request in every state, each step on its day, counted back from today: answered
    (with the platform's file) and closed, a withdrawal citing the ledger, a complaint
    about an unanswered erasure, an overdue access request and its reminder, an extended
    one, and one still within its month; between them, three marketing consents
    withdrawn (135, 105 and 74 days ago). In the order it happened, so the ledger reads
    as the year went."""
    today = now.date()

    def day(n: int) -> date:
        return today - timedelta(days=n)

    def sent(to: str, kind: str, language: str, channel: str, on: int, **more: Any) -> uuid.UUID:
        return requests.record_sent(
            s,
            login,
            ids[to],
            _letter(to, kind, language, day(on), **more),
            channel=channel,
            sent_on=day(on),
            now=_at(day(on)),
        )

    def follow_up(to: str, kind: str, language: str, on: int, parent: uuid.UUID, **more: Any) -> uuid.UUID:
        authority = str(more.pop("authority", ""))
        return requests.record_sent(
            s,
            login,
            ids[to],
            _letter(to, kind, language, day(on), original=_original(s, login, parent), **more),
            channel="email",
            sent_on=day(on),
            parent=parent,
            authority=authority,
            now=_at(day(on)),
        )

    def update(
        request_id: uuid.UUID, status: str, on: int, note: str = "", file: tuple[str, bytes] | None = None
    ) -> None:
        requests.update(
            s, login, request_id, status=status, note=note, file=file, now=_at(day(on)) + timedelta(hours=2)
        )

    def withdraw(use_id: uuid.UUID, on: int) -> None:
        platforms.decide(s, login, use_id, "withdraw", now=_at(day(on)) - timedelta(hours=1))

    # Shopwise answers an access request within its month, with a file.
    access = sent("Shopwise Online", "access", "de", "email", 160)
    # Telora never answers an erasure sent by post (a complaint follows, below).
    erasure = sent("Telora Mobile", "erasure", "fr", "post", 150)
    answer = (
        b"Shopwise Online GmbH - Auskunft nach Art. 15 DSGVO\n\n"
        b"Kundennummer SW-4481-2290: Name, Lieferadresse, 23 Bestellungen seit 2021, "
        b"Newsletter-Einwilligung vom Anmeldetag.\n"
    )
    update(access, "answered", 141, note="Their export of my data, by e-mail.", file=("shopwise-auskunft.txt", answer))
    # The newsletter withdrawn 135 days ago, announced by a letter citing the ledger.
    withdraw(second_thoughts[0], 135)
    withdrawn = [e for e in ledger.iter_events(s, login) if e["type"] == events.USE_WITHDRAWN]
    first = withdrawn[0]
    cited = ledger.citation(s, login, first["index"])
    if cited is None:
        raise RuntimeError("the demo's withdrawal has no proof in the ledger")
    reference = LedgerReference(
        "Newsletter with offers", events.parse_time(first["at"]).date(), cited.index, cited.hash, cited.size, cited.root
    )
    withdrawal = sent(
        "Shopwise Online",
        "withdrawal",
        "en",
        "email",
        134,
        uses=("Newsletter with offers",),
        direct_marketing=True,
        references=(reference,),
        ledger_key=str(ledger.verifier_key(login)),
        verify_url=verify_url,
    )
    update(withdrawal, "answered", 128, note="They confirmed: no more newsletters.")
    update(withdrawal, "closed", 127)
    withdraw(second_thoughts[1], 105)
    withdraw(second_thoughts[2], 74)
    # FriendSphere will let its month pass: overdue, and a reminder restating the deadline.
    overdue = sent("FriendSphere", "access", "en", "email", 73)
    # Telora's deadline passed long ago: a complaint to Berlin's authority.
    berlin = authorities.authority_for("DE", places.region_of("DE", PROFILE["postal_address"] or ""))
    if berlin is None:
        raise RuntimeError("no supervisory authority for Berlin among the bundled ones")
    follow_up(
        "Telora Mobile",
        "complaint",
        "de",
        60,
        erasure,
        authority=berlin.id,
        recipient=Party(berlin.name, berlin.postal_address, berlin.email),
        platform=_party("Telora Mobile"),
    )
    # Northbank will announce an extension within the first month.
    extended = sent("Northbank", "access", "fr", "email", 45)
    follow_up("FriendSphere", "reminder", "en", 30, overdue)
    update(extended, "extended", 25, note="They need two more months: many accounts to search.")
    # StreamBox is still within its month.
    sent("StreamBox", "portability", "en", "email", 10)
