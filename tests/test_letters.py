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


NEEDS = {
    "rectification": {"details": "My surname is Dupré, not Dupre."},
    "restriction": {"grounds": ("a",)},
    "objection": {"situation": "I am a journalist and my address must stay private."},
}


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
    # What each kind needs from the person, so that no letter carries a placeholder.
    values.update(NEEDS.get(kind, {}))
    values.update(extra)
    return LetterRequest(**values)


@pytest.mark.parametrize("language", sorted(ARTICLES))  # every language: tests/test_letter_checklist.py
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_in_every_language(kind, language):
    letter = compose(request(kind, language))
    text = letter.text
    assert ARTICLES[language][kind] in text and ARTICLES[language][kind] in letter.subject + text
    assert "Zoë Dupré-Straße" in text and "Cœur & Œuvre SARL" in text
    assert "{{" not in text and "{%" not in text and "\n\n\n" not in text
    if kind != "complaint":
        assert FREE[language] in text  # Art. 12(5): free of charge
    if kind not in ("reminder", "complaint", "withdrawal"):
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
    assert "Le 1er septembre 2026" in reminder and "3 septembre 2026 (date estimée)" in reminder
    assert "a expiré le 5 octobre 2026" in reminder
    complaint = compose(request("complaint", "en", recipient=Party("CNIL", "3 Place de Fontenoy\n75007 Paris"))).text
    assert "- 1 September 2026: I sent a request for access" in complaint
    assert "- 5 October 2026: the time limit expired" in complaint and "Article 78(2)" in complaint


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "bribe"}, "unknown letter kind"),
        ({"language": "xx"}, "unknown language"),
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


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("kind", "without", "missing"),
    [
        ("rectification", {"details": ""}, "details"),
        ("restriction", {"grounds": ()}, "grounds"),
        ("objection", {"situation": "", "direct_marketing": False}, "situation"),
    ],
)
def test_a_letter_that_needs_the_persons_words_is_refused_without_them(kind, without, missing, language):
    """No letter is written with a placeholder inside ("[Describe here what is wrong...]")."""
    with pytest.raises(LetterError) as caught:
        compose(request(kind, language, **without))
    assert caught.value.missing == missing


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_no_letter_holds_a_placeholder(kind, language):
    text = compose(request(kind, language)).text
    assert "[" not in text and "]" not in text


def test_restriction_cites_article_18_1_and_states_each_ground():
    text = compose(request("restriction", "en", grounds=("a", "c"))).text
    assert "Article 18(1) of the General Data Protection Regulation" in text
    assert "(Article 18(1)(a))" in text and "(Article 18(1)(c))" in text and "(Article 18(1)(b))" not in text
    with pytest.raises(LetterError, match="expected grounds among"):
        compose(request("restriction", "en", grounds=("e",)))
    german = compose(request("restriction", "de", grounds=("b",))).text
    assert "Art. 18 Abs. 1 Buchst. b DSGVO" in german and "aus folgendem Grund" in german


def test_withdrawal_takes_effect_on_receipt_not_in_a_month():
    for language, month, effect in (
        ("en", "within one month", "takes effect as soon as you receive this letter"),
        ("fr", "délai d'un mois", "prend effet dès que vous recevez ce courrier"),
        ("de", "innerhalb eines Monats", "mit dem Zugang dieses Schreibens wirksam"),
    ):
        text = compose(request("withdrawal", language, uses=("Newsletter",))).text
        assert month not in text and effect in text, language
    generic = compose(request("withdrawal", "en")).text
    assert "every consent I have given you" in generic and "these purposes" not in generic


def test_marketing_objection_takes_effect_on_receipt_and_asks_for_grounds_otherwise():
    marketing = compose(request("objection", "en", uses=("Newsletter",), direct_marketing=True, situation="")).text
    assert "within one month" not in marketing and "takes effect as soon as you receive it" in marketing
    assert "particular situation" not in marketing  # not invoked without the grounds
    situated = compose(request("objection", "fr", situation="Je suis journaliste.")).text
    assert "ma situation particulière (article 21, paragraphe 1), qui sont les suivantes :\n\nJe suis journaliste." in situated


def test_portability_asks_for_direct_transmission_to_the_named_controller():
    text = compose(request("portability", "en", transmit_to="Mastodon gGmbH")).text
    assert "Under Article 20(2) GDPR, I also ask you to transmit these data directly" in text
    assert "\n\nMastodon gGmbH\n\n" in text
    assert "Article 20(2)" not in compose(request("portability", "en")).text


def test_the_deadline_sentence_names_the_receipt_it_assumes_for_post():
    posted = compose(request("access", "en", today=date(2026, 11, 20), received=date(2026, 11, 23))).text
    assert "if it reaches you on 23 November 2026, by 28 December 2026 at the latest" in posted
    emailed = compose(request("access", "en", received=date(2026, 11, 27))).text
    assert "that is by 28 December 2026 at the latest" in emailed


def test_french_dates_say_premier_and_the_place_stands_beside_the_date():
    letter = compose(request("access", "fr", today=date(2027, 3, 1), place="Strasbourg"))
    assert letter.dateline == "Strasbourg, le 1er mars 2027"
    assert compose(request("access", "fr", today=date(2027, 1, 29))).dateline == "Le 29 janvier 2027"
    assert compose(request("access", "de", place="Köln")).dateline == "Köln, 27. November 2026"


def test_reminder_and_complaint_wording_fits_any_kind_of_letter():
    # "Sie haben sie erhalten" was wrong for a Widerruf (der), "Vous l'avez reçue" for a retrait (le).
    withdrawal = Original("withdrawal", date(2026, 9, 1), date(2026, 9, 3), date(2026, 10, 5))
    german = compose(request("reminder", "de", original=withdrawal)).text
    assert "Mein Schreiben ist Ihnen am 3. September 2026 zugegangen" in german and "übersandt" in german
    assert "geschickt" not in german and "Antrag vom" not in german
    french = compose(request("reminder", "fr", original=withdrawal)).text
    assert "Mon courrier vous est parvenu le 3 septembre 2026" in french and "reçue" not in french
    complaint = compose(request("complaint", "en")).text
    assert "the controller received it" in complaint and "you received it" not in complaint
    assert "The controller knows me under these identifiers" in complaint and "known to you" not in complaint
    assert "enclosed" not in complaint  # nothing is enclosed, so nothing is said to be
    enclosed = compose(request("complaint", "en", enclosures=("Letter of 1 September 2026",))).text
    assert "The documents listed at the end of this letter are enclosed." in enclosed
    assert enclosed.rstrip().endswith("Enclosures:\n- Letter of 1 September 2026")


def test_no_gendered_or_verbless_phrases():
    texts = {lang: "".join(compose(request(kind, lang)).text for kind in KINDS) for lang in ("fr", "de")}
    assert "connu(e)" not in texts["fr"] and "opposé(e)" not in texts["fr"]
    for phrase in ("ohne Bedingung", "hier die Angaben", "geschickt"):
        assert phrase not in texts["de"], phrase


def test_a_platform_name_cannot_add_a_recipient_to_the_email():
    name = 'Contoso Ireland Limited, Data Protection Office: dpo-copy@evil.example, "Contoso" ' + "x" * 40
    letter = compose(request("access", "en", recipient=Party(name, "a", email="privacy@contoso.example")))
    raw = to_email(letter, now=datetime(2026, 11, 27, tzinfo=UTC)).as_bytes(policy=email.policy.SMTP)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["privacy@contoso.example"]
