"""How loaded the machine running the tests is, for timing bounds that only hold where it is not.

A test of how fast something recovers asserts its functional outcome always, and
its time bound only where the load average is within the cores: on a machine that
other runs load past its cores the times measure them, not the product. Such tests
print their times either way.
"""

from __future__ import annotations

import os


def overload() -> str | None:
    """Return "load X on N cores" when the 1-minute load average exceeds the cores, else None."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    return f"load {load:.1f} on {cores} cores" if load > cores else None
