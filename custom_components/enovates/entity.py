"""The base of every Enovates entity: device, unique id and naming."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .compat import port_device_info
from .const import DOMAIN
from .coordinator import EnovatesCoordinator, EnovatesRealtimeCoordinator

if TYPE_CHECKING:
    from .smart import SmartCharging


class EnovatesEntity[CoordinatorT: EnovatesCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of a charger, or of one of its ports (`port` set).

    On a dual-port charger each port is a child device of the charger; on a single-port one, the port's entities
    belong to the charger itself. Unique ids carry the port either way, so toggling "dual port" keeps them.
    """

    _attr_has_entity_name = True
    # What the last state write from a tier's update showed, and the context of the state it left.
    _written: tuple[Any, ...] | None = None
    _written_context: str | None = None
    _reachable = True  # the heartbeat's reach, as this entity last showed it

    def __init__(
        self,
        coordinator: CoordinatorT,
        description: EntityDescription,
        port: int | None = None,
        maps: frozenset[str] = frozenset(),
        follows: tuple[EnovatesCoordinator[Any], ...] = (),
        *,
        maps_port: int | None = None,
    ) -> None:
        """Describe the entity of `coordinator`'s charger, or of its port `port`.

        `maps` names the register maps of the 1 s tier this entity shows: that tier reads only the maps of entities
        that are enabled (their listener contexts), of `port` or, for a charger-wide value, of `maps_port`.
        `follows` names other tiers whose updates change this entity.
        """
        read_from = port if maps_port is None else maps_port
        super().__init__(coordinator, frozenset((read_from, name) for name in maps) or None)
        entry = coordinator.config_entry
        runtime = entry.runtime_data
        serial = entry.unique_id
        self.entity_description = description
        self.port = port
        if port is None:
            self._attr_unique_id = f"{serial}_{description.key}"
        else:
            self._attr_unique_id = f"{serial}_port{port}_{description.key}"
        if port is not None and len(runtime.charger.ports) > 1:
            self._attr_device_info = port_device_info(
                coordinator.hass,
                identifiers={(DOMAIN, f"{serial}_port{port}")},
                parent_device_id=runtime.device_id,
                parent_identifiers={(DOMAIN, str(serial))},
                parent_name=entry.title,
                translation_key="port",
                translation_placeholders={"port": str(port)},
            )
        else:
            self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, str(serial))})
        # The 1 s tier is the heartbeat: when it cannot reach the charger, values of the slower tiers are stale.
        self._heartbeat = runtime.realtime
        self._follows = follows

    async def async_added_to_hass(self) -> None:
        """Follow the heartbeat too, so an outage shows on every entity within a second, and the other tiers."""
        await super().async_added_to_hass()
        for other in self._follows:  # other tiers than the entity's own
            self.async_on_remove(other.async_add_listener(self._handle_coordinator_update))
        if self._heartbeat is not self.coordinator and self._heartbeat not in self._follows:
            self._reachable = self._heartbeat.last_update_success
            self.async_on_remove(self._heartbeat.async_add_listener(self._handle_heartbeat))
        # Home Assistant writes the state once the entity is added, showing this: the first update that changes
        # nothing need not write it again (its context is that write's, taken at that update).
        self._written, self._written_context = self._shown(), None

    @callback
    def _handle_heartbeat(self) -> None:
        """Update when the heartbeat's reach changed: the rest of what it polls is not what this entity shows.

        It polls every second, and calls every listener while a car charges: a slower tier's entity would otherwise
        work out what it shows (state, attributes) each second, to find it unchanged.
        """
        if self._heartbeat.last_update_success is not self._reachable:
            self._reachable = self._heartbeat.last_update_success
            self._handle_coordinator_update()

    @property
    def available(self) -> bool:
        """Return whether this entity's tier and the heartbeat both reach the charger."""
        return super().available and self._heartbeat.last_update_success

    def _shown(self) -> tuple[Any, ...]:
        """Return what a state write of this entity would show: availability, state and attributes."""
        if not self.available:
            return (False,)
        return (True, self.state, self.capability_attributes, self.state_attributes, self.extra_state_attributes)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when what this entity shows changed.

        The tiers call every listener when any of their maps changed (the 1 s tier every second while a car
        charges, for its energy), and every entity follows the 1 s tier: most such calls change nothing here.
        """
        shown = self._shown()
        if self._written_context is None:
            self._written_context = self._state_context()  # the state written when the entity was added
        # Another write since (a session restored, a decision of smart charging) may have shown something else: it
        # left another state, with a context of its own.
        if shown != self._written or self._state_context() != self._written_context:
            super()._handle_coordinator_update()
            self._written, self._written_context = shown, self._state_context()

    def _state_context(self) -> str | None:
        state = self.hass.states.get(self.entity_id)
        return None if state is None else state.context.id


class EnovatesMapEntity[DataT, SourceT](EnovatesEntity[EnovatesCoordinator[DataT]]):
    """An entity whose value comes from one register map (`SourceT`), picked out of its coordinator's data.

    Unavailable while that map cannot be read, even if the rest of the tier could.
    """

    def __init__(
        self,
        coordinator: EnovatesCoordinator[DataT],
        description: EntityDescription,
        source_fn: Callable[[DataT], SourceT | None],
        port: int | None = None,
        maps: frozenset[str] = frozenset(),
        *,
        maps_port: int | None = None,
    ) -> None:
        """Describe the entity; `source_fn` picks its register map out of the coordinator's data."""
        super().__init__(coordinator, description, port, maps, maps_port=maps_port)
        self._source_fn = source_fn

    @property
    def source(self) -> SourceT | None:
        """Return the register map this entity shows, as last read (None: the charger refused it)."""
        return self._source_fn(self.coordinator.data)

    @property
    def available(self) -> bool:
        """Return whether the charger is reachable and this entity's map was read."""
        return super().available and self.source is not None


class SmartEntity(EnovatesEntity[EnovatesRealtimeCoordinator]):
    """An entity of smart charging: it updates after each decision, and with the charger's tier."""

    def __init__(
        self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging, description: Any, port: int | None = None
    ) -> None:
        """Show `smart`'s view of the charger (or of `port`)."""
        super().__init__(coordinator, description, port)
        self._smart = smart

    async def async_added_to_hass(self) -> None:
        """Follow the decisions too: smart charging decides every second, mostly the same (written only on change)."""
        await super().async_added_to_hass()
        self.async_on_remove(self._smart.async_add_listener(self._handle_coordinator_update))
