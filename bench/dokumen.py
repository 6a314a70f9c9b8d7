"""Signed PDFs on the request path: `python -m bench.dokumen` prints render, seal and validate times
(median of 30, ms) and the size of a realistic SIP, sealed by the local CA."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from integrations import tte
from services import dokumen_pdf, ttd

LINES = [["Nomor dokumen", "474/SIPP/2171/2026/000123"], ["Jenis dokumen", "Surat Izin Praktik Perawat (SIPP)"],
         ["Instansi penerbit", "DPMPTSP Kota Batam"], ["Daerah", "Kota Batam"],
         ["Nama pemegang izin", "Muhammad Rizky Pratama Nugroho Saputra"], ["NIK pemegang izin", "2171********0001"],
         ["Jenis permohonan", "Baru"], ["Nomor STR", "3100000123456789"],
         ["Nama fasilitas pelayanan kesehatan tempat praktik", "RSUD Embung Fatimah Kota Batam"],
         ["Alamat tempat praktik", "Jl. R. Soeprapto, Muka Kuning, Kec. Sei Beduk, Kota Batam"],
         ["SIP ini untuk tempat praktik ke-", "Kedua"], ["Nomor registrasi permohonan", "2171-261201-000123"],
         ["Tanggal terbit", "1 Desember 2026"], ["Berlaku sampai", "1 Desember 2031"],
         ["Ditandatangani oleh", "Andi Saputra (DPMPTSP Kota Batam)"],
         ["Jabatan penandatangan", "Pejabat penandatangan, DPMPTSP Kota Batam"]]


def _median_ms(fn, runs: int = 30) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def measure() -> list[str]:
    key = ttd.load_signing_key(ttd.generate_signing_key())
    token = ttd.sign_content(key, LINES[0][1], LINES)
    doc = {"judul": LINES[1][1], "nomor": LINES[0][1], "instansi": LINES[2][1], "wilayah": LINES[3][1],
           "tanggal": "2026-12-01", "penandatangan": LINES[14][1], "rows": LINES,
           "url_verifikasi": f"https://mpp-digital.batam.go.id/verifikasi/{token}",
           "lampiran": ttd.canonical_json({"isi": LINES, "token": token})}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        sealer = tte.EmbeddedTte(Path(tmp))
        ca_ms = (time.perf_counter() - start) * 1000
        request = tte.SealRequest(LINES[0][1], LINES[2][1], LINES[3][1], LINES[14][1], "Penerbitan SIP")
        render_ms, pdf = _median_ms(lambda: dokumen_pdf.render_pdf(doc))
        seal_ms, sealed = _median_ms(lambda: sealer.seal(pdf, request))
        validate_ms, status = _median_ms(lambda: tte.validate(sealed, sealer.ca_pem()), runs=10)
        assert status.bottom_line
    return [f"pdf_local_ca_first_start_ms={ca_ms:.1f} ms", f"pdf_render_ms={render_ms:.1f} ms",
            f"pdf_seal_ms={seal_ms:.1f} ms", f"pdf_signed_total_ms={render_ms + seal_ms:.1f} ms",
            f"pdf_unsigned_bytes={len(pdf)} bytes", f"pdf_signed_bytes={len(sealed)} bytes",
            f"pdf_validate_ms={validate_ms:.1f} ms"]


if __name__ == "__main__":
    print(*measure(), sep="\n")
