"""Shared fixtures: a fixed clock, a bootstrapped in-memory service, and an HTTP client over it."""

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import ratecard_data
from litestar.testing import TestClient

from service.app import Service, Settings, create_app, prepare_service

# Tests never read the real clock: "now" is a fixed moment after every bundled snapshot.
FIXED_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Test-only pages (a challenge page, a page that must be rejected) and the golden
# .expected.json files; the bundled pages themselves are read from data/snapshots/,
# one copy of each, under the same <source>/<name> relative path.
FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOTS = ratecard_data.path("snapshots")


def fixed_clock() -> datetime:
    """The clock every test service runs on."""
    return FIXED_NOW


@functools.cache
def shared_bundled_service() -> Service:
    """One service over an in-memory database filled from the bundled snapshots, built on first use."""
    return prepare_service(Settings(), clock=fixed_clock)


@pytest.fixture(scope="session")
def bundled_service() -> Service:
    """The shared bundled service (read-only tests only)."""
    return shared_bundled_service()


@pytest.fixture
def client(bundled_service: Service) -> Iterator[TestClient]:
    """An HTTP client for the app over the bundled service (read-only tests share it)."""
    app = create_app(bundled_service.settings, service=bundled_service, clock=fixed_clock)
    with TestClient(app) as test_client:
        yield test_client
