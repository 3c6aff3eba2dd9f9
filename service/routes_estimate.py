"""Estimate endpoints: what a workload costs on every tier of one or more models.

``POST /v1/estimate`` takes a JSON body; ``GET /v1/estimate`` the same fields
as query parameters, so calculator pages get cacheable answers. Both price
from the in-memory snapshot unless ``as_of`` / ``version`` ask for another
moment.

Several models are written one way everywhere: ``models``, as a comma list or
repeated (``models=gpt-4o,claude-sonnet-4-5`` or ``models=gpt-4o&models=...``;
the GET also takes ``model``, its older name). service.pricing's
``resolve_models`` reads both forms (``model_names``) for every endpoint and
command that takes several models.
"""

from decimal import Decimal
from typing import Annotated, Literal

from litestar import Request, Response, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from ratecard.service.pricing import (
    BATCH_BYTES_DESCRIPTION,
    MAX_MODELS,
    EstimateRequest,
    EstimateResponse,
    estimate_off_the_loop,
)
from ratecard.service.problems import problem_responses
from ratecard.service.responses import json_response, post_answer
from ratecard.service.routes import AsOf, ServiceDep, Version
from ratecard.service.estimate import MAX_REQUESTS_PER_PERIOD, MAX_TOKENS_PER_REQUEST
from ratecard.service.queries import epoch_salt
from ratecard.service.tokens import MAX_TEXT_CHARS
from ratecard.service.workload import MAX_BATCH_BYTES_PER_REQUEST

# How long a client may reuse a GET's answer (priced now: until the day's prices change, by its ETag).
GET_MAX_AGE_S = 60
DISCOUNT_DESCRIPTION = "A negotiated discount in percent (0 to 100), applied last."
MODELS_DESCRIPTION = (
    f"Models to price, 1 to {MAX_MODELS}, each `model` or `provider/model`: a comma list "
    "(`models=gpt-4o,claude-sonnet-4-5`, the documented form) or the parameter repeated "
    "(`models=gpt-4o&models=claude-sonnet-4-5`); both forms may be mixed."
)


# The README's worked example (GPT-4o at $2.50/$10: $65.00 standard, $32.50 batch) and a past-moment one.
ESTIMATE_EXAMPLES = [
    Example(summary="5,000 requests a month of 2,000 in + 800 out on GPT-4o and GPT-4o mini",
            value={"models": ["gpt-4o", "gpt-4o-mini"], "input_tokens": 2000, "output_tokens": 800,
                   "requests": 5000, "period": "month"}),
    Example(summary="o3 priced on 2025-06-01, before its price cut",
            value={"models": ["openai/o3"], "input_tokens": 400, "output_tokens": 100, "requests": 100000,
                   "period": "month", "tiers": ["standard"], "as_of": "2025-06-01"}),
    Example(summary="Anthropic prompt caching: 10,000 of 12,000 prompt tokens read from cache",
            value={"models": ["claude-sonnet-4-5"], "input_tokens": 12000, "cached_input_tokens": 10000,
                   "output_tokens": 500, "requests": 2000, "period": "day"}),
]


@post("/v1/estimate", summary="Estimate a workload's cost (JSON body)", tags=["estimate"], status_code=200,
      responses=problem_responses(404, 413, 429))
async def post_estimate(
    service: ServiceDep,
    data: Annotated[EstimateRequest, Body(description="A workload and the models to price it on.",
                                          examples=ESTIMATE_EXAMPLES)],
) -> Response[EstimateResponse]:
    """Price a workload on every tier of each model: per request, per 1k requests, per period, per year."""
    return post_answer(await estimate_off_the_loop(service, data))


@get("/v1/estimate", summary="Estimate a workload's cost (query parameters, cacheable)", tags=["estimate"],
     responses=problem_responses(404, 429))
async def get_estimate(
    request: Request,
    service: ServiceDep,
    models: Annotated[list[str] | None, Parameter(description=MODELS_DESCRIPTION, examples=[
        Example(value=["gpt-4o"]),
        Example(summary="Two models as a comma list, ranked cheapest first",
                value=["gpt-4o,anthropic/claude-sonnet-4-5"]),
        Example(summary="The same two models, repeated", value=["gpt-4o", "anthropic/claude-sonnet-4-5"])])] = None,
    model: Annotated[list[str] | None, Parameter(
        description="The older name of `models`, read the same way (a comma list or repeated); "
                    "both may be given and their models are priced together.",
        examples=[Example(summary="Repeated, as older clients send it", value=["gpt-4o", "o3"])])] = None,
    input_tokens: Annotated[int | None, Parameter(description="Prompt tokens per request (the whole prompt).",
                                                  ge=0, le=MAX_TOKENS_PER_REQUEST, examples=[Example(value=2000)])] = None,
    text: Annotated[str | None, Parameter(description="A prompt to count instead of input_tokens.",
                                          max_length=MAX_TEXT_CHARS,
                                          examples=[Example(value="Summarise this support ticket in two lines.")])] = None,
    cached_input_tokens: Annotated[int, Parameter(description="Of the prompt, tokens read from cache.",
                                                  ge=0, le=MAX_TOKENS_PER_REQUEST, examples=[Example(value=1024)])] = 0,
    cache_write_tokens: Annotated[int, Parameter(description="Of the prompt, tokens written to cache.",
                                                 ge=0, le=MAX_TOKENS_PER_REQUEST, examples=[Example(value=0)])] = 0,
    cache_ttl: Annotated[Literal["5m", "1h"], Parameter(description="Cache lifetime the writes buy: 5m or 1h.",
                                                        examples=[Example(value="1h")])] = "5m",
    output_tokens: Annotated[int, Parameter(description="Output tokens per request.",
                                            ge=0, le=MAX_TOKENS_PER_REQUEST, examples=[Example(value=800)])] = 0,
    requests: Annotated[int, Parameter(description="Requests per period.", ge=0, le=MAX_REQUESTS_PER_PERIOD,
                                       examples=[Example(value=5000)])] = 1,
    period: Annotated[Literal["day", "week", "month"], Parameter(description="The period requests are counted per.",
                                                                 examples=[Example(value="month")])] = "month",
    tier: Annotated[list[str] | None, Parameter(description="Tier to price (repeatable); default every tier offered.",
                                                examples=[Example(value=["standard", "batch"])])] = None,
    as_of: AsOf = None,
    version: Version = None,
    discount_percent: Annotated[Decimal, Parameter(
        description=DISCOUNT_DESCRIPTION, examples=[Example(value=10)],
        # The Decimal schema plugin states its own description, which Litestar keeps over `description`;
        # schema_extra is applied last, so the parameter says what it is (and its default is a number).
        schema_extra={"description": DISCOUNT_DESCRIPTION, "default": 0})] = Decimal(0),
    batch_bytes_per_request: Annotated[int | None, Parameter(
        description=BATCH_BYTES_DESCRIPTION, ge=1, le=MAX_BATCH_BYTES_PER_REQUEST,
        examples=[Example(value=12000)])] = None,
) -> Response[EstimateResponse]:
    """The GET form of the estimate, for calculator pages: same answer, cacheable by URL."""
    body = await estimate_off_the_loop(
        service,  # resolve_models splits comma lists and checks the count
        EstimateRequest(models=[*(models or ()), *(model or ())], input_tokens=input_tokens, text=text, cached_input_tokens=cached_input_tokens,
                        cache_write_tokens=cache_write_tokens, cache_ttl=cache_ttl, output_tokens=output_tokens,
                        requests=requests, period=period, tiers=tier, as_of=as_of, version=version,
                        discount_percent=discount_percent, batch_bytes_per_request=batch_bytes_per_request),
    )
    return json_response(request, body, version=service.catalog.version, max_age_s=GET_MAX_AGE_S,
                         etag_extra=epoch_salt(service, as_of, version))


ESTIMATE_ROUTES = [post_estimate, get_estimate]
