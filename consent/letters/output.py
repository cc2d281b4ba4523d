"""A composed letter as plain text, PDF, an e-mail message (.eml), a mail link or a file name.

Text from the person (names, addresses, details) is escaped wherever it enters markup:
reportlab's paragraph markup for the PDF, e-mail headers (where a line break could
otherwise start a header of its own) and mailto: links (where ``?``, ``&`` or a comma
could otherwise add a parameter or a recipient).

The PDF places each block where a window envelope shows it, by the convention of the
letter's language (see ``LAYOUTS``): DIN 5008 Form B for German, the French convention
(sender top left, recipient on the right) for French, and a left window for the others.
A letter that kept only its text (one stored before letters had parts) is laid out as
paragraphs, one under the other.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm as _points_per_mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer

from consent.letters import Letter, LetterError
from consent.resources import resource_dir

#: Beyond this, browsers and mail programs truncate or refuse a mailto: link; the page
#: offers the text to copy instead.
MAILTO_LIMIT = 2000
FONT = "ConsentVera"
FONT_BOLD = "ConsentVeraBold"
#: Points in a millimetre (reportlab has no type hints: this keeps arithmetic typed).
mm: float = _points_per_mm
PAGE_WIDTH, PAGE_HEIGHT = float(A4[0]), float(A4[1])

#: "Page 2 of 3" in each language a letter may be written in; English for any other.
PAGE_OF = {
    "fr": "Page {page} sur {pages}",
    "en": "Page {page} of {pages}",
    "de": "Seite {page} von {pages}",
    "es": "Página {page} de {pages}",
    "it": "Pagina {page} di {pages}",
    "nl": "Pagina {page} van {pages}",
    "pl": "Strona {page} z {pages}",
    "pt": "Página {page} de {pages}",
}


def font_file(name: str) -> Path | None:
    """A font the project ships in its fonts/ folder (DejaVuSans.ttf...), if it is there."""
    with contextlib.suppress(FileNotFoundError):
        path = resource_dir("fonts") / name
        if path.is_file():
            return path
    return None


def _font_files() -> tuple[Path, Path]:
    """The regular and bold faces of the letters' font.

    DejaVu Sans, which the project ships, is Bitstream Vera extended to every letter of
    Europe's alphabets (Polish ą, ę, ł, ń, ś, ź, ż; Czech ř; Romanian ș), with Vera's
    shapes and widths. Without it, Bitstream Vera, which ships with reportlab but stops at
    Latin-1 (and Œ, Š, Ž)."""
    regular, bold = font_file("DejaVuSans.ttf"), font_file("DejaVuSans-Bold.ttf")
    if regular is not None and bold is not None:
        return regular, bold
    vera = Path(reportlab.__file__).parent / "fonts"
    return vera / "Vera.ttf", vera / "VeraBd.ttf"


def register_font() -> None:
    # The PDF base fonts would not embed the letters' accents; an embedded TrueType font does.
    if FONT not in pdfmetrics.getRegisteredFontNames():
        regular, bold = _font_files()
        pdfmetrics.registerFont(TTFont(FONT, str(regular)))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def one_line(text: str) -> str:
    """Text fit for a header: any line break becomes a space."""
    return " ".join(text.split())


# --- layouts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A rectangle on an A4 page, in millimetres from the top-left corner, as the
    standards measure it."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True)
class Layout:
    """Where the first page of a letter puts each block.

    ``recipient`` is where the recipient's lines are written: inside the window of the
    envelope the layout is made for. ``sender`` is the most room the sender's block may
    take (top left, or DIN 5008's information block, which ends with the date when
    ``date_in_sender``). ``date`` is where the date line goes otherwise, right-aligned
    at the box's right edge when ``date_right``. The subject starts at ``subject_top`` at
    the earliest, and never less than one line below the blocks above it."""

    name: str
    margin_left: float
    margin_right: float
    recipient: Box
    sender: Box
    date: Box
    subject_top: float
    #: DIN 5008: the sender's return address, one line in small type, at the foot of the
    #: "Zusatz- und Vermerkzone" just above the recipient.
    return_address: Box | None = None
    date_in_sender: bool = False
    date_right: bool = False
    #: DIN 5008: fold marks and the hole mark in the left margin, mm from the top.
    marks: tuple[float, ...] = ()
    sender_size: float = 10.0
    #: The space between the subject and the salutation.
    after_subject: float = 5.0


# DIN 5008:2020, Form B (the address field set low, for window envelopes DL, C5 and C6
# after DIN 680): the address field is 85 x 45 mm, 45 mm from the top edge and 20 mm from
# the left edge, the text in it starting at the 25 mm left margin; its top 17.7 mm are the
# "Zusatz- und Vermerkzone" (five lines, written bottom up, 8 pt recommended, 6 pt at
# least), the 27.3 mm below it the "Anschriftzone" (six lines, 8 pt at least). The
# information block stands 125 mm from the left edge, 50 mm from the top, 75 mm wide. The
# subject (no word "Betreff") comes two blank lines (2 x 4.23 mm) after the address field,
# the salutation two blank lines after it. Fold marks at 105 and 210 mm, hole mark at 148.5.
_DIN_5008_B = Layout(
    name="DIN 5008 Form B",
    margin_left=25,
    margin_right=20,
    return_address=Box(25, 45, 80, 17.7),
    recipient=Box(25, 62.7, 80, 27.3),
    sender=Box(125, 50, 75, 48),
    date=Box(125, 50, 75, 48),
    date_in_sender=True,
    subject_top=90 + 2 * 4.23,
    marks=(105, 148.5, 210),
    sender_size=9,
    after_subject=8.5,
)
# The French convention (AFNOR NF Z 11-001, La Poste's guidance for window envelopes): the
# sender top left, the recipient on the right, where the 45 x 100 mm window of a DL
# envelope (110 x 220 mm), 20 mm from its right edge and 15 mm from its foot, shows it.
# The sheet folded in three (99 mm) can sit 0 to 11 mm below the envelope's top edge and
# 5 mm to either side, so the window always shows 50-84 mm from the top and 100-190 mm
# from the left: the recipient goes there, from 110 mm (11 cm, as La Poste advises). The
# date stands under the window, then "Objet :" in bold.
_FRENCH = Layout(
    name="française",
    margin_left=20,
    margin_right=20,
    recipient=Box(110, 50, 80, 34),
    sender=Box(20, 20, 85, 70),
    date=Box(110, 97, 80, 12),
    subject_top=114,
)
# Elsewhere in Europe the window is on the left, as DIN 5008 Form B's address field, which
# C5, C6/5 and DL windows (DIN 680, ISO 269: 20 mm from the left edge, 45 x 90 mm) show:
# the sheet sits 0 to 5 mm below the envelope's top, so the window always shows 50-90 mm
# from the top. The recipient goes there, at the 25 mm margin; the sender's block above
# it, hidden by the envelope; the date right-aligned under the window.
_NEUTRAL = Layout(
    name="neutral",
    margin_left=25,
    margin_right=20,
    recipient=Box(25, 50, 80, 40),
    sender=Box(25, 12, 100, 31),
    date=Box(25, 97, 165, 12),
    date_right=True,
    subject_top=111,
    sender_size=9,
)
#: The layout of each language that has its own; every other language takes ``neutral``.
LAYOUTS = {"de": _DIN_5008_B, "fr": _FRENCH}
NEUTRAL = _NEUTRAL


def layout_for(language: str) -> Layout:
    """The layout a letter in this language is printed with."""
    return LAYOUTS.get(language, NEUTRAL)


_BODY_SIZE, _BODY_LEADING = 10.5, 14.5
_BOTTOM_MARGIN, _TOP_MARGIN = 25.0, 20.0
#: Smaller than this, an address on paper is hard to read (DIN 5008 allows 6 pt for the
#: return address only); a block that does not fit at this size is not squeezed further.
_MIN_SIZE = 6.0
#: A glyph of Bitstream Vera reaches at most one size above its baseline, a quarter below.
_DESCENT = 0.25
_LINE = 1.2


@dataclass(frozen=True)
class _Fitted:
    lines: tuple[str, ...]
    size: float
    leading: float


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """The line broken at spaces to fit ``width`` points, a word wider than that (a long
    e-mail address) cut where it must be."""
    lines: list[str] = []
    for part in simpleSplit(text, font, size, width) or [""]:
        rest = part
        while pdfmetrics.stringWidth(rest, font, size) > width:
            cut, used = 0, 0.0
            for char in rest:
                used += pdfmetrics.stringWidth(char, font, size)
                if used > width:
                    break
                cut += 1
            lines.append(rest[: max(cut, 1)])
            rest = rest[max(cut, 1) :]
        lines.append(rest)
    return lines


def _fit(lines: list[str], box: Box, *, font: str, size: float) -> _Fitted | None:
    """The lines in the largest size from ``size`` down that fits them in the box, or None."""
    while size >= _MIN_SIZE:
        leading = size * _LINE
        wrapped = [part for line in lines for part in _wrap(line, font, size, box.width * mm)]
        if size * (1 + _DESCENT) + (len(wrapped) - 1) * leading <= box.height * mm:
            return _Fitted(tuple(wrapped), size, leading)
        size -= 0.5
    return None


def _draw(canvas: Any, fitted: _Fitted, box: Box, *, font: str, right: bool = False, bottom: bool = False) -> None:
    """Draws the lines in the box, from its top (or up from its bottom)."""
    canvas.setFont(font, fitted.size)
    count = len(fitted.lines)
    if bottom:
        first = box.bottom * mm - fitted.size * _DESCENT - (count - 1) * fitted.leading
    else:
        first = box.top * mm + fitted.size
    for n, line in enumerate(fitted.lines):
        y = PAGE_HEIGHT - first - n * fitted.leading
        if right:
            canvas.drawRightString(box.right * mm, y, line)
        else:
            canvas.drawString(box.left * mm, y, line)


def _lines(block: str) -> list[str]:
    # No blank line in an address field (DIN 5008), and none needed in a sender's block.
    return [one_line(line) for line in block.splitlines() if line.strip()]


def _return_address(letter: Letter) -> str:
    return " · ".join(_lines("\n".join([letter.sender.name, letter.sender.address])))


@dataclass(frozen=True)
class _Placed:
    """The first page's blocks, fitted to their places."""

    recipient: _Fitted
    sender: _Fitted
    date: _Fitted | None
    return_address: _Fitted | None
    #: Where the subject starts, mm from the top.
    flow_top: float


def _place(letter: Letter, layout: Layout) -> _Placed | None:
    """Each block fitted to its place, or None when one does not fit (an address of
    twenty lines): the letter is then laid out as paragraphs rather than cut."""
    recipient = _fit(_lines(letter.recipient_block), layout.recipient, font=FONT, size=10)
    sender_lines = _lines(letter.sender_block)
    if layout.date_in_sender:
        sender_lines += ["", one_line(letter.dateline)]
    sender = _fit(sender_lines, layout.sender, font=FONT, size=layout.sender_size)
    date_line = None
    if not layout.date_in_sender:
        date_line = _fit([one_line(letter.dateline)], layout.date, font=FONT, size=10)
    back = None
    if layout.return_address is not None and letter.sender.address.strip():
        # Three lines at most: the zone above it is for the post's own marks.
        back = _fit([_return_address(letter)], layout.return_address, font=FONT, size=7)
        if back is not None and len(back.lines) > 3:
            back = None
    if recipient is None or sender is None or (date_line is None and not layout.date_in_sender):
        return None
    sender_bottom = layout.sender.top + _height(sender)
    date_bottom = layout.date.top + _height(date_line) if date_line else 0.0
    flow_top = max(layout.subject_top, sender_bottom + 6, date_bottom + 6)
    return _Placed(recipient, sender, date_line, back, flow_top)


def _height(fitted: _Fitted) -> float:
    return (fitted.size * (1 + _DESCENT) + (len(fitted.lines) - 1) * fitted.leading) / mm


def _paragraphs(text: str, style: ParagraphStyle) -> list[Any]:
    story: list[Any] = []
    for block in text.strip().split("\n\n"):
        # escape() first: a "<" or "&" typed by the person is text, not reportlab markup.
        story.append(Paragraph(escape(block).replace("\n", "<br/>"), style))
        story.append(Spacer(1, 3.5 * mm))
    return story


def _styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    body = ParagraphStyle("letter", fontName=FONT, fontSize=_BODY_SIZE, leading=_BODY_LEADING)
    subject = ParagraphStyle("subject", parent=body, fontName=FONT_BOLD)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)
    return body, subject, right


def _heading(canvas: Any, heading: str, layout: Layout) -> None:
    """An exhibit's label, on one line above everything else on the first page."""
    width = PAGE_WIDTH - (layout.margin_left + layout.margin_right) * mm
    size = 8.0
    while size > _MIN_SIZE and pdfmetrics.stringWidth(heading, FONT_BOLD, size) > width:
        size -= 0.5
    # No page is wide enough for more than a few hundred characters, whatever the title.
    text = heading if len(heading) <= 300 else heading[:299] + "…"
    while len(text) > 1 and pdfmetrics.stringWidth(text, FONT_BOLD, size) > width:
        text = text[:-2] + "…"
    canvas.setFont(FONT_BOLD, size)
    canvas.drawString(layout.margin_left * mm, PAGE_HEIGHT - 9 * mm, text)


def _page_number(canvas: Any, language: str, total: int, layout: Layout) -> None:
    if total < 2:
        return
    canvas.setFont(FONT, 8)
    phrase = PAGE_OF.get(language, PAGE_OF["en"]).format(page=canvas.getPageNumber(), pages=total)
    canvas.drawRightString(PAGE_WIDTH - layout.margin_right * mm, 12 * mm, phrase)


def _marks(canvas: Any, layout: Layout) -> None:
    canvas.setLineWidth(0.3)
    for top in layout.marks:
        # The hole mark a little longer than the fold marks, to tell them apart.
        length = 7 if top == 148.5 else 5
        canvas.line(3 * mm, PAGE_HEIGHT - top * mm, (3 + length) * mm, PAGE_HEIGHT - top * mm)


def _render(letter: Letter, *, heading: str, total: int) -> tuple[bytes, int]:
    """One pass of the layout: the PDF and its number of pages. Page numbers need the
    total, so a letter of two pages or more is laid out twice."""
    layout = layout_for(letter.language)
    placed = _place(letter, layout) if letter.body.strip() else None
    body, subject, right = _styles()
    out = io.BytesIO()
    width = PAGE_WIDTH - (layout.margin_left + layout.margin_right) * mm
    later = Frame(
        layout.margin_left * mm,
        _BOTTOM_MARGIN * mm,
        width,
        PAGE_HEIGHT - (_TOP_MARGIN + _BOTTOM_MARGIN) * mm,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="later",
    )
    first_top = placed.flow_top if placed else (16.0 if heading else _TOP_MARGIN)
    first = Frame(
        layout.margin_left * mm,
        _BOTTOM_MARGIN * mm,
        width,
        PAGE_HEIGHT - (first_top + _BOTTOM_MARGIN) * mm,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="first",
    )

    def on_first(canvas: Any, _document: Any) -> None:
        if heading:
            _heading(canvas, heading, layout)
        if placed is not None:
            _draw(canvas, placed.recipient, layout.recipient, font=FONT)
            _draw(canvas, placed.sender, layout.sender, font=FONT)
            if placed.date is not None:
                _draw(canvas, placed.date, layout.date, font=FONT, right=layout.date_right)
            if placed.return_address is not None and layout.return_address is not None:
                _draw(canvas, placed.return_address, layout.return_address, font=FONT, bottom=True)
            _marks(canvas, layout)
        _page_number(canvas, letter.language, total, layout)

    def on_later(canvas: Any, _document: Any) -> None:
        _page_number(canvas, letter.language, total, layout)

    document = BaseDocTemplate(
        out,
        pagesize=A4,
        title=one_line(letter.subject),
        author=one_line(letter.sender.name),
        lang=letter.language,
        pageTemplates=[
            PageTemplate("first", [first], onPage=on_first, autoNextPageTemplate="later"),
            PageTemplate("later", [later], onPage=on_later),
        ],
    )
    story: list[Any] = []
    if placed is not None:
        subject_style = ParagraphStyle("subject-after", parent=subject, spaceAfter=layout.after_subject * mm)
        story.append(Paragraph(escape(letter.subject_label + one_line(letter.subject)), subject_style))
        story += _paragraphs(letter.body, body)
    elif letter.body.strip():
        # A block too long for its place: every part, one under the other, nothing cut.
        story += _paragraphs(letter.sender_block, body)
        story += _paragraphs(letter.recipient_block, body)
        story += _paragraphs(letter.dateline, right)
        story.append(Paragraph(escape(letter.subject_label + one_line(letter.subject)), subject))
        story.append(Spacer(1, 3.5 * mm))
        story += _paragraphs(letter.body, body)
    else:
        story += _paragraphs(letter.text, body)
    document.build(story)
    return out.getvalue(), int(document.page)


def to_pdf(letter: Letter, *, heading: str = "") -> bytes:
    """The letter on A4 pages, laid out for a window envelope by the convention of its
    language, with "Page 2 of 3" on every page when there is more than one. ``heading``
    is a line printed above everything on the first page (an exhibit's label)."""
    register_font()
    pdf, pages = _render(letter, heading=heading, total=1)
    if pages > 1:
        # Page numbers sit below the frames: the second pass breaks pages where the first did.
        pdf, _ = _render(letter, heading=heading, total=pages)
    return pdf


# --- e-mail ---------------------------------------------------------------------------------


def to_email(letter: Letter, *, now: datetime) -> EmailMessage:
    """The letter as an e-mail from the person to the recipient's address, as text/plain
    in UTF-8 and marked as a draft to send."""
    message = EmailMessage()
    if letter.sender.email.strip():  # without one, the mail program fills in From
        message["From"] = _address(letter.sender.name, letter.sender.email)
    message["To"] = _address(letter.recipient.name, letter.recipient.email)
    message["Subject"] = one_line(letter.subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=one_line(letter.sender.email).rpartition("@")[2] or None)
    # The person downloads this file to send it from their own mail program: Outlook opens
    # a message marked X-Unsent as a draft with a Send button, not as a message received
    # (mail programs that do not know the header show it as it is).
    message["X-Unsent"] = "1"
    # Quoted-printable keeps each paragraph one long line once decoded, so every mail
    # program wraps it to its window, and a line never breaks mid-word in transit.
    message.set_content(letter.text, charset="utf-8", cte="quoted-printable")
    # After set_content, which replaces the Content-* headers.
    message["Content-Language"] = letter.language
    return message


def _address(name: str, email: str) -> Address:
    # A name is only a label: the characters that delimit addresses in a header are
    # dropped, because Python's folding of a long name can lose its quotes, and a name
    # such as 'Office: dpo@evil.example, "X"' would then add a recipient.
    label = one_line(re.sub(r'[",:;<>@()\[\]\\]', " ", name))
    try:
        return Address(display_name=label, addr_spec=one_line(email))
    except (ValueError, IndexError, HeaderParseError):
        raise LetterError(f"not a usable e-mail address: {one_line(email)[:80]!r}") from None


# --- mail links -----------------------------------------------------------------------------

# RFC 5322 atext (and letters beyond ASCII, RFC 6532), a domain of letters, digits and
# hyphens: no comma, semicolon, quote or bracket, with which a mail program could read a
# second recipient into the link.
_ATEXT = r"[\w!#$%&'*+/=?^`{|}~-]"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_LINK_ADDRESS = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_LABEL}(?:\.{_LABEL})+")
#: RFC 5321: a path holds 256 octets, brackets included.
_ADDRESS_LIMIT = 254


def _link_recipient(email: str) -> str:
    """The address percent-encoded for a mailto: link (RFC 6068), or "" when it is not one
    plain address: the link then opens a message without a recipient, to type in, rather
    than one to someone else or with a header the person did not write."""
    text = one_line(email)
    if len(text) > _ADDRESS_LIMIT or not _LINK_ADDRESS.fullmatch(text):
        return ""
    return quote(text, safe="@")


def _encode(text: str) -> str:
    # RFC 6068: a line break in a body is %0D%0A; nothing is left unencoded but unreserved characters.
    return quote(text.replace("\r\n", "\n").replace("\n", "\r\n"), safe="", errors="replace")


def _encode_within(text: str, budget: int) -> str:
    """The longest start of the text whose encoding fits ``budget`` characters, ending
    with "…" when it was cut."""
    encoded = _encode(text)
    if len(encoded) <= budget:
        return encoded
    ellipsis = _encode("…")
    kept: list[str] = []
    used = len(ellipsis)
    for char in text:
        piece = _encode(char)
        if used + len(piece) > budget:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + ellipsis


def mailto(letter: Letter) -> str | None:
    """A mailto: link carrying the letter, or None when it would be too long for one."""
    link = (
        f"mailto:{_link_recipient(letter.recipient.email)}"
        f"?subject={_encode(one_line(letter.subject))}&body={_encode(letter.text)}"
    )
    return link if len(link) <= MAILTO_LIMIT else None


#: What a short link's note and subject may take at most, encoded, so that the link stays
#: under the limit with the longest address (254 characters, each up to 12 once encoded).
_NOTE_BUDGET, _SUBJECT_BUDGET = 600, 600


def short_mailto(letter: Letter, *, note: str) -> str:
    """A mailto: link with the recipient, the subject and ``note`` as the body (a sentence
    in the letter's language: "The full text of my letter follows; paste it here."), for a
    letter too long to travel in a link: the person opens their mail program with it and
    pastes the full text. Always under ``MAILTO_LIMIT`` characters."""
    recipient = _link_recipient(letter.recipient.email)
    if len(recipient) > MAILTO_LIMIT - _NOTE_BUDGET - _SUBJECT_BUDGET - 40:
        recipient = ""
    body = _encode_within(one_line(note) + "\n\n", _NOTE_BUDGET)
    subject = _encode_within(one_line(letter.subject), _SUBJECT_BUDGET)
    return f"mailto:{recipient}?subject={subject}&body={body}"


# --- file names -----------------------------------------------------------------------------

#: What each kind of letter is called in a file name: in English whatever the letter's
#: language, so that one person's letters in several languages sort and read alike in one
#: folder, and the name means the same to a person who does not read the letter's language.
_FILE_KINDS = {
    "access": "access request",
    "rectification": "rectification request",
    "erasure": "erasure request",
    "restriction": "restriction request",
    "portability": "portability request",
    "objection": "objection",
    "withdrawal": "withdrawal of consent",
    "reminder": "reminder",
    "complaint": "complaint",
}
#: Characters no file name may hold on Windows, macOS or Linux, and quotes, which break
#: the Content-Disposition header in some browsers; an apostrophe reads on as a typographic one.
_UNSAFE = re.compile(r"""[/\\:*?"<>|`]""")
_NAME_LIMIT = 120
#: Some file systems (ext4, APFS) count bytes, 255 at most; a name of letters beyond
#: ASCII stays well under.
_NAME_BYTES = 200
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")


def _safe(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # Control and format characters (a line break, a right-to-left override that would
    # show "exe.pdf" as "fdp.exe") and unassigned ones go; unsafe punctuation becomes a space.
    text = "".join(" " if unicodedata.category(c) in ("Zl", "Zp") else c for c in text)
    text = "".join(c for c in text if not unicodedata.category(c).startswith("C"))
    return " ".join(_UNSAFE.sub(" ", text.replace("'", "\u2019")).split()).strip(" .-")


def download_name(letter: Letter, *, sent_on: date, platform: str, extension: str) -> str:
    """A file name for the letter: "2026-11-28 access request - Instagram.pdf".

    Only characters safe in a file name on any system; the platform's name is kept as it
    reads, and when it had to be changed (unsafe characters, too long) a short fingerprint
    of the original follows it, so that letters to two platforms never share a name."""
    ext = extension.removeprefix(".")
    if not _EXTENSION.fullmatch(ext):
        raise LetterError(f"expected a file extension of letters and digits, got {extension!r}")
    stem = f"{sent_on.isoformat()} {_FILE_KINDS.get(letter.kind, _safe(letter.kind)[:30] or 'letter')}"
    name = _safe(platform)
    changed = name != platform
    tag = f" ({hashlib.sha256(platform.encode('utf-8', 'surrogatepass')).hexdigest()[:8]})"

    def whole(part: str, mark: bool) -> str:
        return f"{stem} - {part}{tag if mark else ''}.{ext}" if part else f"{stem}{tag if mark else ''}.{ext}"

    def fits(text: str) -> bool:
        return len(text) <= _NAME_LIMIT and len(text.encode("utf-8")) <= _NAME_BYTES

    if not changed and fits(whole(name, False)):
        return whole(name, False)
    while name and not fits(whole(name, True)):
        name = name[:-1].rstrip(" .-")
    return whole(name, True)
