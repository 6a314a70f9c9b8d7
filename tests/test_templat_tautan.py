"""Templates link through the route table and stay readable.

Every in-app link, form action and htmx address is written ``{{ url('name', ...) }}``, so renaming a
path in routes/ cannot leave a page pointing at the old one; static files go through ``static()``.
A name that is not in the route table fails here, before any page is rendered.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import TemplateRuntimeError
from starlette.routing import NoMatchFound

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PAGES = sorted(TEMPLATES.glob("*.html"))
# an attribute holding an address that starts at the site root: href="/akun", action="/permohonan/…"
LITERAL_LINK = re.compile(r"""\b(href|src|action|formaction|data-action|(?:data-)?hx-(?:get|post))\s*=\s*["']/(?!/)""")
ROOT_PATH = re.compile(r"""["']/(?:[a-z][a-z0-9-]*)(?:/|["'?#])""")  # "/akun" in a Jinja string
URL_NAME = re.compile(r"""\burl\(\s*["']([^"']+)["']""")
MAX_LINE = 200


def test_templates_write_no_literal_in_app_link():
    found = []
    for page in PAGES:
        for n, line in enumerate(page.read_text().splitlines(), 1):
            if LITERAL_LINK.search(line) or ROOT_PATH.search(line):
                found.append(f"{page.name}:{n}: {line.strip()[:100]}")
    assert not found, "write these links as {{ url('route_name', ...) }}:\n" + "\n".join(found)


def test_template_lines_stay_short():
    long = [f"{page.name}:{n} ({len(line)} characters)" for page in PAGES
            for n, line in enumerate(page.read_text().splitlines(), 1) if len(line) > MAX_LINE]
    assert not long, f"template lines over {MAX_LINE} characters:\n" + "\n".join(long)


def test_every_url_name_is_a_route(app):
    names = {route.name for route in app.routes}
    used = {(page.name, name) for page in PAGES for name in URL_NAME.findall(page.read_text())}
    assert used, "no url('…') found: has the pattern changed?"
    unknown = sorted(f"{page}: url('{name}')" for page, name in used if name not in names)
    assert not unknown, "names not in the route table:\n" + "\n".join(unknown)


def _render(app, source: str, **context) -> str:
    from starlette.requests import Request

    request = Request({"type": "http", "app": app, "method": "GET", "path": "/", "headers": [],
                       "query_string": b""})
    return app.state.templates.env.from_string(source).render(request=request, **context)


def test_url_gives_the_path_of_a_named_route(app):
    assert _render(app, "{{ url('tiket', id=5) }}") == "/antrean/5"
    assert _render(app, "{{ url('layanan') }}?q=akta") == "/layanan?q=akta"
    assert _render(app, "{{ url('admin_profil', kode=w) }}", w="2171") == "/admin/2171/profil"


def test_an_unknown_route_name_fails_the_render(app):
    with pytest.raises((NoMatchFound, TemplateRuntimeError)):
        _render(app, "{{ url('tidak_ada') }}")
    with pytest.raises((NoMatchFound, TemplateRuntimeError)):
        _render(app, "{{ url('tiket') }}")  # a parameter missing


def test_a_field_is_labelled_described_and_marked_invalid(app):
    html = _render(app, """{% from "_macros.html" import field %}{{ field("telepon", "Nomor HP", "08<1>", errors,
                   type="tel", hint="Untuk SMS.", attrs={"autocomplete": "tel", "data-x": '"><b>'}) }}""",
                   errors={"telepon": "Nomor HP tidak valid."})
    assert '<label for="telepon">Nomor HP</label>' in html
    assert '<p class="hint" id="telepon-hint">Untuk SMS.</p>' in html
    assert '<p class="error-msg" id="telepon-galat">Nomor HP tidak valid.</p>' in html
    assert 'aria-describedby="telepon-hint telepon-galat" aria-invalid="true"' in html
    assert 'value="08&lt;1&gt;"' in html and 'type="tel"' in html and 'autocomplete="tel"' in html
    assert "<b>" not in html  # attributes are escaped, never pasted in as markup
    assert "has-error" in html


def test_a_field_without_error_or_hint_has_no_aria(app):
    html = _render(app, """{% from "_macros.html" import field %}{{ field("nama", "Nama", "", errors) }}""",
                   errors={})
    assert "aria-" not in html and "error-msg" not in html and "has-error" not in html


def test_the_error_summary_links_each_message_to_its_field(app):
    source = """{% from "_macros.html" import galat_ringkas %}{{ galat_ringkas(errors, tautan) }}"""
    html = _render(app, source, errors={"nik": "Isi NIK.", "_form": "Coba lagi."}, tautan={"nik": "isian-nik"})
    assert '<a href="#isian-nik">Isi NIK.</a>' in html and "<li>Coba lagi.</li>" in html
    assert 'class="error-summary" role="alert"' in html
    assert _render(app, source, errors={}, tautan=None).strip() == ""
