"""``POST /v1/tokens``: how many tokens a text is for a model, counted offline.

The same counter the estimate uses for ``text`` (service/tokens.py): exact
for OpenAI models with the tiktoken vocabularies shipped in data/, an
approximation flagged ``exact: false`` for every other provider.
"""

from typing import Annotated

from litestar import Request, Response, post
from litestar.openapi.spec import Example
from litestar.params import Body

from ratecard.service.problems import problem_responses
from ratecard.service.routes import ServiceDep
from ratecard.service.responses import post_answer
from ratecard.service.queries import resolve
from ratecard.service.pricing import TokensRequest, TokensResponse, count_text, invalid_text, tokens_response
from ratecard.service.tokens import TokenCountError


_EXAMPLE = {"model": "gpt-4o", "text": "How much does a million tokens cost?"}


@post("/v1/tokens", summary="Count a text's tokens for a model", tags=["estimate"], status_code=200,
      responses=problem_responses(404, 413, 429))
async def post_tokens(
    request: Request,
    service: ServiceDep,
    data: Annotated[TokensRequest, Body(description="A model and a text.",
                                        examples=[Example(summary="A short prompt for gpt-4o", value=_EXAMPLE)])],
) -> Response[TokensResponse]:
    """Count ``text`` with ``model``'s tokenizer: exact for OpenAI models, approximate (and said so) for others."""
    provider, model = resolve(service, data.model)
    try:
        counted = await count_text(service, provider, model, data.text)
    except TokenCountError as exc:
        raise invalid_text(exc) from None
    return post_answer(tokens_response(provider, model, data.text, counted))


TOKENS_ROUTES = [post_tokens]
