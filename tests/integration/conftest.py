"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import patch

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/enovates in every integration test."""


@pytest.fixture
def request_timeout() -> float:
    """How long the integration waits for the charger's answer in these tests (override with parametrize).

    Longer than in production (0.5 s): a test machine under coverage sometimes holds the event loop for most of a
    second, and a test about data must not fail on that. Tests about timeouts set their own.
    """
    return 3.0


@pytest.fixture(autouse=True)
def patch_request_timeout(request_timeout: float) -> Generator[None]:
    """Apply `request_timeout` to every charger connection the integration opens."""
    with patch("custom_components.enovates.modbus.charger.REQUEST_TIMEOUT_S", request_timeout):
        yield
