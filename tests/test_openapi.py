"""The committed contract is what the app generates, and it describes every endpoint."""

import json
from pathlib import Path

from service.openapi import openapi_json

COMMITTED = Path(__file__).parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app():
    assert COMMITTED.read_bytes() == openapi_json(), "openapi/openapi.json drifted: run `ratecard openapi`"


def test_every_operation_has_a_summary_and_described_parameters():
    schema = json.loads(openapi_json())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            for parameter in operation.get("parameters", []):
                assert parameter.get("description"), f"{method.upper()} {path}: {parameter['name']} undescribed"
