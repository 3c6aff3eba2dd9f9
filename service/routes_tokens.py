"""``POST /v1/tokens``: how many tokens a text is for a model, counted offline.

The same counter the estimate uses for ``text`` (service/tokens.py): exact
for OpenAI models with the tiktoken vocabularies shipped in data/, an
approximation flagged ``exact: false`` for every other provider.
"""

from typing import Annotated

import anyio.to_thread
import msgspec
from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import Body

from service.app import Service
from service.problems import bad_parameter, problem_responses
from service.responses import json_response
from service.routes import resolve, svc
from service.schemas import Out
from service.tokens import MAX_TEXT_CHARS, THREAD_OVER_CHARS, TokenCountError, count_tokens



class TokensRequest(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A text to count, and the model whose tokenizer counts it."""

    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200,
                                       description="`model` or `provider/model`, e.g. `gpt-4o`.")]
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS,
                                      description=f"The text to count, at most {MAX_TEXT_CHARS:,} characters.")]


class TokensResponse(Out):
    """The count, the encoding that made it, and whether that is the model's own tokenizer."""

    provider: str
    model: str
    tokens: int
    characters: int
    encoding: str
    exact: bool
    note: str | None = None


_EXAMPLE = {"model": "gpt-4o", "text": "How much does a million tokens cost?"}


@post("/v1/tokens", summary="Count a text's tokens for a model", tags=["estimate"], status_code=200,
      responses=problem_responses(404, 413))
async def post_tokens(
    request: Request,
    state: State,
    data: Annotated[TokensRequest, Body(description="A model and a text.",
                                        examples=[Example(summary="A short prompt for gpt-4o", value=_EXAMPLE)])],
) -> Response[TokensResponse]:
    """Count ``text`` with ``model``'s tokenizer: exact for OpenAI models, approximate (and said so) for others."""
    service = svc(state)
    if len(data.text) > THREAD_OVER_CHARS:
        body = await anyio.to_thread.run_sync(count_text, service, data)
    else:
        body = count_text(service, data)
    return json_response(request, body, version=service.catalog.version, max_age_s=0)


def count_text(service: Service, data: TokensRequest) -> TokensResponse:
    """The answer to a tokens request (``POST /v1/tokens``, ``ratecard tokens``); a 404/400 problem if invalid."""
    provider, model = resolve(service, data.model)
    try:
        counted = count_tokens(provider, model, data.text)
    except TokenCountError as exc:
        raise bad_parameter("text", str(exc), slug="invalid-text", title="Invalid text") from None
    note = None if counted.exact else (
        f"approximate: counted with {counted.encoding}; {provider} does not publish the tokenizer of {model}"
        if provider != "openai" else f"approximate: tiktoken does not know {model}; counted with {counted.encoding}"
    )
    return TokensResponse(provider=provider, model=model, tokens=counted.tokens, characters=len(data.text),
                          encoding=counted.encoding, exact=counted.exact, note=note)


TOKENS_ROUTES = [post_tokens]
