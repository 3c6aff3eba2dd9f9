"""The cost calculator page: ``GET /calculator`` and its assets under ``/static/``.

Plain HTML, CSS and one ES module, served by ratecard itself (no build step, no
CDN). The page calls the public API from the browser, so it can be framed by
any site (``?embed=1`` hides the page chrome; ``/static/embed.js`` inserts such
a frame). Neither route is part of the API, so both stay out of the OpenAPI
document.
"""

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Annotated

from litestar import MediaType, Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).parent / "static"

# Assets are referenced from the page with a content hash (?v=), so a deploy
# takes effect as soon as the page itself is refetched; embed.js, which other
# sites reference unversioned, is why the asset lifetime stays at an hour.
STATIC_MAX_AGE_S = 3600
PAGE_MAX_AGE_S = 300

# Same-origin everything: the page talks only to this API. No frame-ancestors and no
# X-Frame-Options, on purpose: any site may frame the calculator.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'"
)

_ASSET_REF = re.compile(r'(/static/[\w.-]+)\?v=ASSET_HASH')


@cache
def calculator_page() -> str:
    """The page's HTML with each ``/static/<file>?v=ASSET_HASH`` pinned to that file's content hash."""
    html = (STATIC_DIR / "calculator.html").read_text(encoding="utf-8")

    def pin(match: re.Match[str]) -> str:
        path = match.group(1)
        digest = hashlib.sha256((STATIC_DIR / path.removeprefix("/static/")).read_bytes()).hexdigest()[:12]
        return f"{path}?v={digest}"

    return _ASSET_REF.sub(pin, html)


@get("/calculator", include_in_schema=False, media_type=MediaType.HTML)
async def get_calculator(
    request: Request,
    embed: Annotated[bool, Parameter(description="Hide the page chrome, for an iframe.",
                                     examples=[Example(value=True)])] = False,
) -> Response[str]:
    """The calculator page; ``?models=a,b`` preselects models and ``?embed=1`` hides the header and footer."""
    html = calculator_page()
    if embed:
        # Server-side, so the framed page never flashes its chrome before the script runs.
        html = html.replace('<html lang="en">', '<html lang="en" class="embed">', 1)
    tag = '"' + hashlib.sha256(html.encode()).hexdigest()[:16] + '"'
    headers = {
        "Cache-Control": f"public, max-age={PAGE_MAX_AGE_S}",
        "ETag": tag,
        "Content-Security-Policy": PAGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Vary": "Accept-Encoding",
    }
    if tag in {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(content="", status_code=304, headers=headers)
    return Response(content=html, media_type=MediaType.HTML, headers=headers)  # Litestar adds "; charset=utf-8"


static_router = create_static_files_router(
    path="/static",
    directories=[STATIC_DIR],
    name="static",
    cache_control=CacheControlHeader(public=True, max_age=STATIC_MAX_AGE_S),
    include_in_schema=False,
)

CALCULATOR_ROUTES = [get_calculator, static_router]
