"""The baseline: a bare Starlette app answering "ok", measured in the same run as ours."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def create_app() -> Starlette:
    def ok(request):
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/healthz", ok), Route("/ok", ok)])
