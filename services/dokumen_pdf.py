"""The issued document as a QR code (inline SVG) and as a PDF, with core fonts only."""

from __future__ import annotations

import io

import segno
from fpdf import FPDF

_REPLACE = {"–": "-", "—": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "…": "...", "•": "-"}


def qr_svg(url: str) -> str:
    qr = segno.make(url, error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, nl=False,
            title=None, svgclass=None, lineclass=None)
    svg = out.getvalue().decode("utf-8")
    return svg.replace("<svg ", '<svg role="img" aria-label="Kode QR verifikasi dokumen" ', 1)


def latin1(text) -> str:
    """Core PDF fonts are Latin-1: map common typography, drop anything else."""
    text = "".join(_REPLACE.get(c, c) for c in str(text))
    return text.encode("latin-1", "replace").decode("latin-1").replace("?", "?")


def render_pdf(doc: dict, compress: bool = True) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 6, latin1(f"PEMERINTAH {doc['wilayah'].upper()}"), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, latin1(doc["instansi"]), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, latin1(doc["judul"]), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, latin1(f"Nomor: {doc['nomor']}"), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(6)
    for label, value in doc["rows"]:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(60, 6, latin1(label)[:45])
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.cell(0, 6, latin1(f"Diterbitkan: {doc['tanggal']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, latin1(f"Ditandatangani secara elektronik oleh {doc['penandatangan']}"),
             new_x="LMARGIN", new_y="NEXT")
    png = io.BytesIO()
    segno.make(doc["url_verifikasi"], error="m").save(png, kind="png", scale=4, border=2)
    png.seek(0)
    pdf.image(png, w=40)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(0, 4, latin1(doc["url_verifikasi"]), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 4, latin1("Keaslian dokumen dapat diperiksa dengan memindai kode QR atau membuka alamat di atas."),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 4, latin1("Dokumen ini ditandatangani secara elektronik dan tidak memerlukan cap basah "
                                "(UU 11/2008 ITE jo. UU 1/2024; PP 71/2019)."), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
