"""Hypothesis under `make mutate`: a pytest plugin that mutmut's runs load (pyproject.toml).

Each mutant is judged on the same examples (derandomized), so a score does not
move by luck between runs; a failing example is not shrunk, since the first one
already kills the mutant and shrinking it can take minutes; nothing is written
to the example database.
"""

from __future__ import annotations

from hypothesis import Phase, settings

settings.register_profile(
    "mutation", derandomize=True, database=None, phases=[Phase.explicit, Phase.generate]
)
