"""The issued document as a QR code (inline SVG for the web page) and as a PDF.

Why core fonts only: the PDF is made on the request path of a small server and
downloaded over weak mobile networks, so it must be quick and small (tens of
KB). The built-in Helvetica needs no font file, but it only knows Latin-1;
``latin1()`` maps everything else (typographic quotes, dashes, emoji, other
scripts) to something printable so no citizen's name can break rendering.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import unicodedata

import segno
from fpdf import FPDF, FontFace

from services.kalender import format_date

QR_LABEL = "Kode QR verifikasi dokumen"
QR_WIDTH_PX = 180  # big enough for a phone camera on screen, small enough for a phone screen
QR_ERROR = "m"  # ~15% damage tolerance: survives a fold or a stamp without making the code much denser

# Common typography that has no Latin-1 form, mapped to its plain look-alike.
ATTACHMENT = "isi-dokumen.json"
CHECK_NOTE = "Keaslian dokumen dapat diperiksa dengan memindai kode QR ini atau membuka alamat di bawahnya."
STATUS_NOTE = ("Pencabutan dan masa berlaku hanya dapat dipastikan di alamat tersebut; pemeriksaan tanpa internet "
               "dengan kunci publik MPP Digital membuktikan isi dokumen, bukan statusnya.")

_REPLACE = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2026": "...", "\u2022": "-", "\u2027": "-", "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
    "\u2122": "(TM)", "\u20ac": "EUR", "\u2264": "<=", "\u2265": ">=", "\u2192": "->", "\u2190": "<-",
    "\u2116": "No.",
}


def latin1(text) -> str:
    """Any value as Latin-1 text the core fonts can draw.

    Typography maps to look-alikes, accented letters outside Latin-1 lose their
    accent (``ł`` stays unknown, ``ő`` becomes ``o``), control characters become
    spaces, and what is left (emoji, other scripts) becomes ``?`` so the reader
    sees that something was there rather than a silently shortened name.
    """
    out = []
    for char in "" if text is None else str(text):
        char = _REPLACE.get(char, char)
        if len(char) != 1:
            out.append(char)
            continue
        code = ord(char)
        if code < 0x20 or 0x7F <= code < 0xA0:
            out.append(" ")
        elif code < 0x100:
            out.append(char)
        elif unicodedata.category(char) in ("Mn", "Me", "Cf") or 0xFE00 <= code <= 0xFE0F:
            continue  # combining marks, variation selectors, invisible format characters
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if ord(c) < 0x100 and not unicodedata.combining(c))
            out.append(base if base and base.isprintable() else "?")
    return "".join(out)


def _tanggal(value) -> str:
    """An ISO date as Indonesians write it on letters (28 November 2026)."""
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return latin1(value)
    return format_date(day)


def qr_svg(url: str) -> str:
    """Inline SVG for the HTML page: vector, so it stays sharp at any zoom, and
    a few KB. The white background and 4-module quiet zone are explicit so the
    code still scans on a tinted or dark page."""
    qr = segno.make(url, error=QR_ERROR)
    out = io.BytesIO()
    qr.save(out, kind="svg", border=4, dark="#000", light="#fff", xmldecl=False, svgns=True, omitsize=True,
            nl=False, svgclass=None, lineclass=None)
    svg = out.getvalue().decode("utf-8")
    return svg.replace(
        "<svg ",
        f'<svg width="{QR_WIDTH_PX}" height="{QR_WIDTH_PX}" role="img" aria-label="{QR_LABEL}" '
        'shape-rendering="crispEdges" ', 1)


def _qr_png(url: str) -> io.BytesIO:
    """A 1-bit PNG with a few pixels per module: tiny, and crisp in viewers
    that smooth scaled images."""
    png = io.BytesIO()
    segno.make(url, error=QR_ERROR).save(png, kind="png", scale=4, border=4)
    png.seek(0)
    return png


class _Document(FPDF):
    """FPDF with the legal note and page number at the bottom of every page."""

    footer_text = latin1("Dokumen ini ditandatangani secara elektronik sehingga tidak memerlukan tanda tangan "
                         "basah (UU 11/2008 ITE jo. UU 1/2024; PP 71/2019).")

    def footer(self):
        self.set_y(-18)
        self.set_draw_color(160)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.set_font("Helvetica", "I", 7.5)
        self.set_text_color(80)
        self.multi_cell(0, 3.5, self.footer_text, new_x="LMARGIN", new_y="NEXT", align="C")
        self.cell(0, 3.5, f"Halaman {self.page_no()} dari {{nb}}", align="C")
        self.set_text_color(0)


def render_pdf(doc: dict, compress: bool = True) -> bytes:
    """The issued document as an A4 PDF.

    ``doc`` keys: judul, nomor, instansi, wilayah, tanggal (ISO date or text),
    penandatangan, rows (list of (label, value)), url_verifikasi, and optionally
    lampiran (bytes attached as ``isi-dokumen.json``: the signed lines and token,
    for checkers' software). Every value goes through ``latin1()``, so any input
    renders. ``compress=False`` is for tests that look for text in the raw file.
    """
    pdf = _Document(orientation="portrait", unit="mm", format="A4")
    pdf.set_compression(compress)
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=24)
    pdf.set_title(latin1(doc.get("judul")))
    pdf.set_author(latin1(doc.get("instansi")))
    pdf.set_creator("MPP Digital")
    pdf.set_lang("id")
    if doc.get("lampiran"):
        pdf.embed_file(bytes=doc["lampiran"], basename=ATTACHMENT, mime_type="application/json",
                       desc="Isi dokumen yang ditandatangani dan token QR-nya "
                            "(periksa dengan kunci publik MPP Digital)")
    pdf.add_page()

    # Kop: who issues it.
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(0, 6.5, latin1(f"PEMERINTAH {latin1(doc.get('wilayah')).upper()}"),
                   new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(0, 6, latin1(doc.get("instansi")), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(2)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.ln(8)

    # Title and number.
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, latin1(doc.get("judul")).upper(), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 10.5)
    pdf.multi_cell(0, 6, f"Nomor: {latin1(doc.get('nomor'))}", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(6)

    # The facts, label -> value.
    rows = [(latin1(label), latin1(value)) for label, value in (doc.get("rows") or [])]
    if rows:
        pdf.set_font("Helvetica", "", 10)
        with pdf.table(col_widths=(60, 110), first_row_as_headings=False, borders_layout="HORIZONTAL_LINES",
                       line_height=5, text_align="LEFT", padding=1.2) as table:
            for label, value in rows:
                row = table.row()
                row.cell(label, style=FontFace(emphasis="BOLD"))
                row.cell(value)
        pdf.ln(8)

    # Issue date and signer.
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5.5, f"Diterbitkan di {latin1(doc.get('wilayah'))} pada tanggal {_tanggal(doc.get('tanggal'))}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5.5, f"Ditandatangani secara elektronik oleh {latin1(doc.get('penandatangan'))}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    # Verification: the QR code with what it is for beside it, then the address in print for who cannot scan.
    url = str(doc.get("url_verifikasi") or "")
    qr_mm = 36
    if pdf.will_page_break(qr_mm + 16):
        pdf.add_page()
    top = pdf.get_y()
    pdf.image(_qr_png(url), x=pdf.l_margin, y=top, w=qr_mm, h=qr_mm)
    pdf.set_xy(pdf.l_margin + qr_mm + 4, top + 3)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 4.5, CHECK_NOTE + " " + STATUS_NOTE, new_x="LEFT", new_y="NEXT")
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), top + qr_mm) + 1)
    pdf.set_font("Courier", "", 7)
    pdf.multi_cell(0, 3.2, latin1(url), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def embedded_content(pdf: bytes) -> dict | None:
    """The ``isi-dokumen.json`` attached to a PDF we issued ({"isi": lines, "token": ...}); None when absent.

    What a checker's software reads instead of the printed text; check it with
    ``ttd.verify_offline(public_key, found["token"], found["isi"])``."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        names = PdfFileReader(io.BytesIO(pdf), strict=False).root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names) - 1, 2):  # [name, file spec, name, file spec, ...]
            if str(names[i]) == ATTACHMENT:
                found = json.loads(names[i + 1]["/EF"]["/F"].data)
                return found if isinstance(found, dict) else None
    except (KeyError, ValueError, TypeError, AttributeError, PdfError):
        return None
    return None
