"""History endpoints for budget owners: the change feed (JSON and Atom) and exports (JSON, CSV, LiteLLM)."""

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.openapi.spec import Example
from litestar.params import Parameter

from ratecard.service.context import Service
from ratecard.service.export import EXPORT_FORMATS, EXPORT_SCOPES, litellm_price_map, rates_csv
from ratecard.service.feed import ATOM_MEDIA_TYPE, TAG_AUTHORITY, atom_feed
from ratecard.service.problems import bad_parameter, problem_responses
from ratecard.service.responses import answer_headers, json_response, not_modified
from ratecard.service.queries import changesets, check_provider, resolve, select_export
from ratecard.service.routes import AsOf, MOMENT_PATTERN, ProviderFilter, ServiceDep, Version
from ratecard.service.schemas import ChangesResponse
from ratecard.service.timeutil import parse_moment

try:  # Litestar 2.25 renamed aliased query parameters; older 2.x releases only know Parameter(query=...)
    from litestar.params import QueryParameter

    def _query_alias(name: str, **kwargs) -> Parameter:
        return QueryParameter(name=name, **kwargs)
except ImportError:  # pragma: no cover - Litestar < 2.25

    def _query_alias(name: str, **kwargs) -> Parameter:
        return Parameter(query=name, **kwargs)

MAX_CHANGESETS_PER_PAGE = 200

Since = Annotated[str | None, Parameter(
    description="Only changes taking effect at or after this moment (date or ISO time).",
    pattern=MOMENT_PATTERN, examples=[Example(value="2025-06-01")])]
Until = Annotated[str | None, Parameter(
    description="Only changes taking effect before this moment (date or ISO time).",
    pattern=MOMENT_PATTERN, examples=[Example(value="2025-07-01")])]
ModelFilter = Annotated[str | None, Parameter(description="Only this model (id, display name or alias).",
                                              examples=[Example(value="o3")])]
ChangesetsPerPage = Annotated[int, Parameter(
    description=f"Changesets per page, newest first, 1 to {MAX_CHANGESETS_PER_PAGE} (default 50).",
    ge=1, le=MAX_CHANGESETS_PER_PAGE, examples=[Example(value=20)])]

CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8" to text types
LITELLM_FILENAME = "model_prices_and_context_window.json"


@get("/v1/changes", summary="The change feed", tags=["history"], responses=problem_responses(404))
async def list_changes(
    request: Request,
    service: ServiceDep,
    since: Since = None,
    until: Until = None,
    provider: ProviderFilter = None,
    model: Annotated[str | None, Parameter(description="Only this model id (a display name or alias is resolved "
                                           "when `provider` is given too).", examples=[Example(value="o3")])] = None,
    before: Annotated[int | None, Parameter(description="Page cursor: changesets with a smaller id (the previous "
                                            "page's `next_before`).", ge=1, examples=[Example(value=26)])] = None,
    limit: ChangesetsPerPage = 50,
) -> Response[ChangesResponse]:
    """Applied changesets, newest first, each with its changes (added, changed, delisted, relisted, withdrawn)."""
    bounds = {name: _moment_param(name, value) for name, value in (("since", since), ("until", until)) if value}
    if model and provider:
        model = resolve(service, model, provider)[1]
    # No changeset newer than the served snapshot: the feed names the version it shows (see get_model_history),
    # read once, since a new snapshot may be swapped in while the page is read.
    version = service.catalog.version
    page = await service.store.run(changesets, service, provider=provider, model=model,
                                   after_id=min(before or version + 1, version + 1), limit=limit, **bounds)
    body = ChangesResponse(catalog_version=version, changesets=page,
                           next_before=page[-1].id if len(page) == limit else None)
    return json_response(request, body, version=version)


# The body's shape depends on `format` (an array of rate rows, CSV, or a LiteLLM object),
# so the contract describes it in words rather than with one schema that would be wrong twice.
@get("/v1/export", summary="Download the catalog or its full history (JSON, CSV, LiteLLM)", tags=["history"],
     responses=problem_responses(404),
     response_description="`json`: an array of rate rows (as /v1/prices); `csv`: the same rows; `litellm`: an object.")
async def export_rates(
    request: Request,
    service: ServiceDep,
    # Checked by hand (not typed as Literal) so a 400 names `format`, not the Python name `format_`.
    format_: Annotated[str, _query_alias(
        "format", schema_extra={"enum": list(EXPORT_FORMATS)},
        description="`json`: an array of rate rows; `csv`: the same rows as CSV; `litellm`: a LiteLLM "
        "model_prices_and_context_window.json (catalog scope only).",
        examples=[Example(value="csv"), Example(summary="A drop-in LiteLLM price map", value="litellm")],
    )] = "json",
    # `scope` is a name Litestar reserves for the ASGI scope.
    scope_: Annotated[str, _query_alias(
        "scope", schema_extra={"enum": list(EXPORT_SCOPES)},
        description="`catalog`: the rates in force now or at `as_of`/`version`; `history`: every interval of "
        "every served rate (as known now, or as known at `version`; `as_of` is refused). Not paginated: "
        "the whole selection is one file.",
        examples=[Example(value="history")],
    )] = "catalog",
    as_of: AsOf = None,
    version: Version = None,
    provider: ProviderFilter = None,
) -> Response:
    """The served prices as a file: a moment's catalog, or the whole history with provenance.

    Money is exact: JSON numbers and CSV cells carry the stored decimal
    digits; LiteLLM's per-token prices are the per-1M prices shifted by six
    places. The body of `format=json` is shown; `csv` has the same columns
    (empty cells for null), `litellm` maps LiteLLM model keys to price fields.
    """
    # The current catalog is the snapshot's; history and other moments are SQLite's, read off the loop.
    current = scope_ == "catalog" and as_of is None and version is None
    args = dict(format_=format_, scope=scope_, as_of=as_of, version=version, provider=provider)
    chosen = select_export(service, **args) if current else await service.store.run(
        lambda: select_export(service, **args))
    version_served = chosen.version or service.catalog.version
    if format_ == "litellm":
        body = litellm_price_map(chosen.rates, catalog_version=version_served, as_of=chosen.at)
        response = json_response(request, body, version=service.catalog.version, etag_extra=chosen.etag_extra)
        return _attach(response, LITELLM_FILENAME)
    rows = chosen.rates
    stem = f"ratecard-{scope_}-v{version_served}" + (f"-{provider}" if provider else "")
    if format_ == "csv":
        return _file_response(request, service, rates_csv(rows).encode(), CSV_MEDIA_TYPE, f"{stem}.csv",
                              etag_extra=chosen.etag_extra, max_age_s=chosen.max_age_s)
    response = json_response(request, rows, version=service.catalog.version, etag_extra=chosen.etag_extra,
                             max_age_s=chosen.max_age_s)
    return _attach(response, f"{stem}.json")


@get("/v1/changes.atom", summary="The change feed as Atom 1.0", tags=["history"], media_type=ATOM_MEDIA_TYPE,
     responses=problem_responses(404))
async def get_changes_atom(
    request: Request,
    service: ServiceDep,
    provider: ProviderFilter = None,
    model: ModelFilter = None,
    since: Since = None,
    until: Until = None,
    limit: ChangesetsPerPage = 50,
) -> Response[str]:
    """Applied changesets as Atom entries, newest first: one entry per changeset, one line per change.

    Filters as in `/v1/changes`; each entry links to its changeset's JSON.
    An unknown model or provider is a 404 rather than a feed that stays empty forever.
    """
    bounds = {name: _moment_param(name, value) for name, value in (("since", since), ("until", until)) if value}
    check_provider(service, provider)
    if model:
        provider, model = resolve(service, model, provider)
    page = await service.store.run(changesets, service, provider=provider, model=model,
                                   after_id=service.catalog.version + 1, limit=limit, **bounds)
    filters = {k: v for k, v in (("provider", provider), ("model", model), ("since", since), ("until", until)) if v}
    # Links start at the configured public base URL, or are relative; never the request's Host header, which
    # any client sets and which a shared cache would then serve to everyone (the ETag ignores it).
    base = service.settings.public_base_url
    changes_url = f"{base}/v1/changes"
    query = request.scope.get("query_string", b"").decode("latin-1")
    self_url = f"{base}{request.scope['path']}" + (f"?{query}" if query else "")
    document = atom_feed(
        page,
        title="ratecard price changes" + "".join(f", {k} {v}" for k, v in filters.items()),
        self_url=self_url,
        feed_id=self_url if base else f"{TAG_AUTHORITY}:{self_url}",
        alternate_url=f"{changes_url}?{urlencode(filters)}" if filters else changes_url,
        entry_url=lambda cs_id: f"{changes_url}?{urlencode({**filters, 'before': cs_id + 1, 'limit': 1})}",
        updated=service.catalog.built_at,
    )
    return _file_response(request, service, document, ATOM_MEDIA_TYPE, None, etag_extra="", max_age_s=300)


def _moment_param(name: str, value: str) -> datetime:
    try:
        return parse_moment(value)
    except ValueError as exc:
        raise bad_parameter(name, str(exc)) from None


def _file_response(
    request: Request, service: Service, content: bytes, media_type: str, filename: str | None, *,
    etag_extra: str, max_age_s: int,
) -> Response:
    """A non-JSON answer with the same versioned ETag, Cache-Control and 304 as the JSON ones."""
    headers = answer_headers(request.scope, service.catalog.version, max_age_s, etag_extra)
    if (unchanged := not_modified(request.scope, headers)) is not None:
        return unchanged
    response = Response(content=content, media_type=media_type, headers=headers)
    return _attach(response, filename) if filename else response


def _attach(response: Response, filename: str) -> Response:
    # Exports are files: browsers save them under a useful name; API clients ignore the header.
    if response.status_code != 304:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


HISTORY_ROUTES = [list_changes, export_rates, get_changes_atom]
