"""The one way adapters talk to another system over HTTP: JSON with a bearer token."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request


class ServiceUnavailable(Exception):
    """The other system could not be asked; the citizen should try again later (nothing is lost)."""


def get_json(base_url: str, path: str, token: str, timeout: float) -> dict | None:
    """The JSON object at ``base_url + path``; None on 404; ServiceUnavailable on anything else."""
    req = urllib.request.Request(base_url.rstrip("/") + "/" + urllib.parse.quote(path.lstrip("/")),
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = json.load(r)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise ServiceUnavailable(str(e)) from e
    except (OSError, ValueError) as e:
        raise ServiceUnavailable(str(e)) from e
    if not isinstance(data, dict):
        raise ServiceUnavailable("jawaban bukan objek JSON")
    return data


def post_json(url: str, body: dict, token: str, timeout: float, want_answer: bool = False) -> dict | None:
    """POST ``body`` as JSON; ServiceUnavailable unless the answer is 2xx (and, with
    ``want_answer``, a JSON object, which is returned)."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            if not want_answer:
                r.read(4096)
                return None
            data = json.load(r)
    except (OSError, ValueError) as e:  # HTTPError is an OSError
        raise ServiceUnavailable(str(e)) from e
    if not isinstance(data, dict):
        raise ServiceUnavailable("jawaban bukan objek JSON")
    return data
