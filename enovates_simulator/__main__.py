"""Command line: serve a simulated ENO one until interrupted, and the P1 port of the home's meter if asked.

python -m enovates_simulator --host 127.0.0.1 --port 5020 --ems full --dual-port --car cycle
python -m enovates_simulator --car charging --p1-port 5021 --sun-hour 10
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import logging
from pathlib import Path
import signal

from .home import Home
from .household import Household
from .model import CarScenario, Charger, EmsMode, Identity, nth_serial
from .p1 import P1Server, P1Version
from .replay import Replay
from .server import Stats
from .simulator import Simulator
from .variants import Profile

_LOGGER = logging.getLogger("enovates_simulator")


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m enovates_simulator", description="Serve a simulated Enovates ENO one over Modbus TCP."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=5020, help="TCP port (default: %(default)s; 0 picks a free one)")
    parser.add_argument(
        "--ems",
        choices=[mode.value for mode in EmsMode],
        default=EmsMode.FULL.value,
        help="EMS mode set by the installer (default: %(default)s)",
    )
    parser.add_argument("--dual-port", action="store_true", help="two charge ports: Modbus units 1 and 2")
    parser.add_argument(
        "--chargers",
        type=int,
        default=1,
        metavar="N",
        help="N chargers in one home (one household, one meter), on consecutive ports from --port (0: free ones), "
        "the serial counted up for each; --dual-port is the first one's (default: %(default)s)",
    )
    parser.add_argument(
        "--car",
        choices=[scenario.value for scenario in CarScenario],
        default=CarScenario.NONE.value,
        help="what the car at each port does (default: %(default)s)",
    )
    parser.add_argument("--serial", default=Identity.serial_number, help="serial number (default: %(default)s)")
    parser.add_argument("--model", default=Identity.model_id, help="model id (default: %(default)s)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="behave one way where the real charger is not known, e.g. unknown_unit=silence, max_clients=1, "
        "ems_off=exceptions, authorisation=true, boot_s=120 (repeat for more; see enovates_simulator/variants.py)",
    )
    parser.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help="serve the registers of a diagnostics download of the integration (a user's charger, as it was read)",
    )
    slow = parser.add_argument_group("a slow link", "answers held back, as on weak Wi-Fi or powerline")
    slow.add_argument("--latency", type=float, default=0, metavar="SECONDS", help="answer every request this late")
    slow.add_argument("--jitter", type=float, default=0, metavar="SECONDS", help="plus up to this much more, at random")
    slow.add_argument(
        "--spikes",
        type=_spikes,
        default=(0.0, 0.0),
        metavar="SHARE:SECONDS",
        help="that share of the answers takes SECONDS instead (e.g. 0.05:1.2)",
    )
    home = parser.add_argument_group(
        "the home and its meter",
        "a household (solar panels under passing clouds, a house load) and the charger's cars behind one Belgian "
        "digital meter, whose P1 port streams over TCP as a P1-over-TCP adapter does",
    )
    home.add_argument(
        "--p1-port",
        type=int,
        metavar="PORT",
        help="serve the meter's P1 telegrams on this TCP port (0 picks a free one)",
    )
    home.add_argument(
        "--p1-version",
        choices=[version.value for version in P1Version],
        default=P1Version.DSMR_5B.value,
        help="telegram flavour: 5B (Belgium, once a second) or 4 (every 10 s) (default: %(default)s)",
    )
    home.add_argument(
        "--p1-interval", type=float, metavar="SECONDS", help="send a telegram this often (default: the flavour's own)"
    )
    home.add_argument(
        "--sun-hour",
        type=_hour,
        metavar="HOUR",
        help="at the start the sun stands as at this hour of the day, e.g. 10 for a sunny day ahead (default: the "
        "clock's hour); sunrise is at 6, sunset at 21",
    )
    home.add_argument("--seed", type=int, default=1, help="the day's clouds and appliances (default: %(default)s)")
    home.add_argument(
        "--pv-peak", type=float, default=8000, metavar="WATTS", help="the panels' peak power (default: %(default)g)"
    )
    home.add_argument("--gas", action="store_true", help="a gas meter on the P1 port too")
    parser.add_argument(
        "--report", type=float, default=0, metavar="SECONDS", help="log the requests per second every SECONDS"
    )
    parser.add_argument("--verbose", action="store_true", help="log every Modbus frame")
    return parser


def _spikes(text: str) -> tuple[float, float]:
    share, _, seconds = text.partition(":")
    try:
        return float(share), float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError("expected SHARE:SECONDS, e.g. 0.05:1.2") from None


def _hour(text: str) -> float:
    try:
        hour = float(text)
    except ValueError:
        hour = -1
    if not 0 <= hour < 24:
        raise argparse.ArgumentTypeError("expected an hour of the day, 0 to 24 (not included), e.g. 10 or 13.5")
    return hour


def build_simulator(args: argparse.Namespace) -> Simulator:
    """Return the simulator the arguments describe."""
    if args.replay is not None:
        simulator = Replay.load(args.replay).simulator(host=args.host, port=args.port)
    else:
        charger = Charger(
            dual_port=args.dual_port,
            ems_mode=EmsMode(args.ems),
            identity=Identity(serial_number=args.serial, model_id=args.model),
            profile=Profile.parse(args.variant),
        )
        for number in charger.ports:
            charger.scenarios[number] = CarScenario(args.car)
        charger.sync()
        simulator = Simulator(charger, host=args.host, port=args.port)
    spike_probability, spike_seconds = args.spikes
    if args.latency or args.jitter or spike_probability:
        simulator.faults.slow_down(
            args.latency, jitter=args.jitter, spike_probability=spike_probability, spike_seconds=spike_seconds
        )
    return simulator


def build_others(args: argparse.Namespace) -> list[Simulator]:
    """Return the home's other chargers (--chargers): single-port, as the first but for the serial and the port."""
    others = []
    for number in range(2, args.chargers + 1):
        charger = Charger(
            ems_mode=EmsMode(args.ems),
            identity=Identity(serial_number=nth_serial(args.serial, number), model_id=args.model),
            profile=Profile.parse(args.variant),
        )
        charger.scenarios[1] = CarScenario(args.car)
        charger.sync()
        port = args.port + number - 1 if args.port else 0
        others.append(Simulator(charger, host=args.host, port=port))
    return others


def build_meter(args: argparse.Namespace, simulator: Simulator, others: Sequence[Simulator] = ()) -> P1Server | None:
    """Return the P1 port of the home around the simulators' chargers, if the arguments ask for one."""
    if args.p1_port is None:
        return None
    home = Home(
        [simulator.charger, *(other.charger for other in others)],
        Household(seed=args.seed, pv_peak_w=args.pv_peak),
        sun_hour=args.sun_hour,
        gas=args.gas,
    )
    return P1Server(
        home, version=P1Version(args.p1_version), interval=args.p1_interval, host=args.host, port=args.p1_port
    )


def traffic_report(stats: Stats, seconds: float) -> str:
    """Describe the traffic counted in `stats` over `seconds`, per second: in total and per unit and map."""
    per_map = ", ".join(
        f"{unit}/{name} {count / seconds:.2f}" for (unit, name), count in sorted(stats.requests_by_map.items())
    )
    return (
        f"{stats.requests / seconds:.2f} requests/s, {stats.bytes_received / seconds:.0f} B/s in, "
        f"{stats.bytes_sent / seconds:.0f} B/s out, {stats.connections_opened} connections opened ({per_map})"
    )


async def _report(simulator: Simulator, seconds: float) -> None:
    while True:
        simulator.stats.reset()
        await asyncio.sleep(seconds)
        _LOGGER.info("%s", traffic_report(simulator.stats, seconds))


async def serve(
    simulator: Simulator,
    stop: asyncio.Event,
    report_seconds: float = 0,
    meter: P1Server | None = None,
    others: Sequence[Simulator] = (),
) -> None:
    """Serve until `stop` is set, with `meter`'s P1 port and the home's `others` chargers, if given.

    Every `report_seconds` (if not 0) log the first charger's traffic. The charger's line comes first: scripts take
    the first address logged for the charger's.
    """
    async with simulator, contextlib.AsyncExitStack() as stack, asyncio.TaskGroup() as tasks:
        reporter = tasks.create_task(_report(simulator, report_seconds)) if report_seconds > 0 else None
        if simulator.listening:
            where = f"{simulator.host}:{simulator.port}"
        elif simulator.booting:
            where = f"{simulator.host}:{simulator.port} once booted (in {simulator.charger.profile.boot_s:g} s)"
        else:
            where = "nowhere (EMS mode off)"
        charger = simulator.charger
        _LOGGER.info(
            "ENO one %s on %s: EMS %s, ports %s, car %s, variants: %s",
            charger.identity.serial_number,
            where,
            charger.ems_mode,
            list(charger.ports),
            charger.scenarios.get(1, "none"),
            charger.profile.describe() or "none",
        )
        for other in others:
            await stack.enter_async_context(other)
            serial = other.charger.identity.serial_number
            _LOGGER.info("ENO one %s on %s:%s, in the same home", serial, other.host, other.port)
        if meter is not None:
            await stack.enter_async_context(meter)
            household = meter.home.household
            _LOGGER.info(
                "P1 meter (DSMR %s) on %s:%s: a telegram every %g s; sun as at %s, %g W of panels, seed %s%s",
                meter.version,
                meter.host,
                meter.port,
                meter.interval,
                f"{meter.home.sun_seconds() / 3600:.1f} h",
                household.pv_peak_w,
                household.seed,
                ", gas" if meter.home.meter.gas_m3 is not None else "",
            )
        await stop.wait()
        if reporter is not None:
            reporter.cancel()
    _LOGGER.info("stopped")


async def _main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    simulator = build_simulator(args)
    others = build_others(args)
    await serve(simulator, stop, args.report, build_meter(args, simulator, others), others)


def main(argv: list[str] | None = None) -> None:
    """Run the command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        Profile.parse(args.variant)
        if args.replay is not None:
            Replay.load(args.replay)
    except (OSError, ValueError) as err:
        parser.error(str(err) if args.replay is not None else f"--variant {err}")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    if not args.verbose:
        logging.getLogger("pymodbus").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
