"""The one way adapters talk to another government system over HTTP: GET JSON with a bearer token."""

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
