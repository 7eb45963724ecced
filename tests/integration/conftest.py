"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from unittest.mock import AsyncMock, patch

import pytest

from custom_components.enovates.modbus.charger import EnovatesCharger
from enovates_simulator import Simulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Load custom_components/enovates in every test that runs Home Assistant.

    Only there: a test of the connection or of a rule alone gets no Home Assistant it does not use.
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
def request_timeout() -> float:
    """How long the integration waits for the charger's answer in these tests (override with parametrize).

    A little longer than in production (REQUEST_TIMEOUT_S in modbus/timing.py, 2.5 s): a test machine under coverage
    sometimes holds the event loop for most of a second, and a test about data must not fail on that. Tests about
    timeouts set their own, shorter ones, since each unanswered request costs them that much real time.
    """
    return 3.0


@pytest.fixture(autouse=True)
def patch_request_timeout(request_timeout: float) -> Generator[None]:
    """Apply `request_timeout` to every charger connection the integration opens."""
    with patch("custom_components.enovates.modbus.charger.REQUEST_TIMEOUT_S", request_timeout):
        yield


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Stand in for setting up the entry a flow creates: a flow test is about the flow (test_config_flow keeps one
    test that sets the created entry up for real)."""
    with patch("custom_components.enovates.async_setup_entry", return_value=True) as setup_entry:
        yield setup_entry


@pytest.fixture
async def connection(simulator: Simulator) -> AsyncIterator[EnovatesCharger]:
    """The integration's connection to the simulated charger alone (no Home Assistant), closed afterwards."""
    charger = EnovatesCharger("127.0.0.1", simulator.port, dual_port=False)
    yield charger
    charger.close()
