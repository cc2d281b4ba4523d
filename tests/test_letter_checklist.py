"""The checklist a DPO would run on every letter, for each kind in each language.

Each language's expectations (the articles each kind must cite, the Art. 12(3) and 12(5)
sentences) are in tests/letter_checklists/<language>.toml; the rest is the same everywhere:
the deadline as the tracker computes it, no placeholder, every accent intact in the PDF, and
the three outputs (text, PDF, e-mail).
"""

from __future__ import annotations

import email
import email.policy
import io
import tomllib
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from consent.letters import KINDS, LANGUAGES, REQUESTS, Identity, LetterRequest, Original, Party, compose, day
from consent.letters.output import to_email, to_pdf

CHECKLISTS = Path(__file__).parent / "letter_checklists"
SENDER = Identity("Zoë Dupré-Straße", "12 rue de la Paix\n75002 Paris", email="zoe@example.org", birth=date(1990, 5, 17))
RECIPIENT = Party("Cœur & Œuvre SARL", "1 place de l'Église\n69001 Lyon\nFrance", email="privacy@coeur.example")
ORIGINAL = Original("access", sent=date(2026, 9, 1), received=date(2026, 9, 3), due=date(2026, 10, 5))
DUE = date(2026, 12, 28)
#: What each kind needs from the person (in any language: it is their own text).
NEEDS = {
    "rectification": {"details": "Dupré, not Dupre."},
    "restriction": {"grounds": ("a",)},
    "objection": {"situation": "Journalist: my address must stay private."},
}


def checklist(language: str) -> dict:
    return tomllib.loads((CHECKLISTS / f"{language}.toml").read_text(encoding="utf-8"))


def letter_request(kind: str, language: str) -> LetterRequest:
    return LetterRequest(
        kind=kind,
        language=language,
        sender=SENDER,
        recipient=RECIPIENT,
        today=date(2026, 11, 27),
        identifiers=(("ID", "C-77123"),),
        original=ORIGINAL if kind in ("reminder", "complaint") else None,
        platform=Party("Cœur & Œuvre SARL", "69001 Lyon") if kind == "complaint" else None,
        due=None if kind == "reminder" else DUE,
        received=date(2026, 11, 27),
        place="Paris",
        **NEEDS.get(kind, {}),
    )


def test_every_language_has_a_checklist():
    assert sorted(p.stem for p in CHECKLISTS.glob("*.toml")) == sorted(LANGUAGES)
    assert set(LANGUAGES) >= {"fr", "en", "de"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_checklist(kind, language):
    expected = checklist(language)
    letter = compose(letter_request(kind, language))
    text = letter.text
    for citation in expected["articles"][kind]:
        assert citation in text, f"{kind}/{language}: expected {citation!r}"
    assert expected["regulation"] in text
    assert "Zoë Dupré-Straße" in text and "Cœur & Œuvre SARL" in text and "C-77123" in text
    assert "[" not in text and "{" not in text and "\n\n\n" not in text, "a placeholder or a template slip"
    if kind in REQUESTS and kind != "withdrawal":
        assert expected["one_month"] in text  # Art. 12(3)
    if kind != "complaint":
        assert expected["free"] in text  # Art. 12(5)
    if kind == "reminder":
        assert day(ORIGINAL.due, language) in text
    else:
        assert day(DUE, language) in text, "the letter states the deadline the tracker follows"
    assert letter.dateline.startswith("Paris") and day(date(2026, 11, 27), language) in letter.dateline


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_renders_as_text_pdf_and_email(kind, language):
    letter = compose(letter_request(kind, language))
    pdf = to_pdf(letter)
    extracted = unicodedata.normalize("NFC", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    accents = {c for c in letter.text if ord(c) > 127 and not c.isspace()}
    missing = {c for c in accents if c not in extracted}
    assert not missing, f"characters lost in the PDF: {sorted(missing)}"
    message = to_email(letter, now=datetime(2026, 11, 27, 10, tzinfo=UTC))
    parsed = email.message_from_bytes(message.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert parsed["Subject"].strip() == letter.subject and parsed["Content-Language"] == language
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == letter.text.strip()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_a_note_for_a_short_mail_link(language):
    from consent.letters import words

    assert words(language)["mail_note"].strip()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["withdrawal", "objection", "complaint"])
def test_ledger_references_come_with_how_to_check_them(kind, language):
    """A DPO reading "event 7, SHA-256 ..." is told, in the letter's language, where anyone
    learns to check it; a letter citing nothing says nothing about it."""
    from dataclasses import replace

    from consent.letters import LedgerReference

    base = letter_request(kind, language)
    reference = LedgerReference("Newsletter", date(2026, 11, 2), 7, "ab" * 32, 8, "cm9vdA==")
    url = "https://consent.example.org/verify"
    cited = compose(replace(base, references=(reference,), ledger_key="consent-ledger/x+y+z", verify_url=url)).text
    assert cited.count(url) == 1 and f"{url}." not in cited  # no full stop glued to the link
    assert url not in compose(replace(base, verify_url=url)).text
