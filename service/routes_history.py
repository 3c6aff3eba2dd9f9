"""History endpoints for budget owners: the change feed (JSON and Atom) and exports (JSON, CSV, LiteLLM)."""

from datetime import datetime
from typing import Annotated, NamedTuple
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import Parameter

from service.app import Service
from service.export import EXPORT_FORMATS, EXPORT_SCOPES, litellm_price_map, rates_csv, served_history
from service.feed import ATOM_MEDIA_TYPE, TAG_AUTHORITY, atom_feed
from service.history import changesets_page
from service.problems import ApiError, bad_parameter, problem_responses
from service.rates import Rate
from service.responses import answer_headers, json_response, not_modified
from service.routes import (
    MOMENT_PATTERN,
    AsOf,
    ProviderFilter,
    Version,
    changeset_out,
    moment,
    rates_for,
    resolve,
    svc,
)
from service.schemas import ChangesResponse, rate_out
from service.timeutil import parse_moment

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
    state: State,
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
    service = svc(state)
    bounds = {name: _moment_param(name, value) for name, value in (("since", since), ("until", until)) if value}
    if model and provider:
        model = resolve(service, model, provider)[1]
    # No changeset newer than the served snapshot: the feed names the version it shows (see get_model_history).
    newest = service.catalog.version + 1
    page = changesets_page(service.db, provider=provider, model=model, after_id=min(before or newest, newest),
                           limit=limit, **bounds)
    body = ChangesResponse(
        catalog_version=service.catalog.version,
        changesets=[changeset_out(cs, changes) for cs, changes in page],
        next_before=page[-1][0]["id"] if len(page) == limit else None,
    )
    return json_response(request, body, version=service.catalog.version)


# The body's shape depends on `format` (an array of rate rows, CSV, or a LiteLLM object),
# so the contract describes it in words rather than with one schema that would be wrong twice.
@get("/v1/export", summary="Download the catalog or its full history (JSON, CSV, LiteLLM)", tags=["history"],
     responses=problem_responses(404),
     response_description="`json`: an array of rate rows (as /v1/prices); `csv`: the same rows; `litellm`: an object.")
async def export_rates(
    request: Request,
    state: State,
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
    service = svc(state)
    chosen = select_export(service, format_=format_, scope=scope_, as_of=as_of, version=version, provider=provider)
    version_served = chosen.version or service.catalog.version
    if format_ == "litellm":
        body = litellm_price_map(chosen.rates, catalog_version=version_served, as_of=chosen.at)
        response = json_response(request, body, version=service.catalog.version, etag_extra=chosen.etag_extra)
        return _attach(response, LITELLM_FILENAME)
    rows = [rate_out(r) for r in chosen.rates]
    stem = f"ratecard-{scope_}-v{version_served}" + (f"-{provider}" if provider else "")
    if format_ == "csv":
        return _file_response(request, service, rates_csv(rows).encode(), CSV_MEDIA_TYPE, f"{stem}.csv",
                              etag_extra=chosen.etag_extra, max_age_s=chosen.max_age_s)
    response = json_response(request, rows, version=service.catalog.version, etag_extra=chosen.etag_extra,
                             max_age_s=chosen.max_age_s)
    return _attach(response, f"{stem}.json")


def select_export(service: Service, *, format_: str, scope: str, as_of: str | None, version: int | None,
                  provider: str | None) -> "_Selection":
    """The rates an export holds, as ``/v1/export`` and ``ratecard export`` pick them; a 400/404 problem if invalid."""
    for name, value, allowed in (("format", format_, EXPORT_FORMATS), ("scope", scope, EXPORT_SCOPES)):
        if value not in allowed:
            raise bad_parameter(name, f"{value!r} is not one of {', '.join(allowed)}")
    _check_provider(service, provider)
    if scope == "history":
        if format_ == "litellm":
            raise bad_parameter("format", "a LiteLLM price map holds one price per rate: use scope=catalog")
        return _history_selection(service, as_of, version, provider)
    return _catalog_selection(service, as_of, version, provider)


class _Selection(NamedTuple):
    """The rates an export holds and how its answer may be cached."""

    rates: list[Rate]
    at: datetime
    version: int | None
    etag_extra: str
    max_age_s: int


def _catalog_selection(service: Service, as_of: str | None, version: int | None, provider: str | None) -> _Selection:
    at, ver = moment(service, as_of, version)
    rates = [r for r in rates_for(service, at, ver) if provider is None or r.provider == provider]
    # A current answer changes when an announced price takes effect, not only with a new version.
    etag_extra = "" if (as_of or version) else service.catalog.epoch(service.clock())
    return _Selection(rates, at, ver, etag_extra, 60)


def _history_selection(service: Service, as_of: str | None, version: int | None, provider: str | None) -> _Selection:
    if as_of is not None:
        raise bad_parameter("as_of", "scope=history exports every interval; use version to fix the knowledge")
    at, ver = moment(service, None, version)  # the same 400s for a version that is not an applied changeset
    rates = served_history(service.db, service.catalog, provider=provider,
                           version=service.catalog.version if ver is None else ver)  # the served snapshot's
    # History only changes with a new changeset, which changes the ETag's version.
    return _Selection(rates, at, ver, "", 300)


@get("/v1/changes.atom", summary="The change feed as Atom 1.0", tags=["history"], media_type=ATOM_MEDIA_TYPE,
     responses=problem_responses(404))
async def get_changes_atom(
    request: Request,
    state: State,
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
    service = svc(state)
    bounds = {name: _moment_param(name, value) for name, value in (("since", since), ("until", until)) if value}
    _check_provider(service, provider)
    if model:
        provider, model = resolve(service, model, provider)
    page = changesets_page(service.db, provider=provider, model=model, after_id=service.catalog.version + 1,
                           limit=limit, **bounds)
    filters = {k: v for k, v in (("provider", provider), ("model", model), ("since", since), ("until", until)) if v}
    # Links start at the configured public base URL, or are relative; never the request's Host header, which
    # any client sets and which a shared cache would then serve to everyone (the ETag ignores it).
    base = service.settings.public_base_url
    changes_url = f"{base}/v1/changes"
    query = request.scope.get("query_string", b"").decode("latin-1")
    self_url = f"{base}{request.scope['path']}" + (f"?{query}" if query else "")
    document = atom_feed(
        [changeset_out(cs, changes) for cs, changes in page],
        title="ratecard price changes" + "".join(f", {k} {v}" for k, v in filters.items()),
        self_url=self_url,
        feed_id=self_url if base else f"{TAG_AUTHORITY}:{self_url}",
        alternate_url=f"{changes_url}?{urlencode(filters)}" if filters else changes_url,
        entry_url=lambda cs_id: f"{changes_url}?{urlencode({**filters, 'before': cs_id + 1, 'limit': 1})}",
        updated=service.catalog.built_at,
    )
    return _file_response(request, service, document, ATOM_MEDIA_TYPE, None, etag_extra="", max_age_s=300)


def _check_provider(service: Service, provider: str | None) -> None:
    if provider is not None and provider not in service.catalog.providers:
        raise ApiError(404, "unknown-provider", "Unknown provider", f"no provider {provider!r}",
                       suggestions=sorted(service.catalog.providers))


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
