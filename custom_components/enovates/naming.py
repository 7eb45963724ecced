"""What chargers are called: names a user tells apart without renaming anything."""

from __future__ import annotations

from typing import Final

# The last characters of the serial number, as printed on the charger's type plate: enough to tell a household's
# chargers apart, short enough to keep entity ids readable (sensor.eno_one_0001_power).
SERIAL_TAIL: Final = 4
# The title of an entry whose charger did not say its model (before naming by serial, the whole title).
UNNAMED_MODEL: Final = "Enovates charger"


def charger_title(model: str, serial: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """Return a charger's name: its model and the tail of its serial number, or all of it if the tail is taken."""
    model = model.strip() or UNNAMED_MODEL
    serial = serial.strip()
    title = f"{model} {serial[-SERIAL_TAIL:]}"
    return f"{model} {serial}" if title in taken else title
