"""Letters: every kind in every language, and each output format."""

from __future__ import annotations

import email
import email.policy
import io
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from consent.letters import (
    KINDS,
    LANGUAGES,
    Identity,
    LedgerReference,
    LetterError,
    LetterRequest,
    Original,
    Party,
    compose,
)
from consent.letters.output import MAILTO_LIMIT, mailto, to_email, to_pdf

SENDER = Identity(
    "Zoë Dupré-Straße", "12 rue de la Paix\n75002 Paris", email="zoe@example.org", birth=date(1990, 5, 17)
)
RECIPIENT = Party("Cœur & Œuvre SARL", "1 place de l'Église\n69001 Lyon\nFrance", email="privacy@coeur.example")
ORIGINAL = Original("access", sent=date(2026, 9, 1), received=date(2026, 9, 3), due=date(2026, 10, 5), estimated=True)

ARTICLES = {
    "en": {
        "access": "Article 15",
        "rectification": "Article 16",
        "erasure": "Article 17",
        "restriction": "Article 18",
        "portability": "Article 20",
        "objection": "Article 21",
        "withdrawal": "Article 7(3)",
        "reminder": "Article 12(3)",
        "complaint": "Article 77",
    },
    "fr": {
        "access": "article 15",
        "rectification": "article 16",
        "erasure": "article 17",
        "restriction": "article 18",
        "portability": "article 20",
        "objection": "article 21",
        "withdrawal": "article 7, paragraphe 3",
        "reminder": "article 12, paragraphe 3",
        "complaint": "article 77",
    },
    "de": {
        "access": "Art. 15",
        "rectification": "Art. 16",
        "erasure": "Art. 17",
        "restriction": "Art. 18",
        "portability": "Art. 20",
        "objection": "Art. 21",
        "withdrawal": "Art. 7 Abs. 3",
        "reminder": "Art. 12 Abs. 3",
        "complaint": "Art. 77",
    },
}
ONE_MONTH = {"en": "within one month", "fr": "délai d'un mois", "de": "innerhalb eines Monats"}
FREE = {"en": "Article 12(5)", "fr": "article 12, paragraphe 5", "de": "Art. 12 Abs. 5"}


def request(kind: str, language: str, **extra) -> LetterRequest:
    values = dict(
        kind=kind,
        language=language,
        sender=SENDER,
        recipient=RECIPIENT,
        today=date(2026, 11, 27),
        identifiers=(("Customer number", "C-77123"),),
        original=ORIGINAL if kind in ("reminder", "complaint") else None,
        platform=Party("Cœur & Œuvre SARL", "69001 Lyon") if kind == "complaint" else None,
        due=date(2026, 12, 28),
    )
    values.update(extra)
    return LetterRequest(**values)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_in_every_language(kind, language):
    letter = compose(request(kind, language))
    text = letter.text
    assert ARTICLES[language][kind] in text and ARTICLES[language][kind] in letter.subject + text
    assert "Zoë Dupré-Straße" in text and "Cœur & Œuvre SARL" in text
    assert "{{" not in text and "{%" not in text and "\n\n\n" not in text
    if kind != "complaint":
        assert FREE[language] in text  # Art. 12(5): free of charge
    if kind not in ("reminder", "complaint"):
        assert ONE_MONTH[language] in text  # Art. 12(3): one month
        assert "C-77123" in text


def test_access_letter_lists_everything_article_15_entitles_to():
    text = compose(request("access", "en")).text
    for point in (
        "(a) the purposes",
        "(b) the categories",
        "(c) the recipients",
        "(d) the period",
        "(e) the existence of my rights",
        "(f) my right to lodge a complaint",
        "(g) where the data were not collected",
        "(h) the existence of automated decision-making",
        "Article 46",
        "Article 15(3)",
    ):
        assert point in text, point


def test_objection_to_direct_marketing_is_unconditional():
    text = compose(request("objection", "en", uses=("Newsletter",), direct_marketing=True)).text
    assert "unconditional (Article 21(2) GDPR)" in text and "Article 21(3)" in text and "- Newsletter" in text
    assert "unconditional" not in compose(request("objection", "en", uses=("Analytics",))).text


def test_withdrawal_cites_the_ledger_event():
    reference = LedgerReference("Newsletter", date(2026, 11, 2), 7, "ab" * 32, 8, "cm9vdA==")
    text = compose(request("withdrawal", "de", uses=("Newsletter",), references=(reference,))).text
    assert "Ereignis 7, SHA-256 " + "ab" * 32 in text and "Prüfpunkt der Größe 8, Wurzel cm9vdA==" in text
    assert "widerrufen am 2. November 2026" in text


def test_reminder_and_complaint_tell_the_story():
    reminder = compose(request("reminder", "fr")).text
    assert "Le 1 septembre 2026" in reminder and "3 septembre 2026 (date estimée)" in reminder
    assert "a expiré le 5 octobre 2026" in reminder
    complaint = compose(request("complaint", "en", recipient=Party("CNIL", "3 Place de Fontenoy\n75007 Paris"))).text
    assert "- 1 September 2026: I sent a request for access" in complaint
    assert "- 5 October 2026: the time limit expired" in complaint and "Article 78(2)" in complaint


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "bribe"}, "unknown letter kind"),
        ({"language": "it"}, "unknown language"),
        ({"kind": "reminder", "original": None}, "a reminder needs the original request"),
        ({"kind": "complaint", "platform": None}, "a complaint needs the controller"),
        ({"sender": Identity(" ")}, "needs the sender's name"),
    ],
)
def test_bad_letter_requests_are_refused(changes, message):
    base = request("complaint" if changes.get("kind") == "complaint" else "access", "en")
    with pytest.raises(LetterError, match=message):
        compose(LetterRequest(**{**base.__dict__, **changes}))


def test_pdf_renders_accents_and_extracts_them():
    letter = compose(request("access", "fr", details="Montant réclamé : 42 € — cœur, Straße, naïve."))
    pdf = to_pdf(letter)
    assert pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for needle in (
        "Zoë Dupré-Straße",
        "Cœur & Œuvre SARL",
        "42 €",
        "cœur",
        "Straße",
        "naïve",
        "données à caractère personnel",
    ):
        assert needle in text, needle


def test_pdf_treats_markup_typed_by_the_person_as_text():
    letter = compose(request("rectification", "en", details='<b>bold</b> & <font color="red">x</font> <br/> <unclosed'))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf(letter))).pages)
    assert '<b>bold</b> & <font color="red">x</font>' in text


def test_email_message_and_header_injection():
    sender = Identity("Zoë\r\nBcc: victim@example.org", "x", email="zoe@example.org")
    letter = compose(request("access", "de", sender=sender))
    message = to_email(letter, now=datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    raw = message.as_bytes(policy=email.policy.SMTP)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert parsed["Bcc"] is None and b"\r\nBcc:" not in headers
    assert parsed["To"].addresses[0].addr_spec == "privacy@coeur.example"
    assert parsed["Subject"] == letter.subject
    assert "Datenschutz-Grundverordnung" in parsed.get_content()
    injected_subject = compose(request("complaint", "en", platform=Party("Evil\nBcc: x@example.org", "a")))
    message = to_email(injected_subject, now=datetime(2026, 11, 27, tzinfo=UTC))
    assert "\n" not in message["Subject"] and message["Bcc"] is None


def test_mailto_link_or_fallback_when_too_long():
    short = compose(request("withdrawal", "en", identifiers=()))
    link = mailto(short)
    assert (
        link is not None
        and link.startswith("mailto:privacy@coeur.example?subject=Withdrawal")
        and len(link) <= MAILTO_LIMIT
    )
    long = compose(request("access", "en"))
    assert mailto(long) is None  # the access letter is longer than a link can carry


def test_letters_need_no_flask():
    code = "import sys, consent.letters, consent.letters.output; print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy'}))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
