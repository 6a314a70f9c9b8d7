"""The service catalogue as citizens search and read it."""

from __future__ import annotations

import difflib
import json
import re
import unicodedata

from sqlite_utils import Database

from db import katalog, wilayah

MAX_QUERY_CHARS = 100
_WORD = re.compile(r"\w+", re.UNICODE)
GROUP_TITLES = {"adminduk": "Administrasi kependudukan", "nakes": "Perizinan tenaga kesehatan",
                "daerah": "Layanan daerah"}  # a region's own services (services/rancang.py)
PAGE_LIMIT = 100  # services on one page of the catalogue without a region; the page says when there are more


def fts_expression(q: str) -> str | None:
    """Turn what a citizen typed into a safe FTS5 expression.

    Only word characters survive (so quotes, ``NEAR``, ``*`` or ``-`` typed by a
    user can never be a syntax error), every word must match, and the last word
    matches as a prefix so search-as-you-type finds "kelahiran" from "kela".
    """
    words = _WORD.findall(q[:MAX_QUERY_CHARS].lower())[:8]
    if not words:
        return None
    terms = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
    return " ".join(terms)


def _words(text: str) -> list[str]:
    return [unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode() or w
            for w in _WORD.findall(text.lower())]


def spelling_fixed(db: Database, q: str) -> str | None:
    """``q`` with each word the catalogue does not know replaced by the closest one it does ("akta kelahran"
    -> "akta kelahiran"); None when nothing close enough was found. Short words and a last word that
    begins a known word (typing in progress) are kept as they are."""
    words = _words(q[:MAX_QUERY_CHARS])[:8]
    vocabulary = sorted({w for text in katalog.search_texts(db) for w in _words(text) if len(w) >= 3})
    known = set(vocabulary)
    fixed, changed = [], False
    for i, w in enumerate(words):
        last = i == len(words) - 1
        if len(w) < 4 or w in known or (last and any(v.startswith(w) for v in vocabulary)):
            fixed.append(w)
            continue
        close = difflib.get_close_matches(w, vocabulary, n=1, cutoff=0.8)
        if not close:
            return None
        fixed.append(close[0])
        changed = True
    return " ".join(fixed) if changed else None


def search(db: Database, q: str = "", kode_wilayah: str | None = None) -> dict:
    """Services matching ``q`` (all when empty), limited to what a region offers. When the words as typed find
    nothing, a misspelt word is replaced by the closest catalogue word (``koreksi``).

    Without a region the list is the national catalogue and the live regions' own services, at most
    :data:`PAGE_LIMIT` (national templates first): ``lebih`` says there are more, of ``semua``, and ``daerah``
    (the live regions) lets the citizen narrow it to one region. A region's list is never cut."""
    region = wilayah.get_kabkota(db, kode_wilayah) if kode_wilayah else None
    kode = region["kode"] if region else None
    limit = None if region else PAGE_LIMIT
    match = fts_expression(q)
    rows = katalog.list_services(db, match=match, wilayah=kode, limit=limit)
    koreksi = None
    if match and not rows and (koreksi := spelling_fixed(db, q)):
        match = fts_expression(koreksi)
        rows = katalog.list_services(db, match=match, wilayah=kode, limit=limit)
    semua = katalog.count_services(db, match=match, wilayah=kode) if limit and len(rows) >= limit else len(rows)
    groups = []
    for key, title in GROUP_TITLES.items():
        items = [r for r in rows if r["kelompok"] == key]
        if items:
            groups.append({"kelompok": key, "judul": title, "layanan": items})
    if match:  # keep relevance order in one list when searching
        groups = [{"kelompok": "hasil", "judul": "Hasil pencarian", "layanan": rows}] if rows else []
    lebih = semua > len(rows)
    return {"q": q[:MAX_QUERY_CHARS], "wilayah": region, "jumlah": len(rows), "semua": semua, "lebih": lebih,
            "daerah": wilayah.digital_regions(db) if lebih else [], "kelompok": groups,
            "koreksi": koreksi if rows else None}


def service_page(db: Database, slug: str, kode: str | None = None) -> dict | None:
    """A catalogue service; with ``kode``, also what that region adds (``di``: its agency, extra
    requirements and fee; None with ``di_kode`` set when the region does not offer it online)."""
    s = katalog.get_service(db, slug)
    if s is None:
        return None
    for col in ("persyaratan", "prosedur", "dasar_hukum", "kata_kunci", "formulir"):
        s[col] = json.loads(s[col])
    s["wilayah"] = katalog.regions_offering(db, s["id"])
    s["di_diminta"] = bool(kode)  # a region was asked for (or is the citizen's own)
    di = s["di"] = katalog.regional_terms(db, s["id"], kode) if kode else None
    s["di_kode"] = di["kode"] if di else None
    if di:
        di["persyaratan_tambahan"] = json.loads(di["persyaratan_tambahan"] or "[]")
        if di["biaya"] is None:  # the catalogue's fee applies
            di["biaya"], di["biaya_keterangan"] = s["biaya"], s["biaya_keterangan"]
    return s
