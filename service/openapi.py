"""The OpenAPI document, generated from the app (``ratecard openapi``; a test checks the committed copy)."""

import json

import msgspec

from ratecard.service.app import Settings, create_app
from ratecard.service.field_docs import describe


def openapi_json() -> bytes:
    """The app's OpenAPI schema (every field described, see service.field_docs) as stable, pretty JSON bytes."""
    app = create_app(Settings(bootstrap=False))
    # to_builtins: the schema's examples may hold msgspec Structs, which json cannot encode.
    schema = describe(msgspec.to_builtins(app.openapi_schema.to_schema()))
    return (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode()
