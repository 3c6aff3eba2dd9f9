"""Pages for people beside the JSON API: the API reference at ``/schema`` and the price changes at ``/changes``.

Both are rendered on the server from what the API itself serves (the OpenAPI
document; the change feed's changesets) and load nothing but ratecard's own
stylesheets, so they work offline. Neither is part of the API, so both stay
out of the OpenAPI document.
"""

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from litestar.params import Parameter

from ratecard.service.field_docs import describe
from ratecard.service.pages import render_changes, render_reference
from ratecard.service.problems import bad_parameter
from ratecard.service.queries import changesets, resolve
from ratecard.service.routes import ServiceDep
from ratecard.service.routes_calculator import PAGE_CSP
from ratecard.service.timeutil import parse_moment

PAGE_MAX_AGE_S = 60
CHANGESETS_PER_PAGE = 20
_PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


class ReferencePage(OpenAPIRenderPlugin):
    """Litestar's OpenAPI UI slot, filled with a static HTML reference instead of a viewer loaded from a CDN."""

    def __init__(self) -> None:
        super().__init__(path="/", media_type=MediaType.HTML, favicon="", style="")
        self._html: bytes | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        """The reference page; the document does not change while the app runs, so it is rendered once."""
        if self._html is None:
            self._html = render_reference(describe(openapi_schema), self.get_openapi_json_route(request)).encode()
        return self._html


class DescribedJson(JsonRenderPlugin):
    """``/schema/openapi.json``: the document with the field glossary applied, as ``ratecard openapi`` writes it."""

    def __init__(self) -> None:
        super().__init__()
        self._json: bytes | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        """The described document as JSON, made once (the document does not change while the app runs)."""
        if self._json is None:
            self._json = self.render_json(request, describe(openapi_schema))
        return self._json


@get("/changes", include_in_schema=False, media_type=MediaType.HTML)
async def changes_page(
    service: ServiceDep,
    provider: Annotated[str | None, Parameter(description="Only this provider id.")] = None,
    model: Annotated[str | None, Parameter(description="Only this model (with provider: any of its names).")] = None,
    since: Annotated[str | None, Parameter(description="Only changes taking effect at or after this date.")] = None,
    before: Annotated[int | None, Parameter(description="Changesets older than this version (paging).", ge=1)] = None,
) -> Response[str]:
    """The change feed as a page: newest changesets first, filtered as ``/v1/changes`` is, with links to it."""
    filters = {k: v for k, v in (("provider", provider), ("model", model), ("since", since)) if v}
    bounds = {}
    if since:
        try:
            bounds["since"] = parse_moment(since)
        except ValueError as exc:
            raise bad_parameter("since", str(exc)) from None
    if model and provider:
        model = resolve(service, model, provider)[1]
    newest = service.catalog.version + 1
    page = await service.store.run(changesets, service, provider=provider, model=model,
                                   after_id=min(before or newest, newest), limit=CHANGESETS_PER_PAGE, **bounds)
    query = urlencode(filters)
    older = (f"/changes?{urlencode({**filters, 'before': page[-1].id})}"
             if len(page) == CHANGESETS_PER_PAGE else None)
    html = render_changes(
        page, filters=filters,
        catalog_version=service.catalog.version, older_url=older,
        json_url=f"/v1/changes?{query}" if query else "/v1/changes",
        atom_url=f"/v1/changes.atom?{query}" if query else "/v1/changes.atom",
    )
    headers = {**_PAGE_HEADERS, "Cache-Control": f"public, max-age={PAGE_MAX_AGE_S}"}
    return Response(content=html, media_type=MediaType.HTML, headers=headers)


PAGE_ROUTES = [changes_page]
