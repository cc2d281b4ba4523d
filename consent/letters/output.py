"""A composed letter as plain text, PDF, an e-mail message (.eml) or a mailto link.

Text from the person (names, addresses, details) is escaped wherever it enters markup:
reportlab's paragraph markup for the PDF, and e-mail headers, where a line break could
otherwise start a header of its own.
"""

from __future__ import annotations

import io
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from consent.letters import Letter, LetterError

#: Beyond this, browsers and mail programs truncate or refuse a mailto: link; the page
#: offers the text to copy instead.
MAILTO_LIMIT = 2000
FONT = "ConsentVera"


def register_font() -> None:
    # Bitstream Vera ships with reportlab and covers what the three languages need
    # (é, è, à, ç, œ, ä, ö, ü, ß, €); the PDF base fonts would not embed them.
    if FONT not in pdfmetrics.getRegisteredFontNames():
        fonts = Path(reportlab.__file__).parent / "fonts"
        pdfmetrics.registerFont(TTFont(FONT, str(fonts / "Vera.ttf")))


def one_line(text: str) -> str:
    """Text fit for a header: any line break becomes a space."""
    return " ".join(text.split())


def to_pdf(letter: Letter) -> bytes:
    register_font()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=one_line(letter.subject),
        author=one_line(letter.sender.name),
        lang=letter.language,
    )
    style = ParagraphStyle("letter", fontName=FONT, fontSize=10.5, leading=14.5)
    story: list[object] = []
    for block in letter.text.split("\n\n"):
        # escape() first: a "<" or "&" typed by the person is text, not reportlab markup.
        story.append(Paragraph(escape(block).replace("\n", "<br/>"), style))
        story.append(Spacer(1, 3.5 * mm))
    document.build(story)
    return out.getvalue()


def to_email(letter: Letter, *, now: datetime) -> EmailMessage:
    """The letter as an e-mail from the person to the recipient's address."""
    message = EmailMessage()
    if letter.sender.email.strip():  # without one, the mail program fills in From
        message["From"] = _address(letter.sender.name, letter.sender.email)
    message["To"] = _address(letter.recipient.name, letter.recipient.email)
    message["Subject"] = one_line(letter.subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=one_line(letter.sender.email).rpartition("@")[2] or None)
    message.set_content(letter.text)
    # After set_content, which replaces the Content-* headers.
    message["Content-Language"] = letter.language
    return message


def _address(name: str, email: str) -> Address:
    try:
        return Address(display_name=one_line(name), addr_spec=one_line(email))
    except (ValueError, IndexError, HeaderParseError):
        raise LetterError(f"not a usable e-mail address: {one_line(email)[:80]!r}") from None


def mailto(letter: Letter) -> str | None:
    """A mailto: link carrying the letter, or None when it would be too long for one."""
    link = (
        f"mailto:{quote(one_line(letter.recipient.email), safe='@')}"
        f"?subject={quote(one_line(letter.subject))}&body={quote(letter.text)}"
    )
    return link if len(link) <= MAILTO_LIMIT else None
