"""Small helpers tests share: parse a page, fill a form's hidden fields, log in."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from db import seed


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def form_fields(client, url: str, form_action: str | None = None) -> dict[str, str]:
    """The hidden fields (CSRF token, idempotency key) of a form on ``url``."""
    page = soup(client.get(url))
    form = page.find("form", action=form_action) if form_action else page.find("form", method="post")
    assert form is not None, f"no POST form on {url}"
    return {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}


def login(client, login_id: str, password: str = seed.DEMO_PASSWORD):
    fields = form_fields(client, "/masuk", "/masuk")
    return client.post("/masuk", data={**fields, "login": login_id, "kata_sandi": password},
                       follow_redirects=False)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", soup(response).get_text(" "))

