"""The evidence bundle of a complaint: one PDF that a supervisory authority can read and check.

In order: the complaint, laid out as a letter; each exhibit in the order given, numbered
from 1 as the complaint's list of enclosures names them, each from a new page under its
heading; then an appendix that tells a DPO how to check these records against the
person's signed consent ledger, offline.

A letter the person sent is laid out as a letter. An answer received shows the person's
note, then its file: a PDF is appended page by page, as received but for its links,
scripts and attachments, which are removed; a PNG or JPEG image is scaled to a page;
anything else, and a file that cannot be read, is listed by name, size and SHA-256 and
never opened further. Work is bounded (``MAX_*``): a file beyond a bound is listed, not
shown. Pure: no Flask, no database.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import segno
from PIL import Image as PILImage
from PIL import ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, Preformatted, SimpleDocTemplate, Spacer

from consent.letters import LANGUAGES, Letter, LetterError, day
from consent.letters.output import FONT, FONT_BOLD, font_file, mm, one_line, register_font, to_pdf

MIB = 1024 * 1024
#: A PDF answer larger than this, or longer, is listed rather than appended: a 50-page
#: answer takes well under a second, and a file of hundreds of pages is better sent apart.
MAX_PDF_BYTES = 10 * MIB
MAX_PDF_PAGES = 200
#: An image is decoded to be scaled: 40 million pixels is a 7,000 x 5,700 photo, 160 MB
#: in memory at most.
MAX_IMAGE_BYTES = 10 * MIB
MAX_IMAGE_PIXELS = 40_000_000
#: All the files shown in one bundle together: beyond, further files are listed.
MAX_SHOWN_BYTES = 50 * MIB
#: A receipt longer than this is listed by its SHA-256 rather than printed (64 KiB is
#: about twenty pages in small type; a receipt is usually a few kilobytes).
MAX_RECEIPT_CHARS = 64 * 1024

_MONO_SIZE = 7.0
#: A monospaced character's width, in ems (DejaVu Sans Mono 0.602, Courier 0.6).
_MONO_ADVANCE = 0.61
#: The words of the bundle in the languages it has them in; English for the others.
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "sent": "Exhibit {n}: {title}, sent on {date}",
        "received": "Exhibit {n}: {title}, received on {date}",
        "complaint": "The complaint",
        "file": "File: {name}, {size} bytes",
        "shown_pdf": "Its pages follow, as received (links and scripts removed).",
        "shown_image": "The image follows, scaled to the page.",
        "other": "Not shown: only PDF files and PNG or JPEG images are shown. It is listed here so that it can be compared with the copy the person keeps.",
        "unreadable_pdf": "Not shown: the file could not be read as a PDF.",
        "unreadable_image": "Not shown: the file could not be read as an image.",
        "too_large": "Not shown: the file is larger than {limit}.",
        "too_many_pages": "Not shown: the file has more than {limit} pages.",
        "too_much": "Not shown: the files shown in this bundle already reach {limit}.",
        "appendix": "How to check these records",
        "ledger": "The person who makes this complaint keeps a consent ledger: a record to which entries can only be added, each state of it signed with their key. When a letter is sent, the ledger records the SHA-256 fingerprint of its exact text (in UTF-8); when an answer is received, that of the file received, or of the person's note when there is no file.",
        "fingerprints": "The SHA-256 fingerprints of the documents in this bundle:",
        "key": "The ledger is signed with the key whose fingerprint is:",
        "receipts": "Ledger receipts. Each proves that one entry, with its fingerprint and date, is in the ledger signed with that key:",
        "receipt_too_long": "Receipt {n}: {size} characters, SHA-256 {sha256} (too long to print; the person can provide it as a file).",
        "how": "How to check them, offline:",
        "step_hash": "Compute the SHA-256 of a letter's text file (the person can provide each letter as text) or of a file received, for example with sha256sum on Linux, shasum -a 256 on macOS or Get-FileHash on Windows. It must equal the fingerprint above and the one in the matching receipt.",
        "step_receipt": "Check each receipt as the instructions below explain: they need no account and no connection to the person's server.",
        "step_key": "Check that the key named in the receipts has the fingerprint above, and compare it with the one the person gives you by other means (for example their printed key card).",
        "instructions": "Verification instructions:",
    },
    "fr": {
        "sent": "Pièce {n} : {title}, envoi du {date}",
        "received": "Pièce {n} : {title}, réception du {date}",
        "complaint": "La plainte",
        "file": "Fichier : {name}, {size} octets",
        "shown_pdf": "Ses pages suivent, telles que reçues (liens et scripts retirés).",
        "shown_image": "L'image suit, à l'échelle de la page.",
        "other": "Non reproduit : seuls les fichiers PDF et les images PNG ou JPEG sont reproduits. Le fichier est listé ici pour pouvoir être comparé à la copie que la personne conserve.",
        "unreadable_pdf": "Non reproduit : le fichier n'a pas pu être lu comme un PDF.",
        "unreadable_image": "Non reproduit : le fichier n'a pas pu être lu comme une image.",
        "too_large": "Non reproduit : le fichier dépasse {limit}.",
        "too_many_pages": "Non reproduit : le fichier compte plus de {limit} pages.",
        "too_much": "Non reproduit : les fichiers reproduits dans ce dossier atteignent déjà {limit}.",
        "appendix": "Comment vérifier ces pièces",
        "ledger": "La personne qui dépose cette plainte tient un registre de consentements : un registre auquel on ne peut qu'ajouter des entrées, dont chaque état est signé de sa clé. À l'envoi d'un courrier, le registre enregistre l'empreinte SHA-256 de son texte exact (en UTF-8) ; à la réception d'une réponse, celle du fichier reçu, ou de la note de la personne en l'absence de fichier.",
        "fingerprints": "Les empreintes SHA-256 des documents de ce dossier :",
        "key": "Le registre est signé avec la clé dont l'empreinte est :",
        "receipts": "Reçus du registre. Chacun prouve qu'une entrée, avec son empreinte et sa date, figure dans le registre signé avec cette clé :",
        "receipt_too_long": "Reçu {n} : {size} caractères, SHA-256 {sha256} (trop long pour être imprimé ; la personne peut le fournir sous forme de fichier).",
        "how": "Comment les vérifier, hors ligne :",
        "step_hash": "Calculez l'empreinte SHA-256 du fichier texte d'un courrier (la personne peut fournir chaque courrier en texte) ou d'un fichier reçu, par exemple avec sha256sum sous Linux, shasum -a 256 sous macOS ou Get-FileHash sous Windows. Elle doit être égale à l'empreinte ci-dessus et à celle du reçu correspondant.",
        "step_receipt": "Vérifiez chaque reçu comme l'expliquent les instructions ci-dessous : elles ne demandent ni compte ni connexion au serveur de la personne.",
        "step_key": "Vérifiez que la clé nommée dans les reçus a l'empreinte ci-dessus, et comparez-la à celle que la personne vous donne par un autre moyen (par exemple sa carte de clé imprimée).",
        "instructions": "Instructions de vérification :",
    },
    "de": {
        "sent": "Anlage {n}: {title}, versandt am {date}",
        "received": "Anlage {n}: {title}, eingegangen am {date}",
        "complaint": "Die Beschwerde",
        "file": "Datei: {name}, {size} Byte",
        "shown_pdf": "Ihre Seiten folgen wie erhalten (ohne Links und Skripte).",
        "shown_image": "Das Bild folgt, auf die Seite skaliert.",
        "other": "Nicht wiedergegeben: Wiedergegeben werden nur PDF-Dateien und PNG- oder JPEG-Bilder. Die Datei ist hier aufgeführt, damit sie mit der Kopie der Person verglichen werden kann.",
        "unreadable_pdf": "Nicht wiedergegeben: Die Datei ließ sich nicht als PDF lesen.",
        "unreadable_image": "Nicht wiedergegeben: Die Datei ließ sich nicht als Bild lesen.",
        "too_large": "Nicht wiedergegeben: Die Datei ist größer als {limit}.",
        "too_many_pages": "Nicht wiedergegeben: Die Datei hat mehr als {limit} Seiten.",
        "too_much": "Nicht wiedergegeben: Die wiedergegebenen Dateien dieser Unterlagen erreichen bereits {limit}.",
        "appendix": "So lassen sich diese Unterlagen prüfen",
        "ledger": "Die Person, die diese Beschwerde einreicht, führt ein Einwilligungsprotokoll: ein Verzeichnis, dem Einträge nur hinzugefügt werden können und dessen jeder Stand mit ihrem Schlüssel signiert ist. Beim Versand eines Schreibens hält es den SHA-256-Fingerabdruck seines genauen Textes (in UTF-8) fest, beim Eingang einer Antwort den der erhaltenen Datei oder, ohne Datei, den der Notiz der Person.",
        "fingerprints": "Die SHA-256-Fingerabdrücke der Dokumente dieser Unterlagen:",
        "key": "Das Protokoll ist mit dem Schlüssel signiert, dessen Fingerabdruck lautet:",
        "receipts": "Belege aus dem Protokoll. Jeder weist nach, dass ein Eintrag mit seinem Fingerabdruck und Datum in dem mit diesem Schlüssel signierten Protokoll steht:",
        "receipt_too_long": "Beleg {n}: {size} Zeichen, SHA-256 {sha256} (zu lang zum Drucken; die Person kann ihn als Datei vorlegen).",
        "how": "So prüfen Sie sie ohne Internetverbindung:",
        "step_hash": "Berechnen Sie den SHA-256-Wert der Textdatei eines Schreibens (die Person kann jedes Schreiben als Text vorlegen) oder einer erhaltenen Datei, etwa mit sha256sum unter Linux, shasum -a 256 unter macOS oder Get-FileHash unter Windows. Er muss dem Fingerabdruck oben und dem im zugehörigen Beleg entsprechen.",
        "step_receipt": "Prüfen Sie jeden Beleg, wie es die Anleitung unten erklärt: Sie brauchen dafür weder ein Konto noch eine Verbindung zum Server der Person.",
        "step_key": "Prüfen Sie, dass der in den Belegen genannte Schlüssel den Fingerabdruck oben hat, und vergleichen Sie ihn mit dem, den Ihnen die Person auf anderem Weg gibt (etwa auf ihrer gedruckten Schlüsselkarte).",
        "instructions": "Anleitung zur Prüfung:",
    },
}
_URL = re.compile(r"https?://[^\s<>\"'\\\x00-\x1f\x7f]+")
#: Annotations that carry a file, a sound or a movie: dropped from an appended answer.
_CARRIERS = frozenset({"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"})
#: What makes an annotation act (a link, a script, a form field's calculation): removed.
_ACTIONS = ("/A", "/AA", "/Parent")


@dataclass(frozen=True)
class Exhibit:
    """One document the complaint encloses, headed "Exhibit N: <title>, sent on <date>".

    A letter the person sent has ``letter`` (and ``on``, the day it was sent). Anything
    else is an answer received (``on``, the day it arrived): ``note``, what the person
    noted of it, and ``file``, the file as received, named ``file_name``."""

    title: str
    on: date
    letter: Letter | None = None
    note: str = ""
    file_name: str = ""
    file: bytes = field(default=b"", repr=False)


def to_evidence_pdf(
    complaint: Letter,
    exhibits: Sequence[Exhibit],
    *,
    receipts: Sequence[str],
    key_fingerprint: str,
    verify_url: str,
) -> bytes:
    """The complaint, its exhibits and the appendix for a DPO, as one PDF.

    ``receipts`` are the ledger receipts of the letters and answers (JSON texts, printed as
    given), ``key_fingerprint`` that of the key that signs the ledger, ``verify_url`` the
    address of the instructions for checking them (http or https, refused otherwise)."""
    if not _URL.fullmatch(verify_url):
        raise LetterError(f"expected an http(s) address for the verification instructions, got {verify_url[:80]!r}")
    register_font()
    language = complaint.language if complaint.language in _WORDS else "en"
    words = _WORDS[language]
    bundle = PdfWriter()
    _add(bundle, to_pdf(complaint), one_line(complaint.subject))
    shown = 0
    for n, exhibit in enumerate(exhibits, start=1):
        when = day(exhibit.on, language if language in LANGUAGES else "en")
        heading = words["sent" if exhibit.letter is not None else "received"].format(
            n=n, title=one_line(exhibit.title), date=when
        )
        if exhibit.letter is not None:
            _add(bundle, to_pdf(exhibit.letter, heading=heading), heading)
        if exhibit.letter is None or exhibit.note.strip() or exhibit.file_name or exhibit.file:
            (page, *appended), size = _answer(exhibit, heading, words, room=MAX_SHOWN_BYTES - shown)
            shown += size
            _add(bundle, page, heading if exhibit.letter is None else "")
            for part in appended:
                _add(bundle, part, "")
    _add(bundle, _appendix(complaint, exhibits, words, receipts, key_fingerprint, verify_url), words["appendix"])
    bundle.add_metadata({"/Title": one_line(complaint.subject), "/Author": one_line(complaint.sender.name)})
    out = io.BytesIO()
    bundle.write(out)
    return out.getvalue()


def _add(bundle: PdfWriter, pdf: bytes, title: str) -> None:
    """Appends the pages of a PDF this module made or checked, with a bookmark."""
    first = len(bundle.pages)
    for page in PdfReader(io.BytesIO(pdf)).pages:
        bundle.add_page(page)
    if title:
        bundle.add_outline_item(title=title, page_number=first)


# --- answers --------------------------------------------------------------------------------


@functools.cache
def _mono() -> tuple[str, frozenset[int]]:
    """The monospaced font and the characters it shows: DejaVu Sans Mono, which the
    project ships, or else Courier, which shows Windows-1252 only."""
    path = font_file("DejaVuSansMono.ttf")
    if path is None:
        return "Courier", frozenset(ord(c) for c in bytes(range(32, 256)).decode("cp1252", "ignore"))
    if "ConsentMono" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("ConsentMono", str(path)))
    return "ConsentMono", frozenset(pdfmetrics.getFont("ConsentMono").face.charToGlyph)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=14.5, spaceAfter=3.5 * mm)
    return {
        "body": body,
        "heading": ParagraphStyle(
            "heading", parent=body, fontName=FONT_BOLD, fontSize=12, leading=16, spaceAfter=6 * mm
        ),
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=12),
        "mono": ParagraphStyle(
            "mono", fontName=_mono()[0], fontSize=_MONO_SIZE, leading=_MONO_SIZE * 1.2, spaceAfter=3 * mm
        ),
    }


def _document(out: io.BytesIO) -> Any:
    return SimpleDocTemplate(
        out, pagesize=A4, leftMargin=25 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm
    )


def _frame() -> tuple[float, float]:
    """The width and height that _document's pages leave for text, in points (reportlab's
    frames keep 6 points of padding on each side)."""
    return float(A4[0]) - 45 * mm - 12, float(A4[1]) - 40 * mm - 12


def _paragraphs(text: str, style: ParagraphStyle) -> list[Any]:
    # escape() first: what the person typed, or a file's name, is text, not reportlab markup.
    return [Paragraph(escape(block).replace("\n", "<br/>"), style) for block in text.strip().split("\n\n") if block]


def _printable(name: str) -> str:
    """A file's name as it can be printed: on one line, without control characters (a
    right-to-left override would show "exe.pdf" as "fdp.exe"), and not endless."""
    kept = "".join(c for c in one_line(name) if c.isprintable())
    return kept if len(kept) <= 200 else kept[:199] + "…"


def _answer(exhibit: Exhibit, heading: str, words: dict[str, str], *, room: int) -> tuple[list[bytes], int]:
    """The exhibit's page (heading, note, what its file is), then the file's own pages when
    it is a PDF that can be shown; and how many bytes of file that shows."""
    data = exhibit.file
    appended: bytes | None = None
    image: Any = None
    verdict = ""
    if data or exhibit.file_name:
        verdict = "other"
        if (_is_pdf(data) or _is_image(data)) and len(data) > room:
            verdict = "too_much"
        elif _is_pdf(data):
            appended, verdict = _pdf_pages(data)
        elif _is_image(data):
            image, verdict = _image(data)
    if image is None:
        page = _answer_page(exhibit, heading, words, verdict, None)
    else:
        try:
            page = _answer_page(exhibit, heading, words, verdict, image)
        except Exception:
            # The image passed Pillow's checks but reportlab could not draw it: listed instead.
            image, verdict = None, "unreadable_image"
            page = _answer_page(exhibit, heading, words, verdict, None)
    shown = len(data) if appended is not None or image is not None else 0
    return [page] + ([appended] if appended is not None else []), shown


def _answer_page(exhibit: Exhibit, heading: str, words: dict[str, str], verdict: str, image: Any) -> bytes:
    styles = _styles()
    data = exhibit.file
    story: list[Any] = [Paragraph(escape(heading), styles["heading"])]
    story += _paragraphs(exhibit.note, styles["body"])
    if verdict:
        story.append(Spacer(1, 2 * mm))
        name = _printable(exhibit.file_name) or "-"
        story.append(Paragraph(escape(words["file"].format(name=name, size=len(data))), styles["small"]))
        story.append(Preformatted("SHA-256 " + hashlib.sha256(data).hexdigest(), styles["mono"]))
        limit = {
            "too_large": _size(MAX_PDF_BYTES if _is_pdf(data) else MAX_IMAGE_BYTES),
            "too_many_pages": str(MAX_PDF_PAGES),
            "too_much": _size(MAX_SHOWN_BYTES),
        }.get(verdict, "")
        story.append(Paragraph(escape(words[verdict].format(limit=limit)), styles["small"]))
    if image is not None:
        story += [Spacer(1, 4 * mm), image]
    out = io.BytesIO()
    _document(out).build(story)
    return out.getvalue()


def _size(limit: int) -> str:
    return f"{limit // MIB} MB"


def _is_pdf(data: bytes) -> bool:
    # The header may follow some bytes of junk, which readers tolerate (ISO 32000-2, 7.5.2).
    return b"%PDF-" in data[:1024]


def _is_image(data: bytes) -> bool:
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))


def _pdf_pages(data: bytes) -> tuple[bytes | None, str]:
    """The answer's pages written anew by pypdf, without what could act when viewed, or
    None and why it is not shown. The pages are written out and read back here, so that a
    fault in the file shows now, not when the bundle is written."""
    if len(data) > MAX_PDF_BYTES:
        return None, "too_large"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                return None, "unreadable_pdf"
            count = len(reader.pages)
            if count == 0:
                return None, "unreadable_pdf"
            if count > MAX_PDF_PAGES:
                return None, "too_many_pages"
            part = PdfWriter()
            for page in reader.pages:
                _defuse(part.add_page(page))
            out = io.BytesIO()
            part.write(out)
            if len(PdfReader(io.BytesIO(out.getvalue())).pages) != count:
                return None, "unreadable_pdf"
    except Exception:
        # pypdf raises many kinds of error on a malformed file (PdfReadError, KeyError,
        # ValueError, RecursionError...); whichever it is, the file is listed, not shown.
        return None, "unreadable_pdf"
    return out.getvalue(), "shown_pdf"


def _defuse(page: DictionaryObject) -> None:
    """Removes from a page what a PDF viewer could run or open: the page's actions, the
    actions of its annotations (links, scripts, form fields) and attached files or media."""
    page.pop(NameObject("/AA"), None)
    annotations = page.get("/Annots")
    if annotations is None:
        return
    kept = ArrayObject()
    for reference in annotations.get_object():
        annotation = reference.get_object()
        if not isinstance(annotation, DictionaryObject) or annotation.get("/Subtype") in _CARRIERS:
            continue
        for key in _ACTIONS:
            annotation.pop(NameObject(key), None)
        kept.append(reference)
    page[NameObject("/Annots")] = kept


def _image(data: bytes) -> tuple[Any, str]:
    """The image as a flowable scaled to fit a page under the exhibit's heading, or None
    and why it is not shown."""
    if len(data) > MAX_IMAGE_BYTES:
        return None, "too_large"
    try:
        with warnings.catch_warnings():
            # Pillow warns of a decompression bomb past 89 million pixels; the bound below is lower.
            warnings.simplefilter("ignore")
            with PILImage.open(io.BytesIO(data)) as opened:
                if opened.format not in ("PNG", "JPEG"):
                    return None, "other"
                if opened.width * opened.height > MAX_IMAGE_PIXELS:
                    return None, "too_large"
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                if upright.mode not in ("RGB", "L"):
                    upright = upright.convert("RGB")
                png = io.BytesIO()
                upright.save(png, format="PNG")
                width, height = upright.size
    except Exception:
        # Pillow raises OSError, SyntaxError, ValueError... on a broken image: listed instead.
        return None, "unreadable_image"
    room_width, room_height = _frame()
    # Room under the heading and the file's lines, so that the image shares their page.
    scale = min(room_width / width, (room_height - 45 * mm) / height)
    png.seek(0)
    return Image(png, width=width * scale, height=height * scale, hAlign="LEFT"), "shown_image"


# --- appendix -------------------------------------------------------------------------------


def _fingerprint(exhibit: Exhibit) -> str:
    """The SHA-256 the ledger records for an exhibit: a letter's text, an answer's file,
    or the note when there is no file."""
    if exhibit.letter is not None:
        return hashlib.sha256(exhibit.letter.text.encode("utf-8")).hexdigest()
    return hashlib.sha256(exhibit.file or exhibit.note.encode("utf-8")).hexdigest()


def _mono_lines(text: str, width: float) -> str:
    """Text in the monospaced font, broken every so many characters to fit ``width``."""
    # A character the font cannot show is written as the JSON escape that means it to any
    # JSON reader (receipts are JSON), rather than as an empty box.
    shows = _mono()[1]
    # Tabs become spaces, which are the same to JSON between its values.
    text = text.expandtabs(4)
    shown = "".join(c if c == "\n" or (ord(c) in shows and c.isprintable()) else _escape_json(c) for c in text)
    per_line = max(20, int(width / (_MONO_ADVANCE * _MONO_SIZE)))
    lines = []
    for line in shown.splitlines() or [""]:
        lines += [line[i : i + per_line] for i in range(0, len(line), per_line)] or [""]
    return "\n".join(lines)


def _escape_json(char: str) -> str:
    units = char.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[i] << 8 | units[i + 1]:04x}" for i in range(0, len(units), 2))


def _appendix(
    complaint: Letter,
    exhibits: Sequence[Exhibit],
    words: dict[str, str],
    receipts: Sequence[str],
    key_fingerprint: str,
    verify_url: str,
) -> bytes:
    styles = _styles()
    width, _height = _frame()
    story: list[Any] = [Paragraph(escape(words["appendix"]), styles["heading"])]
    story += _paragraphs(words["ledger"], styles["body"])
    story += _paragraphs(words["fingerprints"], styles["body"])
    rows = [f"{words['complaint']}: {hashlib.sha256(complaint.text.encode('utf-8')).hexdigest()}"]
    for n, exhibit in enumerate(exhibits, start=1):
        rows.append(f"{n}. {_printable(exhibit.title)}: {_fingerprint(exhibit)}")
    story.append(Preformatted(_mono_lines("\n".join(rows), width), styles["mono"]))
    story += _paragraphs(words["key"], styles["body"])
    story.append(Preformatted(_mono_lines(one_line(key_fingerprint), width), styles["mono"]))
    if receipts:
        story += _paragraphs(words["receipts"], styles["body"])
        for n, receipt in enumerate(receipts, start=1):
            if len(receipt) > MAX_RECEIPT_CHARS:
                digest = hashlib.sha256(receipt.encode("utf-8", "surrogatepass")).hexdigest()
                line = words["receipt_too_long"].format(n=n, size=len(receipt), sha256=digest)
                story += _paragraphs(line, styles["small"])
            else:
                story.append(Preformatted(_mono_lines(receipt.strip(), width), styles["mono"]))
    story += _paragraphs(words["how"], styles["body"])
    for n, step in enumerate(("step_hash", "step_receipt", "step_key"), start=1):
        story += _paragraphs(f"{n}. {words[step]}", styles["body"])
    link = escape(verify_url, {'"': "&quot;"})
    instructions = Paragraph(
        f'{escape(words["instructions"])} <a href="{link}" color="blue">{escape(verify_url)}</a>', styles["body"]
    )
    png = io.BytesIO()
    # Level M, as on the key card: small enough to scan off paper, a full QR code.
    segno.make_qr(verify_url, error="m").save(png, kind="png", scale=8, border=4)
    png.seek(0)
    story.append(KeepTogether([instructions, Image(png, width=35 * mm, height=35 * mm, hAlign="LEFT")]))
    out = io.BytesIO()
    _document(out).build(story)
    return out.getvalue()
