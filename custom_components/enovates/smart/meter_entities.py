"""The grid meter's own quarter-hour figures, found beside the grid sensor in Home Assistant's registries.

A Belgian digital meter reports the running average of the quarter (OBIS 1-0:1.4.0) and the month's peak (1-0:1.6.0)
itself; Home Assistant's DSMR and HomeWizard integrations make them sensors of the meter's device, the device of the
grid power sensor. They are found there by what their integration calls them (the translation key, or the end of the
unique id the integration gives them), never by entity id: a user may rename those, and another meter's integration
may use the same words for something else.
"""

from __future__ import annotations

from datetime import datetime
import enum
from typing import TYPE_CHECKING, Final

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .model import MeterFigures

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import State


class Figure(enum.Enum):
    """What a meter's quarter-hour entity reports."""

    AVERAGE = "average"  # the running average import of the quarter so far
    MONTH_PEAK = "month_peak"  # the month's highest quarter


# (integration, translation key, end of the unique id): the meter's figures as Home Assistant's integrations name them.
FIGURES: Final = {
    ("dsmr", "current_average_demand", "_belgium_current_average_demand"): Figure.AVERAGE,
    ("dsmr", "maximum_demand_current_month", "_belgium_maximum_demand_current_month"): Figure.MONTH_PEAK,
    ("homewizard", "active_power_average_w", "_active_power_average_w"): Figure.AVERAGE,
    ("homewizard", "monthly_power_peak_w", "_monthly_power_peak_w"): Figure.MONTH_PEAK,
}


def figure_of(entry: er.RegistryEntry) -> Figure | None:
    """Return what a meter's entity reports, if it is one of the quarter-hour figures."""
    for (platform, translation_key, unique_id_end), figure in FIGURES.items():
        if entry.platform == platform and (
            entry.translation_key == translation_key or entry.unique_id.endswith(unique_id_end)
        ):
            return figure
    return None


class MeterEntities:
    """The quarter-hour entities of the grid sensor's meter: looked up again whenever the entity registry changes.

    A meter's integration may create them after this entry started (DSMR does at the first telegram), a user may
    enable or disable them, or pick another grid sensor.
    """

    def __init__(self, hass: HomeAssistant, grid_sensor: str | None) -> None:
        """Look beside `grid_sensor` (None: no grid sensor, no meter)."""
        self._hass = hass
        self._grid_sensor = grid_sensor
        self._found: dict[Figure, str] | None = None

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow the entity registry; return what stops it."""

        @callback
        def forget(_event: Event[er.EventEntityRegistryUpdatedData]) -> None:
            self._found = None

        return self._hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, forget)

    @property
    def entities(self) -> dict[Figure, str]:
        """Return the entity ids of the meter's figures that are enabled."""
        if self._found is None:
            self._found = self._find()
        return self._found

    def _find(self) -> dict[Figure, str]:
        registry = er.async_get(self._hass)
        grid = registry.async_get(self._grid_sensor) if self._grid_sensor else None
        if grid is None or grid.device_id is None:
            return {}
        found: dict[Figure, str] = {}
        for entry in er.async_entries_for_device(registry, grid.device_id):
            if (figure := figure_of(entry)) is not None:
                found.setdefault(figure, entry.entity_id)
        return found

    def figures(self, now: datetime, power_w: Callable[[State | None, datetime], float | None]) -> MeterFigures | None:
        """Return the meter's figures now, read in W by `power_w` (None: the meter reports none)."""
        entities = self.entities
        if not entities:
            return None
        states = {figure: self._hass.states.get(entity_id) for figure, entity_id in entities.items()}
        average = states.get(Figure.AVERAGE)
        return MeterFigures(
            average_w=power_w(average, now),
            average_at=None if average is None else average.last_reported.timestamp(),
            month_peak_w=power_w(states.get(Figure.MONTH_PEAK), now),
        )
