"""The charger and the cars plugged into it, as physics and IEC 61851 see them; no Modbus in here.

Time comes from an injectable clock. The model catches up with the clock lazily (`sync`), in steps of at most
one second, so energy integrates the same whether a test jumps an hour or the CLI runs in real time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import enum
import math

from .clock import Clock, MonotonicClock
from .variants import AfterReboot, LimitWrite, Profile, Token

# IEC 61851-1: a car may only draw current while the PWM offers at least 6 A.
MIN_CHARGE_CURRENT_MA = 6000
# The longest stretch of simulated time integrated as one step.
MAX_STEP_S = 1.0
# Phase voltages drift by this much around their nominal value, over this period.
VOLTAGE_WOBBLE_V = 1.5
VOLTAGE_WOBBLE_PERIOD_S = 60.0


class EmsMode(enum.StrEnum):
    """What the installer allowed an energy management system to do over Modbus."""

    OFF = "off"
    MONITORING = "monitoring"
    FULL = "full"


class Mode3State(enum.IntEnum):
    """IEC 61851 control pilot states; x1 = no PWM offered, x2 = PWM offered."""

    A1 = 0
    A2 = 1
    B1 = 2
    B2 = 3
    C1 = 4
    C2 = 5
    D1 = 6
    D2 = 7
    E = 8
    F = 9


class LockState(enum.IntEnum):
    """The socket's cable lock."""

    UNLOCKED = 0
    LOCKED = 1
    NO_LOCK_PRESENT = 2


class LedColor(enum.IntEnum):
    """The colour of the charger's status LED."""

    OFF = 0
    RED = 1
    GREEN = 2
    BLUE = 3
    CYAN = 4
    YELLOW = 5
    PINK = 6
    WHITE = 7
    ORANGE = 8
    PURPLE = 9


class PortFault(enum.StrEnum):
    """Control pilot faults: E (pilot shorted or charger down) and F (charger fault)."""

    E = "E"
    F = "F"


class CarScenario(enum.StrEnum):
    """What the car at a port does by itself, for the CLI and the development instance."""

    NONE = "none"
    PLUGGED = "plugged"
    CHARGING = "charging"
    CYCLE = "cycle"


# The cycle scenario: (seconds, car state) repeating: away, plugged in and waiting, charging.
CYCLE_SCRIPT: tuple[tuple[float, CarScenario], ...] = (
    (20.0, CarScenario.NONE),
    (10.0, CarScenario.PLUGGED),
    (90.0, CarScenario.CHARGING),
)

# Control pilot voltages (positive peak) per state letter.
_CP_POSITIVE_V = {"A": 12, "B": 9, "C": 6, "D": 3, "E": 0, "F": -12}


@dataclass
class Car:
    """An electric vehicle as the charger sees it."""

    phases: int = 3
    max_current_a: float = 16.0
    energy_wanted_wh: float = 40_000.0
    ventilation: bool = False
    wants_to_charge: bool = True
    energy_received_wh: float = 0.0

    @property
    def requests_power(self) -> bool:
        """Whether the car closes S2 to ask for power (full cars stop asking)."""
        return self.wants_to_charge and self.energy_received_wh < self.energy_wanted_wh


def pwm_duty_permille(current_ma: int) -> int:
    """Return the PWM duty cycle (per mille) that offers `current_ma`, per IEC 61851-1 Annex A."""
    amps = current_ma / 1000
    percent = amps / 0.6 if amps <= 51 else amps / 2.5 + 64
    return min(round(percent * 10), 970)


@dataclass
class Port:
    """One charge port (connector): Modbus unit id 1 or 2."""

    number: int
    cable_max_a: int = 32
    ems_limit_ma: int = -1
    energy_wh: float = 0.0
    car: Car | None = None
    fault: PortFault | None = None
    transaction_token: str = ""
    sessions: int = 0
    # The owner's RFID badge (its UID, 7 bytes in hex), scanned for every car: the same one day after day.
    badge: str = ""
    # A cable left in the socket without a car: PP still reports its rating.
    cable_in_socket: bool = False
    # Whether the charger may offer current to the car plugged in (a badge or the back office started it).
    authorised: bool = False
    # Set by the charger: counts the energy up to now, so that a car that comes or goes does so at this instant
    # (not at the next read, which would credit or lose the time in between).
    catch_up: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)
    profile: Profile = field(default_factory=Profile, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Give the port its owner's badge."""
        self.badge = self.badge or f"04A1B2C3D4E5{self.number:02X}"

    def plug_in(self, car: Car | None = None, *, badge: str | None = None) -> Car:
        """Connect a car; unless the charger waits for authorisation, `badge` (the owner's) is scanned at once."""
        self.catch_up()
        self.car = car if car is not None else Car()
        self.sessions += 1
        self.authorised = False
        if not self.profile.authorisation:
            self.authorise(badge if badge is not None else self.badge)
        return self.car

    def authorise(self, badge: str | None = None) -> None:
        """Start the transaction of the car plugged in: a badge scanned (the token), or the back office (None)."""
        self.catch_up()
        self.authorised = True
        if badge is not None:
            self.transaction_token = badge

    def unplug(self) -> None:
        """Disconnect the car; the transaction ends (its token stays, as last scanned, unless the profile clears it)."""
        self.catch_up()
        self.car = None
        self.authorised = False
        if self.profile.token is Token.CLEARED:
            self.transaction_token = ""


@dataclass(frozen=True)
class Identity:
    """What the diagnostics registers say about the charger."""

    manufacturer: str = "Enovates NV"
    vendor_id: str = "Enovates"
    serial_number: str = "SIM0000000001"
    # Shaped like the real ones: the vendor's test data and integration.
    model_id: str = "ENO one 479"
    firmware_version: str = "2.15.1.0@3.3.0.1.3"
    api_version: tuple[int, int] = (1, 2)


def nth_serial(first: str, number: int) -> str:
    """Return the serial of a home's `number`th charger (1: `first`): its trailing digits counted up, or -N."""
    digits = len(first) - len(first.rstrip("0123456789"))
    if not digits:
        return f"{first}-{number}"
    return f"{first[:-digits]}{int(first[-digits:]) + number - 1:0{digits}d}"


@dataclass(frozen=True)
class PortReading:
    """Everything a port reports at one instant, in the units of the registers."""

    mode3_state: Mode3State
    pwm_current_ma: int
    pwm_permille: int
    pp_a: int
    cp_positive_v: int
    cp_negative_v: int
    current_offered_ma: int
    currents_ma: tuple[int, int, int]
    voltages_v: tuple[int, int, int]
    powers_w: tuple[int, int, int]
    installation_currents_ma: tuple[int, int, int]
    energy_wh: int
    contactor_closed: bool
    lock_state: LockState
    led_color: LedColor


@dataclass
class Charger:
    """An ENO one: one or two ports sharing one installation."""

    clock: Clock = field(default_factory=MonotonicClock)
    dual_port: bool = False
    ems_mode: EmsMode = EmsMode.FULL
    phases: int = 3
    max_amp_per_phase: int = 32
    ocpp_connected: bool = True
    load_shedding_present: bool = False
    has_lock: bool = True
    nominal_voltages_v: tuple[float, float, float] = (230.0, 231.0, 229.0)
    # What the rest of the installation draws per phase (negative: solar panels export), as the load-shedding
    # device measures it at the grid connection, with the ports' own currents added.
    house_load_ma: tuple[int, int, int] = (4200, 2100, 3300)
    identity: Identity = field(default_factory=Identity)
    profile: Profile = field(default_factory=Profile)
    scenarios: dict[int, CarScenario] = field(default_factory=dict)
    # Called with (start, end) of every stretch of time the model integrates, before it does: what the ports report
    # then is what they drew over it (the home's grid meter counts the cars with these).
    step_listeners: list[Callable[[float, float], None]] = field(default_factory=list, repr=False, compare=False)
    ports: dict[int, Port] = field(init=False)
    _time: float = field(init=False)
    _epoch: float = field(init=False)
    # The scenarios plug cars in and out while the model catches up: those must not catch up in turn.
    _catching_up: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        """Create the ports and start the clock of the model."""
        self.ports = {
            n: Port(n, catch_up=self.sync, profile=self.profile) for n in ((1, 2) if self.dual_port else (1,))
        }
        self._epoch = self._time = self.clock.now()
        self._catching_up = True
        for number in self.ports:
            self._apply_scenario(number)
        self._catching_up = False

    def port(self, number: int) -> Port:
        """Return port 1 or 2."""
        return self.ports[number]

    # --- time -------------------------------------------------------------------------------------------------

    def sync(self) -> None:
        """Catch up with the clock: integrate energy and run the car scenarios."""
        if self._catching_up:
            return
        self._catching_up = True
        try:
            target = self.clock.now()
            while self._time < target:
                # Step to an instant, never by an amount: far from the clock's zero a tiny step adds nothing to the
                # time, and a loop stepping by it would never end. Every candidate is later than now.
                end = min(target, self._time + MAX_STEP_S, self._next_scenario_change())
                for listener in self.step_listeners:
                    listener(self._time, end)
                for port in self.ports.values():
                    self._integrate(port, end - self._time)
                self._time = end
                for number in self.ports:
                    self._apply_scenario(number)
        finally:
            self._catching_up = False

    def _integrate(self, port: Port, seconds: float) -> None:
        reading = self.read_port(port.number)
        energy = sum(reading.powers_w) * seconds / 3600
        port.energy_wh += energy
        if port.car is not None:
            port.car.energy_received_wh += energy

    def _elapsed(self) -> float:
        return self._time - self._epoch

    def _next_scenario_change(self) -> float:
        if CarScenario.CYCLE not in self.scenarios.values():
            return math.inf
        return self._cycle_now()[1]

    def _cycle_now(self) -> tuple[CarScenario, float]:
        """Return the cycle scenario's car state now and the instant it next changes, always later than now.

        Each instant of change is the epoch plus a whole number of periods plus an offset into the script, never a
        sum of steps: rounding cannot pile up, and the state changes exactly at the instant sync stops at.
        """
        period = sum(seconds for seconds, _ in CYCLE_SCRIPT)
        # One period early, in case the division rounded up into the next cycle.
        cycle = math.floor(self._elapsed() / period) - 1
        while True:
            start = self._epoch + cycle * period
            offset = 0.0
            for seconds, state in CYCLE_SCRIPT:
                offset += seconds
                if self._time < start + offset:
                    return state, start + offset
            cycle += 1

    def _scenario_now(self, number: int) -> CarScenario | None:
        scenario = self.scenarios.get(number)
        if scenario is not CarScenario.CYCLE:
            return scenario
        return self._cycle_now()[0]

    def _apply_scenario(self, number: int) -> None:
        scenario = self._scenario_now(number)
        if scenario is None:
            return
        port = self.ports[number]
        if scenario is CarScenario.NONE:
            if port.car is not None:
                port.unplug()
            return
        car = port.car if port.car is not None else port.plug_in()
        car.wants_to_charge = scenario is CarScenario.CHARGING
        if car.wants_to_charge and not port.authorised:
            port.authorise(port.badge)  # the owner scans the badge
        if car.wants_to_charge and not car.requests_power:
            car.energy_received_wh = 0.0  # a scenario car never fills up: the loop goes on

    # --- what the port reports ---------------------------------------------------------------------------------

    def current_offered_ma(self, port: Port) -> int:
        """Return the current the charger offers: the smallest of its own, the cable's and the EMS limit.

        Nothing at all without a car that was authorised (the vendor's data reads 0 then).
        """
        if port.car is None or not port.authorised or port.fault is not None:
            return 0
        limits = [self.max_amp_per_phase * 1000, port.cable_max_a * 1000]
        if port.ems_limit_ma >= 0:
            limits.append(port.ems_limit_ma)
        return min(limits)

    def _mode3_state(self, port: Port, offering: bool) -> Mode3State:
        if port.fault is not None:
            return Mode3State[port.fault.value]
        if port.car is None:
            return Mode3State.A1
        if not port.car.requests_power:
            return Mode3State.B2 if offering else Mode3State.B1
        if not offering:
            # IEC 61851: with the PWM gone, the car opens S2 again and waits.
            return Mode3State.B1
        return Mode3State.D2 if port.car.ventilation else Mode3State.C2

    def _voltages(self) -> tuple[int, int, int]:
        wobble = VOLTAGE_WOBBLE_V * math.sin(2 * math.pi * self._elapsed() / VOLTAGE_WOBBLE_PERIOD_S)
        v1, v2, v3 = (round(nominal + wobble) for nominal in self.nominal_voltages_v)
        return v1, v2, v3

    def read_port(self, number: int) -> PortReading:
        """Return what port `number` reports now (call `sync` first to catch up with the clock)."""
        port = self.ports[number]
        offered = self.current_offered_ma(port)
        offering = port.car is not None and port.fault is None and offered >= MIN_CHARGE_CURRENT_MA
        state = self._mode3_state(port, offering)
        charging = state in (Mode3State.C2, Mode3State.D2)
        pwm_on = state.name.endswith("2")
        cp_positive = _CP_POSITIVE_V[state.name[0]]

        currents = self._currents(port)
        voltages = self._voltages()
        powers = [round(v * i / 1000) for v, i in zip(voltages, currents, strict=True)]
        installation = [0, 0, 0]
        if self.load_shedding_present:
            # Charger-wide: measured at the grid connection, so every port reports the same, signed values.
            installation = list(self.house_load_ma)
            for other in self.ports.values():
                installation = [total + i for total, i in zip(installation, self._currents(other), strict=True)]

        if port.fault is not None:
            led = LedColor.RED
        elif charging:
            led = LedColor.BLUE
        elif port.car is not None:
            led = LedColor.CYAN if offering else LedColor.YELLOW
        else:
            led = LedColor.GREEN

        if not self.has_lock:
            lock = LockState.NO_LOCK_PRESENT
        else:
            lock = LockState.LOCKED if port.car is not None else LockState.UNLOCKED

        return PortReading(
            mode3_state=state,
            pwm_current_ma=offered if pwm_on else 0,
            # Without PWM the pilot is a steady DC level: a duty cycle of 100 % (the vendor's data shows 1000 in A1).
            pwm_permille=pwm_duty_permille(offered) if pwm_on else (0 if port.fault is not None else 1000),
            pp_a=port.cable_max_a if port.car is not None or port.cable_in_socket else 0,
            cp_positive_v=cp_positive,
            # With PWM the pilot swings to -12 V; without it the pilot is DC and both peaks are equal.
            cp_negative_v=-12 if pwm_on else cp_positive,
            current_offered_ma=offered,
            currents_ma=(currents[0], currents[1], currents[2]),
            voltages_v=voltages,
            powers_w=(powers[0], powers[1], powers[2]),
            installation_currents_ma=(
                installation[0],
                installation[1],
                installation[2],
            ),
            energy_wh=math.floor(port.energy_wh),
            contactor_closed=charging,
            lock_state=lock,
            led_color=led,
        )

    # --- control ---------------------------------------------------------------------------------------------

    def _currents(self, port: Port) -> list[int]:
        currents = [0, 0, 0]
        offered = self.current_offered_ma(port)
        car = port.car
        if car is not None and car.requests_power and port.fault is None and offered >= MIN_CHARGE_CURRENT_MA:
            draw = min(offered, round(car.max_current_a * 1000))
            for phase in range(min(car.phases, self.phases)):
                currents[phase] = draw
        return currents

    def ems_limit_accepted(self, limit_ma: int) -> int | None:
        """Return the EMS limit the charger holds when `limit_ma` is written, or None if it refuses it.

        -1 (no limit) and 0 (pause) are always taken; 1..5999 mA and values above the maximum as the profile says.
        """
        maximum = self.max_amp_per_phase * 1000
        if limit_ma in (-1, 0) or MIN_CHARGE_CURRENT_MA <= limit_ma <= maximum:
            return limit_ma
        if 0 < limit_ma < MIN_CHARGE_CURRENT_MA:
            rule, nearest = self.profile.low_limit, MIN_CHARGE_CURRENT_MA
        elif limit_ma > maximum:
            rule, nearest = self.profile.high_limit, maximum
        else:
            return None  # negative values other than -1
        if rule is LimitWrite.REJECTED:
            return None
        return nearest if rule is LimitWrite.CLAMPED else limit_ma

    def set_ems_limit(self, number: int, limit_ma: int) -> None:
        """Apply an EMS limit to a port, after catching up with the clock so energy so far uses the old one."""
        accepted = self.ems_limit_accepted(limit_ma)
        if accepted is None:
            raise ValueError(f"EMS limit {limit_ma} mA is out of range")
        self.sync()
        self.ports[number].ems_limit_ma = accepted

    def power_cycle(self) -> None:
        """Reboot (or lose power): the EMS limits survive or not, as the profile says."""
        self.sync()
        if self.profile.after_reboot is AfterReboot.RESET:
            for port in self.ports.values():
                port.ems_limit_ma = -1
