"""When a polling tier last failed, for the diagnostics: Home Assistant keeps the error, not its time."""

from __future__ import annotations

from datetime import datetime

from homeassistant.util import dt as dt_util


class StampsLastFailure:
    """A coordinator mixin: `last_exception` (set by Home Assistant on each failed update) gets a time stamp.

    The error stays after the charger is back, so a maintainer reading the diagnostics sees what went wrong last
    and when, not only whether it works now.
    """

    _last_exception: BaseException | None = None
    last_exception_at: datetime | None = None

    @property
    def last_exception(self) -> BaseException | None:
        """Return the error of the last failed update (None: none since set-up)."""
        return self._last_exception

    @last_exception.setter
    def last_exception(self, error: BaseException | None) -> None:
        self._last_exception = error
        if error is not None:
            self.last_exception_at = dt_util.utcnow()
