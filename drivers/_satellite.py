"""What every satellite IRD's simulator shares: a dead LNB's level, the rain-fade model
and the service that is not on the line-up.

Not a driver (no `DRIVER`): the IRD drivers' fault scenarios are built from it, so
"rain fade" and "signal loss" play the same physics whichever IRD is simulated.
"""

from __future__ import annotations

from fieldagent.model import Value

NO_RF_DBM = -78.0
"""What the tuner reads with the LNB or its cable dead: only its own noise."""

RAIN_FADE_DB_PER_S = 0.02
RAIN_FADE_MAX_DB = 5.0
"""A heavy tropical downpour on a Ku-band dish: about 4 minutes to the deepest fade."""

UNEXPECTED_SERVICE = "PHIM 24H"
"""What a retuned receiver carries in the `service_changed` scenarios: on no line-up."""


def rain_fade_db(elapsed_s: float) -> float:
    """How far rain has taken the carrier down after `elapsed_s` of the scenario."""
    return min(RAIN_FADE_MAX_DB, RAIN_FADE_DB_PER_S * elapsed_s)


def sim_number(value: Value) -> float:
    """A simulated number (every start value of a dB or dBm metric is one)."""
    return float(value) if isinstance(value, int | float) else 0.0
