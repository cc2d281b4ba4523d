"""`consent demo`: an account with a realistic year of history, to look around at once.

The platforms are fictional, each standing for a well-known kind of company.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from consent.services import accounts, platforms
from consent.services.accounts import AccountSettings
from consent.vocabulary import DPV, GDPR, PD

_WORDS = ("amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel")

_Use = tuple[str, str, bool, int | None]
#: (name, website, country, categories, [(purpose, label, granted, expires in days or None)])
PLATFORMS: list[tuple[str, str, str, list[str], list[_Use]]] = [
    (
        "Shopwise Online",
        "shopwise.example",
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
        "DE",
        ["Name", "Address", "BankAccount"],
        [
            ("ServiceProvision", "Supplying electricity", True, None),
            ("ServiceUsageAnalytics", "Smart-meter analysis", True, 120),
        ],
    ),
]


def create_demo(s: Session, settings: AccountSettings, *, now: datetime | None = None) -> tuple[str, str]:
    """Create the demo account; returns its e-mail and password."""
    now = now or datetime.now(UTC)
    email = f"demo-{secrets.token_hex(4)}@example.org"
    password = "-".join(secrets.choice(_WORDS) for _ in range(4)) + f"-{secrets.randbelow(100)}"
    start = now - timedelta(days=365)
    login = accounts.register(s, settings, email=email, password=password, now=start).login
    second_thoughts = []
    for n, (name, site, country, categories, uses) in enumerate(PLATFORMS):
        moment = start + timedelta(days=8 + n * 21, hours=n)
        platform_id = platforms.add_platform(
            s,
            login,
            {
                "name": name,
                "website": f"https://{site}",
                "email": f"privacy@{site}",
                "address": f"{n + 1} Example Street, {country}",
                "country": country,
                "categories": [PD + c for c in categories],
            },
            notes="Demo data",
            now=moment,
        )
        for m, (purpose, label, granted, expires_in) in enumerate(uses):
            moment += timedelta(hours=2 + m)
            expires = (moment.date() + timedelta(days=expires_in)).isoformat() if expires_in else None
            use_id = platforms.new_use(
                s,
                login,
                platform_id,
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
    # A few second thoughts, months later.
    for k, use_id in enumerate(second_thoughts[:3]):
        platforms.decide(s, login, use_id, "withdraw", now=start + timedelta(days=230 + 30 * k))
    platforms.record_expiries(s, login, now=now)
    accounts.log_out(s, login.token)
    return email, password
