"""People who come to the counter: an officer files an application for a citizen who is present
(``/petugas/bantu``), the citizen tracks it without an account (``/lacak``) and claims it into their account."""

from __future__ import annotations

from dataclasses import replace

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from services import bantuan as svc
from services import permohonan as permohonan_svc
from web import auth, jobs
from web.identity import client_ip, identity_of
from web.params import path_id
from web.pelayanan import pelayanan_of
from web.render import db_of, limited, path_to, read_upload, render, with_form

SAVED = "Isian dan berkas tersimpan. Lanjutkan, lalu tekan \u201cAjukan\u201d."
ONCE = "tanda_terima"  # session: application id -> its receipt's code, sealed (services.bantuan.seal), until shown
ONCE_KEPT = 5          # sealed receipts a session holds at most (several tabs); the oldest goes first


def _loket(request: Request, officer: dict | None = None) -> svc.Loket:
    pel = pelayanan_of(request)
    if officer is not None:  # other people's NIKs typed in forms count per officer, not per hall's address
        pel = replace(pel, klien=f"petugas:{officer['id']}")
    idn = identity_of(request)
    return svc.Loket(pel, idn.subkey(svc.KEY_PURPOSE), idn.subkey(svc.SEAL_PURPOSE))


def _keep_once(request: Request, permohonan_id: int, sealed: str) -> None:
    """The receipt's code for the page the submit redirects to. A new dict each time: the stored answer of the
    submit (web/formguard.py) keeps the session only when it sees it changed."""
    kept = {k: v for k, v in (request.session.get(ONCE) or {}).items() if k != str(permohonan_id)}
    kept[str(permohonan_id)] = sealed
    request.session[ONCE] = dict(list(kept.items())[-ONCE_KEPT:])


def _take_once(request: Request, permohonan_id: int) -> str | None:
    """The sealed code of this application's receipt, taken out of the session: a reload no longer has it."""
    kept = request.session.get(ONCE)
    if not isinstance(kept, dict) or str(permohonan_id) not in kept:
        return None
    rest = {k: v for k, v in kept.items() if k != str(permohonan_id)}
    if rest:
        request.session[ONCE] = rest
    else:
        request.session.pop(ONCE)
    return kept[str(permohonan_id)]


def _lacak_url(request: Request) -> str:
    return request.app.state.settings.url(path_to(request, "lacak"))


# --- The officer --------------------------------------------------------------------------------------------

def filed(request: Request, context: dict | None = None, status_code: int = 200):
    """The officer's counter page: the start form, and the applications they filed (today, then recent)."""
    officer = auth.require(request, "petugas")
    return render(request, "bantuan.html", {
        **svc.filed_page(db_of(request), officer), "v": {}, "errors": {}, "pesan": request.session.pop("pesan", None),
        **(context or {})}, status_code=status_code)


@with_form
def start(request: Request, form):
    officer = auth.require(request, "petugas")
    values = {k: str(form.get(k, ""))[:40] for k in ("nik", "layanan")}
    started = svc.start(_loket(request, officer), officer, values["nik"], values["layanan"],
                        form.get("ktp_diperiksa") == "ya")
    if started.permohonan_id is None:
        return filed(request, {"v": values, "errors": started.errors}, 400)
    return auth.redirect(path_to(request, "bantu_isi", id=started.permohonan_id))


def _counter_case(request: Request, officer: dict) -> tuple[dict, dict]:
    """The counter application in the path, of the officer's agency; another case of that agency goes to its own
    page, anything else is 404."""
    db, pid = db_of(request), path_id(request)
    found = svc.counter_case(db, officer, pid)
    if found is None:
        if svc.other_case(db, officer, pid):
            raise HTTPException(303, headers={"Location": path_to(request, "kasus", id=pid)})
        raise HTTPException(404)
    return found


def case(request: Request):
    """The counter application: its form while it can be edited; else, right after a submit (or a new code), the
    receipt with its code, once; after that what was filed, and a new code."""
    officer = auth.require(request, "petugas")
    p, rec = _counter_case(request, officer)
    receipt = svc.receipt(_loket(request, officer), officer, p, rec, _take_once(request, p["id"]))
    if receipt is not None:
        return render(request, "bantuan_tanda_terima.html", {"t": receipt, "lacak": _lacak_url(request)})
    return _case_page(request, officer, p, rec, info=request.session.pop("pesan", None))


def _case_page(request: Request, officer: dict, p: dict, rec: dict, errors: dict | None = None,
               status_code: int = 200, telepon: str = "", info: str | None = None, galat: str = ""):
    """The form while it can be edited (a draft, or asked for fixes); else what was filed, and a new code."""
    if permohonan_svc.editable(p):
        page = svc.form_page(_loket(request, officer), p, rec, errors, reload=bool(errors))
        links = {f["nama"]: f"file-{f['nama']}" for f in page["p"]["formulir"] if f["jenis"] == "berkas"}
        return render(request, "bantuan_isi.html", {**page, "tautan": links, "telepon": telepon, "info": info},
                      status_code=status_code)
    return render(request, "bantuan_kasus.html", {**svc.summary_page(db_of(request), p, rec), "info": info,
                                                  "galat": galat, "sekali": svc.ONCE_SHOWN},
                  status_code=status_code)


def _answers_and_files(form) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    answers, files = {}, {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            answers.setdefault(name, value)
        elif isinstance(value, UploadFile) and value.filename and name not in files:
            files[name] = (value.filename, read_upload(value) or b"")
    return answers, files


@with_form
def submit(request: Request, form):
    """Save the answers and papers; with "Ajukan", submit, then a redirect to the receipt page, which shows the code
    once from the session (sealed): the stored answer of the submit holds no code. A retry of the same submit (same
    ``_idem``) gets that same answer, and the same session, never a second filing."""
    officer = auth.require(request, "petugas")
    p, rec = _counter_case(request, officer)
    answers, files = _answers_and_files(form)
    telepon = str(form.get("sms_telepon", ""))[:40]
    done = svc.file(_loket(request, officer), officer, p, answers, files, form.get("aksi") == "ajukan", telepon,
                    _lacak_url(request))
    if done.already:
        p, rec = _counter_case(request, officer)
        return _case_page(request, officer, p, rec, info="Permohonan ini sudah diajukan; tidak diajukan dua kali.")
    if done.errors:
        return _case_page(request, officer, p, rec, done.errors, 400, telepon)
    if done.once is None:
        request.session["pesan"] = SAVED
        return auth.redirect(path_to(request, "bantu_isi", id=p["id"]))
    _keep_once(request, p["id"], svc.seal(_loket(request, officer), officer, done.once))
    jobs.wake_outbox(request)
    return auth.redirect(path_to(request, "bantu_isi", id=p["id"]))


@with_form
def renew(request: Request, form):
    """A new tracking code for a lost receipt: only for an application filed at the counter (404 otherwise)."""
    officer = auth.require(request, "petugas")
    found = svc.counter_case(db_of(request), officer, path_id(request))
    if found is None:
        raise HTTPException(404)
    p, rec = found
    loket = _loket(request, officer)
    once, why = svc.renew_code(loket, officer, p, rec, form.get("ktp_diperiksa") == "ya")
    if once is None:
        return _case_page(request, officer, p, rec, status_code=400, galat=why)
    _keep_once(request, p["id"], svc.seal(loket, officer, once))
    return auth.redirect(path_to(request, "bantu_isi", id=p["id"]))


# --- The citizen --------------------------------------------------------------------------------------------

def _track_page(request: Request, nomor: str = "", errors: dict | None = None, status_code: int = 200,
                hasil: dict | None = None, info: str | None = None):
    return render(request, "lacak.html", {"v": {"nomor": nomor}, "errors": errors or {}, "hasil": hasil,
                                          "info": info}, status_code=status_code)


def track_form(request: Request):
    return _track_page(request)


def _pair(form) -> tuple[str, str, dict[str, str]]:
    nomor, kode = str(form.get("nomor", ""))[:60], str(form.get("kode", ""))[:60]
    errors = {}
    if not svc.normalise_number(nomor):
        errors["nomor"] = "Isi nomor registrasi dari tanda terima."
    if not svc.normalise_code(kode):
        errors["kode"] = "Isi kode pelacakan dari tanda terima."
    return nomor, kode, errors


@with_form
def track(request: Request, form):
    nomor, kode, errors = _pair(form)
    if errors:
        return _track_page(request, nomor, errors, 400)
    try:
        found = svc.track(_loket(request), nomor, kode, client_ip(request), request.scope.get("akun"))
    except svc.TrackingPaused as e:
        return limited(_track_page(request, nomor, {"_": svc.paused_message(e.wait_s)}, 400), e.wait_s)
    if found is None:
        return _track_page(request, nomor, {"_": svc.NOT_FOUND}, 400)
    return _track_page(request, found["nomor"], hasil=found)


@with_form
def claim(request: Request, form):
    """The logged-in citizen takes the application into their account (the code typed again: no page holds it);
    then its own page."""
    akun = auth.require(request, "warga")
    nomor, kode, errors = _pair(form)
    if errors:
        return _track_page(request, nomor, errors, 400)
    done = svc.claim(_loket(request), akun, nomor, kode, client_ip(request))
    if done.permohonan_id is None:
        return limited(_track_page(request, nomor, {"_": done.message}, 400), done.wait_s)
    request.session["pesan"] = done.message
    return auth.redirect(path_to(request, "permohonan", id=done.permohonan_id))


routes = [
    Route("/petugas/bantu", filed, name="bantu"),
    Route("/petugas/bantu", start, methods=["POST"], name="bantu_mulai"),
    Route("/petugas/permohonan/{id}/bantu", case, name="bantu_isi"),
    Route("/petugas/permohonan/{id}/bantu", submit, methods=["POST"], name="bantu_ajukan"),
    Route("/petugas/permohonan/{id}/kode-lacak", renew, methods=["POST"], name="bantu_kode"),
    Route("/lacak", track_form, name="lacak"),
    Route("/lacak", track, methods=["POST"], name="lacak_cari"),
    Route("/lacak/klaim", claim, methods=["POST"], name="lacak_klaim"),
]
