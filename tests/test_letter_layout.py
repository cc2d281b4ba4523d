"""A letter's outputs, measured: where each block lands on the PDF page (read back with
pypdf, in millimetres from the top-left corner as the standards measure), the e-mail a
mail program opens as a draft, mail links that nothing can be slipped into, and file names
that stay in the download folder."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from consent.letters import KINDS, LANGUAGES, Identity, Letter, LetterError, LetterRequest, Original, Party, compose
from consent.letters.output import (
    FONT,
    FONT_BOLD,
    MAILTO_LIMIT,
    PAGE_OF,
    download_name,
    mailto,
    short_mailto,
    to_email,
    to_pdf,
)

PT = 25.4 / 72  # millimetres in a point
EPS = 0.01  # millimetres: what floating point leaves of a position read back
SENDER = Identity(
    "Zoë Dupré",
    "12 rue de la Paix\n75002 Paris",
    email="zoe@example.org",
    phone="+33 1 23 45 67 89",
    birth=date(1990, 5, 17),
)
ADDRESS = ("Service protection des données", "1 place de l'Église", "69001 Lyon", "France")
RECIPIENT = Party("Cœur & Œuvre SARL", "\n".join(ADDRESS), email="privacy@coeur.example")
#: Eight lines of address under the name: more than DIN 5008's six, still to fit the window.
LONG_ADDRESS = (
    "Délégation à la protection des données",
    "Direction juridique et conformité",
    "Bâtiment B, 3e étage, porte 12",
    "Parc d'activités de la Vallée",
    "1 place de l'Église",
    "CS 70001",
    "69001 Lyon Cedex 01",
    "France",
)
ORIGINAL = Original("access", sent=date(2026, 9, 1), received=date(2026, 9, 3), due=date(2026, 10, 5))
NEEDS = {
    "rectification": {"details": "My surname is Dupré, not Dupre."},
    "restriction": {"grounds": ("a",)},
    "objection": {"situation": "I am a journalist and my address must stay private."},
}
#: What each envelope's window shows, in mm from the page's top-left corner: (left, top, right, bottom).
WINDOWS = {
    # DIN 5008 Form B's address field: 20 mm from the left edge, 45 mm from the top, 85 x 45 mm.
    "de": (20.0, 45.0, 105.0, 90.0),
    # A DL envelope's 45 x 100 mm window on the right, wherever the folded sheet sits in it.
    "fr": (100.0, 50.0, 190.0, 84.0),
    # A left window (DIN 680 DL, C5, C6/5), wherever the folded sheet sits in it.
    "neutral": (20.0, 50.0, 105.0, 90.0),
}


def window(language: str) -> tuple[float, float, float, float]:
    return WINDOWS.get(language, WINDOWS["neutral"])


def letter(kind: str = "access", language: str = "en", **extra) -> Letter:
    values = dict(
        kind=kind,
        language=language,
        sender=SENDER,
        recipient=RECIPIENT,
        today=date(2027, 1, 29),
        place="Strasbourg",
        identifiers=(("Customer number", "C-77123"),),
        original=ORIGINAL if kind in ("reminder", "complaint") else None,
        platform=Party("Cœur & Œuvre SARL", "69001 Lyon") if kind == "complaint" else None,
        due=date(2027, 3, 1),
    )
    values.update(NEEDS.get(kind, {}))
    values.update(extra)
    return compose(LetterRequest(**values))


@dataclass(frozen=True)
class Run:
    """A piece of text on a page, where the PDF puts it (mm from the top-left corner)."""

    page: int
    text: str
    x: float
    baseline: float
    size: float
    bold: bool

    @property
    def top(self) -> float:
        return self.baseline - self.size * PT

    @property
    def bottom(self) -> float:
        return self.baseline + 0.25 * self.size * PT

    @property
    def right(self) -> float:
        return self.x + pdfmetrics.stringWidth(self.text, FONT_BOLD if self.bold else FONT, self.size) * PT


def runs(pdf: bytes) -> list[Run]:
    found: list[Run] = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):

        def visit(text, cm, tm, font, size, number=number):
            if not text.strip() or font is None:
                return
            # The text matrix's origin, through the current transformation matrix.
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            scale = (tm[0] ** 2 + tm[1] ** 2) ** 0.5 * (cm[0] ** 2 + cm[1] ** 2) ** 0.5
            name = str(font.get("/BaseFont", ""))
            found.append(Run(number, text.strip(), x * PT, 297 - y * PT, size * scale, name.endswith("Bold")))

        page.extract_text(visitor_text=visit)
    return found


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def without_page_numbers(pdf: bytes) -> list[str]:
    texts = pages_text(pdf)
    numbers = [
        phrase.format(page=n, pages=len(texts)) for phrase in set(PAGE_OF.values()) for n in range(1, len(texts) + 1)
    ]
    return [re.sub("|".join(map(re.escape, numbers)), "", text) if len(texts) > 1 else text for text in texts]


def inside(run: Run, box: tuple[float, float, float, float]) -> bool:
    left, top, right, bottom = box
    return left - EPS <= run.x and run.right <= right + EPS and top - EPS <= run.top and run.bottom <= bottom + EPS


def lines_of(found: list[Run], lines: tuple[str, ...] | list[str], page: int = 1) -> list[Run]:
    return [r for r in found if r.page == page and r.text in lines]


# --- layouts --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "fr", "en"])
def test_every_line_of_the_recipient_lies_in_the_envelope_window(language):
    for address in (ADDRESS, LONG_ADDRESS):
        composed = letter(language=language, recipient=Party("Cœur & Œuvre SARL", "\n".join(address)))
        found = lines_of(runs(to_pdf(composed)), ["Cœur & Œuvre SARL", *address])
        assert sorted(r.text for r in found) == sorted(["Cœur & Œuvre SARL", *address])
        for run in found:
            assert inside(run, window(language)), (language, run)
        if language == "de":  # under the return address, in DIN 5008's Anschriftzone
            assert all(run.top >= 62.7 - EPS for run in found)


def test_german_letter_follows_din_5008_form_b():
    composed = letter(language="de", place="Köln")
    pdf = to_pdf(composed)
    found = runs(pdf)
    # The return address: one line in small type at the foot of the Zusatz- und Vermerkzone.
    (back,) = [r for r in found if r.text == "Zoë Dupré · 12 rue de la Paix · 75002 Paris"]
    assert back.size <= 8 and 45 <= back.top and back.bottom <= 62.7 + EPS and back.x == pytest.approx(25, abs=0.1)
    # The information block: the sender's details, then the date, 125 mm from the left, from 50 mm down.
    details = lines_of(found, ["Zoë Dupré", "12 rue de la Paix", "75002 Paris", "E-Mail: zoe@example.org"])
    (dateline,) = lines_of(found, [composed.dateline])
    assert len(details) == 4 and dateline.text == "Köln, 29. Januar 2027"
    for run in [*details, dateline]:
        assert run.x == pytest.approx(125, abs=0.1) and run.top >= 50 - EPS and run.right <= 200
    assert dateline.top > max(r.bottom for r in details)
    # The subject, bold, without "Betreff", at least two lines under the address field.
    (subject,) = [r for r in found if r.text.startswith("Antrag auf Auskunft")]
    assert subject.bold and subject.top >= 90 + 2 * 4.23 - 0.5 and subject.x == pytest.approx(25, abs=0.1)
    assert "Betreff" not in "".join(pages_text(pdf))
    body = [r for r in found if r.page == 1 and r.top > subject.bottom]
    assert body and not any(r.bold for r in body)
    # Fold marks at 105 and 210 mm, the hole mark at 148.5 mm, in the left margin.
    assert marks(pdf) == pytest.approx([105.0, 148.5, 210.0], abs=0.05)


def marks(pdf: bytes) -> list[float]:
    """The heights (mm from the top) of the short horizontal lines in the left margin of page 1."""
    data = PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data().decode("latin-1")
    found = []
    for _x1, y1, x2, y2 in re.findall(r"([\d.]+) ([\d.]+) m ([\d.]+) ([\d.]+) l S", data):
        if y1 == y2 and float(x2) * PT < 20:
            found.append(round(297 - float(y1) * PT, 2))
    return sorted(found)


def test_french_letter_puts_the_sender_left_and_the_recipient_right():
    composed = letter(language="fr")
    pdf = to_pdf(composed)
    found = runs(pdf)
    sender = lines_of(found, ["Zoë Dupré", "12 rue de la Paix", "75002 Paris", "Courriel : zoe@example.org"])
    assert len(sender) == 4
    for run in sender:
        assert run.x == pytest.approx(20, abs=0.1) and run.top >= 20 - EPS and run.right <= 100
    # The date under the recipient, on the right, below the window.
    (dateline,) = lines_of(found, ["Strasbourg, le 29 janvier 2027"])
    assert dateline.x == pytest.approx(110, abs=0.1) and dateline.top >= window("fr")[3]
    (subject,) = [r for r in found if r.text.startswith("Objet :")]
    assert subject.bold and subject.top > dateline.bottom and subject.x == pytest.approx(20, abs=0.1)
    assert marks(pdf) == []


def test_other_languages_put_the_sender_above_a_left_window_and_the_date_on_the_right():
    composed = letter(language="en")
    found = runs(to_pdf(composed))
    sender = lines_of(found, ["Zoë Dupré", "12 rue de la Paix", "75002 Paris", "E-mail: zoe@example.org"])
    assert len(sender) == 4
    for run in sender:
        # Above the window, so that the envelope hides it.
        assert run.x == pytest.approx(25, abs=0.1) and run.bottom <= 45
    (dateline,) = lines_of(found, ["Strasbourg, 29 January 2027"])
    assert dateline.right == pytest.approx(190, abs=0.3) and dateline.top >= window("en")[3]
    (subject,) = [r for r in found if r.text.startswith("Subject:")]
    assert subject.bold and subject.top > dateline.bottom


def test_a_long_letter_flows_on_with_page_numbers_and_a_short_one_has_none():
    long = letter("rectification", "de", details=" ".join(["Meine Anschrift ist falsch geschrieben."] * 120))
    pdf = to_pdf(long)
    texts = pages_text(pdf)
    assert len(texts) >= 2
    for number, text in enumerate(texts, start=1):
        assert f"Seite {number} von {len(texts)}" in text
    found = runs(pdf)
    later = [r for r in found if r.page == 2 and not r.text.startswith("Seite")]
    assert later and min(r.top for r in later) >= 20 - 0.1 and min(r.x for r in later) >= 25 - 0.1
    assert max(r.bottom for r in later) <= 297 - 25 + 0.1
    short = to_pdf(letter("withdrawal", "de", identifiers=()))
    assert len(pages_text(short)) == 1 and "Seite" not in pages_text(short)[0]


def test_page_numbers_are_written_in_each_letters_language():
    assert PAGE_OF["de"].format(page=2, pages=3) == "Seite 2 von 3"
    assert {
        language: PAGE_OF[language].format(page=2, pages=3) for language in ("fr", "es", "it", "nl", "pl", "pt")
    } == {
        "fr": "Page 2 sur 3",
        "es": "Página 2 de 3",
        "it": "Pagina 2 di 3",
        "nl": "Pagina 2 van 3",
        "pl": "Strona 2 z 3",
        "pt": "Página 2 de 3",
    }
    long = letter("rectification", "fr", details=" ".join(["Mon nom est mal orthographié."] * 150))
    assert "Page 2 sur" in pages_text(to_pdf(long))[1]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_fits_its_page_with_a_long_address_and_long_details(kind, language):
    details = " ".join(f"Détail numéro {n} de ce que je demande." for n in range(90))[:3000]
    extra = {"details": details}
    if kind == "objection":
        extra["situation"] = details
    composed = letter(kind, language, recipient=Party("Cœur & Œuvre SARL", "\n".join(LONG_ADDRESS)), **extra)
    pdf = to_pdf(composed)
    found = runs(pdf)
    for run in found:
        assert 10 <= run.x and run.right <= 200 and 5 <= run.top and run.bottom <= 292, run
    for run in lines_of(found, ["Cœur & Œuvre SARL", *LONG_ADDRESS]):
        if run.top < 100:  # the recipient's block, not a mention of the company in the body
            assert inside(run, window(language)), run
    # Nothing lost: the letter's text, every word in order, whatever the lines and pages it fell on.
    extracted = " ".join(" ".join(without_page_numbers(pdf)).split())
    for block in composed.body.split("\n\n"):
        assert " ".join(block.split()) in extracted


def test_a_block_too_long_for_its_place_is_laid_out_whole_rather_than_cut():
    address = "\n".join(f"Line {n} of a very long address" for n in range(40))
    composed = letter(sender=Identity("Zoë <b>Dupré</b> & co", address))
    text = "".join(pages_text(to_pdf(composed)))
    assert "Zoë <b>Dupré</b> & co" in text
    for n in range(40):
        assert f"Line {n} of a very long address" in text


def test_a_letter_stored_with_its_text_only_is_laid_out_as_paragraphs():
    composed = letter(language="fr")
    old = Letter(composed.kind, composed.language, composed.subject, composed.text, composed.sender, composed.recipient)
    pdf = to_pdf(old)
    text = " ".join(" ".join(without_page_numbers(pdf)).split())
    for block in composed.text.split("\n\n"):
        assert " ".join(block.split()) in text
    assert not any(run.bold for run in runs(pdf))


def test_a_heading_stands_above_the_letter_in_bold():
    pdf = to_pdf(letter(language="de"), heading="Anlage 1: Antrag auf Auskunft, versandt am 1. September 2026")
    first = min((r for r in runs(pdf) if r.page == 1), key=lambda r: r.top)
    assert first.text == "Anlage 1: Antrag auf Auskunft, versandt am 1. September 2026" and first.bold
    assert first.bottom < 12
    endless = to_pdf(letter(), heading="Exhibit 2: " + "x" * 10_000)
    (line,) = [r for r in runs(endless) if r.text.startswith("Exhibit 2:")]
    assert line.text.endswith("…") and line.right <= 190 + EPS


# --- e-mail ---------------------------------------------------------------------------------


def test_email_is_plain_utf8_text_marked_as_a_draft_with_nothing_lost():
    long_word = "x" * 3000
    composed = letter("rectification", "fr", details=f"Un paragraphe très long, {'mot ' * 200}fin. {long_word}")
    message = to_email(composed, now=datetime(2027, 1, 29, 10, tzinfo=UTC))
    raw = message.as_bytes(policy=email.policy.SMTP)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "text/plain" and parsed.get_content_charset() == "utf-8"
    assert parsed["X-Unsent"] == "1" and parsed["Content-Language"] == "fr"
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert parsed[header], header
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78  # fit for any mail server
    body = parsed.get_content().replace("\r\n", "\n")
    assert body == composed.text  # every character, and each paragraph still one line
    assert long_word in body and f"{'mot ' * 200}fin." in body


# --- mail links -----------------------------------------------------------------------------

NOTE = "The full text of my letter follows; paste it here."


def parts(link: str) -> tuple[str, dict[str, list[str]]]:
    split = urlsplit(link)
    assert split.scheme == "mailto" and not split.fragment
    return unquote(split.path), parse_qs(split.query, keep_blank_values=True)


def test_short_mail_link_carries_recipient_subject_and_note():
    composed = letter("access", "en")
    assert mailto(composed) is None  # the whole letter is too long for a link
    link = short_mailto(composed, note=NOTE)
    recipient, query = parts(link)
    assert len(link) <= MAILTO_LIMIT and recipient == "privacy@coeur.example"
    assert query == {"subject": [composed.subject], "body": [NOTE + "\r\n\r\n"]}


def test_short_mail_link_stays_short_however_long_the_subject_or_note():
    composed = replace(letter("access", "en"), subject="Très long sujet " * 400)
    link = short_mailto(composed, note="Collez le texte ici. " * 300)
    _recipient, query = parts(link)
    assert len(link) <= MAILTO_LIMIT
    assert query["subject"][0].endswith("…") and composed.subject.startswith(query["subject"][0][:-1])
    assert query["body"][0].endswith("…")


@pytest.mark.parametrize(
    "address",
    [
        "privacy@coeur.example?bcc=spy@evil.example",
        "privacy@coeur.example&bcc=spy@evil.example",
        "privacy@coeur.example?body=forged",
        "a%0D%0ABcc:spy@evil.example@coeur.example",
        "privacy@coeur.example\r\nBcc: spy@evil.example",
        "privacy@coeur.example, spy@evil.example",
        "privacy@coeur.example;spy@evil.example",
        '"spy@evil.example,"@coeur.example',
        "<spy@evil.example>",
        "a" * 300 + "@coeur.example",
    ],
)
def test_no_address_can_add_a_recipient_header_or_parameter_to_a_link(address):
    composed = letter("withdrawal", "en", identifiers=(), recipient=Party("Cœur", "1 rue X", email=address))
    for link in (short_mailto(composed, note=NOTE), mailto(composed)):
        assert link is not None and len(link) <= MAILTO_LIMIT
        recipient, query = parts(link)
        assert set(query) == {"subject", "body"} and len(query["subject"]) == 1 and len(query["body"]) == 1
        assert recipient.count("@") <= 1 and not set(recipient) & set(',;<>"\r\n ')
        assert "evil" not in recipient


def test_a_plain_address_with_unusual_characters_is_kept_and_encoded():
    composed = letter(
        "withdrawal", "en", identifiers=(), recipient=Party("Cœur", "x", email="dpo+gdpr%x&y@cœur.example")
    )
    link = short_mailto(composed, note=NOTE)
    assert link.startswith("mailto:dpo%2Bgdpr%25x%26y@c%C5%93ur.example?subject=")
    assert parts(link)[0] == "dpo+gdpr%x&y@cœur.example"


# --- file names -----------------------------------------------------------------------------


def test_download_name_reads_as_date_kind_and_platform():
    composed = letter("access", "fr")
    assert (
        download_name(composed, sent_on=date(2026, 11, 28), platform="Instagram", extension="pdf")
        == "2026-11-28 access request - Instagram.pdf"
    )
    withdrawal = letter("withdrawal", "de")
    assert (
        download_name(withdrawal, sent_on=date(2026, 11, 28), platform="Zoë's Café GmbH", extension=".eml")
        == "2026-11-28 withdrawal of consent - Zoë\u2019s Café GmbH (" + _tag("Zoë's Café GmbH") + ").eml"
    )
    assert download_name(composed, sent_on=date(2026, 11, 28), platform="Société Générale", extension="txt") == (
        "2026-11-28 access request - Société Générale.txt"
    )


def _tag(platform: str) -> str:
    return hashlib.sha256(platform.encode()).hexdigest()[:8]


HOSTILE = [
    "../../etc/passwd",
    "..\\..\\Windows\\System32",
    "CON",
    "a\r\nb",
    "x" * 500,
    "é" * 500,
    "",
    "..",
    "Evil\u202egpj.exe",
    'a:b*c?d"e<f>g|h',
    "\x00\x1b[31mred",
    "   ",
]


@pytest.mark.parametrize("platform", HOSTILE)
def test_download_name_of_a_hostile_platform_stays_in_the_download_folder(platform):
    name = download_name(letter(), sent_on=date(2026, 11, 28), platform=platform, extension="pdf")
    assert name.startswith("2026-11-28 access request") and name.endswith(".pdf")
    assert len(name) <= 120 and len(name.encode()) <= 255
    assert not set(name) & set("/\\:*?\"<>|'`") and all(c.isprintable() for c in name)
    assert not name.startswith(".") and "\u202e" not in name
    for path in (PurePosixPath(name), PureWindowsPath(name)):
        assert path.name == name and len(path.parts) == 1
    stem = name.split(".")[0].upper()
    assert stem not in {"CON", "PRN", "AUX", "NUL"}


def test_letters_to_different_platforms_never_share_a_name():
    names = ["A/B", "A:B", "A B", "A  B", "x" * 500, "x" * 499 + "y", "", "CON", "Con"]
    made = {download_name(letter(), sent_on=date(2026, 11, 28), platform=p, extension="pdf") for p in names}
    assert len(made) == len(names)


def test_download_name_refuses_an_extension_that_is_not_one():
    for extension in ("pdf/../x", "", "p df", "x" * 11):
        with pytest.raises(LetterError, match="expected a file extension"):
            download_name(letter(), sent_on=date(2026, 11, 28), platform="X", extension=extension)
