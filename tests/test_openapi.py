"""The committed contract is what the app generates, and it describes every endpoint."""

import json
from pathlib import Path

from ratecard.service.openapi import openapi_json

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


# Money fields whose name carries no unit: the description must.
MONEY_WITHOUT_UNIT_IN_NAME = {"per_request", "per_1k_requests", "per_period", "per_year"}


def _properties():
    from ratecard.service.field_docs import every_property

    return list(every_property(json.loads(COMMITTED.read_text())))


def test_every_field_has_a_description():
    from ratecard.service.field_docs import GENERIC_DECIMAL

    properties = _properties()
    assert len(properties) > 200  # the walk reaches every schema, body and answer
    undescribed = sorted({f"{where}.{field}" for where, field, prop in properties
                          if not prop.get("description") or prop["description"] == GENERIC_DECIMAL})
    assert undescribed == [], "describe these with msgspec.Meta(description=...) or in service/field_docs.py"


def test_money_fields_name_their_unit():
    wrong = []
    for where, field, prop in _properties():
        words = prop.get("description", "")
        if "per_mtok" in field:
            if "USD per 1M tokens" not in words:
                wrong.append(f"{where}.{field}: {words}")
        elif "usd" in field.split("_") or field in MONEY_WITHOUT_UNIT_IN_NAME:
            if "USD" not in words:
                wrong.append(f"{where}.{field}: {words}")
    assert wrong == []


def test_every_schema_specific_description_names_a_real_field():
    """A renamed Struct or field would silently lose its own wording: every override must still apply."""
    from ratecard.service.field_docs import BY_SCHEMA

    present = {(where, field) for where, field, _ in _properties()}
    assert sorted(set(BY_SCHEMA) - present) == []


def test_a_struct_description_wins_over_the_glossary():
    from ratecard.service.field_docs import FIELDS, describe

    document = {"components": {"schemas": {"X": {"properties": {
        "provider": {"type": "string", "description": "Its own words."},
        "model": {"type": "string"},
        "usd_per_mtok": {"type": "number", "description": "An exact decimal, written with its digits."}}}}}}
    described = describe(document)["components"]["schemas"]["X"]["properties"]
    assert described["provider"]["description"] == "Its own words."
    assert described["model"]["description"] == FIELDS["model"]
    assert described["usd_per_mtok"]["description"] == FIELDS["usd_per_mtok"]
    assert "description" not in document["components"]["schemas"]["X"]["properties"]["model"]  # a copy
