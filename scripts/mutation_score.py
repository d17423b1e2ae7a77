"""Print the mutation score per module from mutmut's results in mutants/ (`make mutate`).

Per module: mutants, killed, survived, timeouts, mutants no selected test reaches,
those not run yet, any other outcome, and the score: killed out of those run. Run from the
repository's root after `mutmut run`; it reads, never runs.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

KILLED = {1, 3}  # a test failed (3: pytest's internal error, which a mutant caused)
SURVIVED = {0}
TIMEOUT = {24, -24, 152, 255, 36}  # SIGXCPU, or mutmut's own timeout
NO_TESTS = {5, 33}
COLUMNS = ("mutants", "killed", "survived", "timeouts", "no tests", "not run", "other", "score")


def tally(meta: Path) -> dict[str, int]:
    """Return the counts of one module's results."""
    codes = json.loads(meta.read_text())["exit_code_by_key"].values()
    counts = {
        "mutants": len(codes),
        "killed": sum(code in KILLED for code in codes),
        "survived": sum(code in SURVIVED for code in codes),
        "timeouts": sum(code in TIMEOUT for code in codes),
        "no tests": sum(code in NO_TESTS for code in codes),
        "not run": sum(code is None for code in codes),
    }
    # suspicious, crashed, skipped: `mutmut results` names them
    counts["other"] = counts["mutants"] - sum(counts[key] for key in COLUMNS[1:6])
    return counts


def score(counts: dict[str, int]) -> str:
    run = counts["mutants"] - counts["not run"]
    return f"{100 * counts['killed'] / run:.1f} %" if run else "–"


def main() -> int:
    modules = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    rows = []
    total = dict.fromkeys(COLUMNS[:7], 0)
    for module in modules:
        meta = Path("mutants") / f"{module}.meta"
        if not meta.exists():
            rows.append((module, *["–"] * len(COLUMNS)))
            continue
        counts = tally(meta)
        for key in total:
            total[key] += counts[key]
        rows.append((module, *(str(counts[key]) for key in COLUMNS[:7]), score(counts)))
    rows.append(("all", *(str(total[key]) for key in COLUMNS[:7]), score(total)))
    print(f"{'module':30}" + "".join(f"{name:>10}" for name in COLUMNS))
    for module, *cells in rows:
        print(f"{module:30}" + "".join(f"{cell:>10}" for cell in cells))
    print("\nSurvivors: `.venv/bin/mutmut results`, one of them: `.venv/bin/mutmut show NAME`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
