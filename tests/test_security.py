"""Security on every response and every form: headers, cookies, CSRF, idempotency, size."""

from __future__ import annotations

from tests.helpers import form_fields, login, text_of


def test_security_headers_on_pages_errors_and_assets(client):
    css = client.app.state.assets.url("app.css")  # a first visit has it inline (test_static.py)
    for url in ("/", "/layanan", "/tidak-ada", css, "/healthz"):
        r = client.get(url)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"


def test_html_is_compressed_by_accept_encoding(client):
    for enc in ("br", "gzip"):
        with client.stream("GET", "/layanan", headers={"Accept-Encoding": enc}) as r:
            assert r.headers["content-encoding"] == enc
            assert "Accept-Encoding" in r.headers["vary"]
    with client.stream("GET", "/layanan", headers={"Accept-Encoding": "identity"}) as r:
        assert "content-encoding" not in r.headers


def test_session_cookie_is_httponly_and_samesite_lax(client):
    r = login(client, "2171031508900001")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # only behind TLS (MPP_HTTPS=1)


def test_post_without_or_with_wrong_csrf_token_is_refused(client):
    fields = form_fields(client, "/masuk", "/masuk")
    data = {"login": "2171031508900001", "kata_sandi": "mpp-demo-2026"}
    r = client.post("/masuk", data=data, follow_redirects=False)
    assert r.status_code == 403 and "Formulir kedaluwarsa" in r.text
    r = client.post("/masuk", data={**fields, **data, "csrf_token": "palsu"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/masuk", data={**fields, **data}, follow_redirects=False)
    assert r.status_code == 303


def test_a_retried_submit_gets_the_first_answer(client, db):
    """A double tap, or a browser resending on a flaky line, never does the work twice."""
    fields = form_fields(client, "/masuk", "/masuk")
    data = {**fields, "login": "2171031508900001", "kata_sandi": "salah"}
    first = client.post("/masuk", data=data)
    second = client.post("/masuk", data=data)
    assert first.status_code == second.status_code == 400
    assert second.headers.get("x-idempotent-replay") == "1"
    # only one failed attempt was counted against the account
    n = db.execute("SELECT count(*) FROM batas_laju WHERE kunci = 'masuk:akun:' || "
                   "(SELECT id FROM akun WHERE nik = '2171031508900001')").fetchone()[0]
    assert n == 1


def test_a_retried_login_whose_answer_was_lost_still_logs_in(client):
    """The answer to a login (a redirect with the new session cookie) is lost on the line; the
    browser, still holding the old cookie, sends the same form again and must be logged in."""
    fields = form_fields(client, "/masuk", "/masuk")
    before = client.cookies.get("mpp_sesi")
    data = {**fields, "login": "2171031508900001", "kata_sandi": "mpp-demo-2026"}
    first = client.post("/masuk", data=data, follow_redirects=False)
    assert first.status_code == 303
    client.cookies.clear()
    client.cookies.set("mpp_sesi", before)  # the lost answer's cookie never arrived
    again = client.post("/masuk", data=data, follow_redirects=False)
    assert again.headers.get("x-idempotent-replay") == "1"
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert "mpp_sesi=" in again.headers.get("set-cookie", "")
    assert client.get("/akun", follow_redirects=False).status_code == 200


def test_oversized_body_is_refused_with_a_clear_message(client):
    fields = form_fields(client, "/masuk", "/masuk")
    big = "x" * (13 * 1024 * 1024)
    r = client.post("/masuk", data={**fields, "login": big, "kata_sandi": "x"})
    assert r.status_code == 413 and "terlalu besar" in text_of(r)


def test_tampered_session_cookie_means_logged_out(client):
    login(client, "dukcapil.batam")
    assert client.get("/petugas", follow_redirects=False).status_code == 200
    value = client.cookies.get("mpp_sesi")
    payload, stamp, signature = value.split(".")
    client.cookies.clear()
    client.cookies.set("mpp_sesi", ".".join([payload, stamp, signature[::-1]]))
    r = client.get("/petugas", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/masuk")
