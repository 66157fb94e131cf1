"""Coverage of the mean's 95% interval per value kind, beside the old Student-t interval.

    .venv/bin/python benchmarks/bench_intervals.py --reps 4000 --out benchmarks/results/intervals.md

Binary cases are exact (summed over the binomial pmf); the others are seeded simulations with
``--reps`` samples each (Monte-Carlo standard error ≈ sqrt(0.95·0.05/reps), 0.34% at 4000).
The cases are those of tests/core/test_intervals.py (tests/support/coverage.py) plus harder ones.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from support import coverage as cov  # noqa: E402

HARDER = [
    cov.binary(0.005, 30),
    cov.binary(0.001, 1000),
    cov.ordinal("very skewed", [0.01, 0.01, 0.02, 0.06, 0.9], 30),
    cov.ordinal("skewed", cov.SKEWED_JUDGE, 15),
    cov.ordinal("skewed", cov.SKEWED_JUDGE, 100),
    cov.beta(0.5, 3.0, 10),
    cov.lognormal(1.0, 30),
    cov.lognormal(1.0, 200),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--large-reps", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    se = math.sqrt(0.95 * 0.05 / args.reps)
    lines = [
        "# Coverage of the 95% interval for the mean, by value kind",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_intervals.py --reps {args.reps} "
        f"--large-reps {args.large_reps}`",
        "",
        f"Binary rows are exact; the others are seeded simulations ({args.reps} samples each, "
        f"Monte-Carlo s.e. {100 * se:.2f} points; {args.large_reps} for the large-n rows). "
        "'test' marks the cases tests/core/test_intervals.py holds to >= 93%.",
        "",
        "| case | method | coverage (new) | old Student-t | mean width new / old | test |",
        "|---|---|---:|---:|---:|:---:|",
    ]
    started = time.perf_counter()
    groups = [(c, args.reps, "yes") for c in cov.TEST_CASES] + [(c, args.reps, "") for c in HARDER]
    groups += [(c, args.large_reps, "yes") for c in cov.LARGE_CASES]
    for case, reps, tested in groups:
        found = cov.coverage(case, reps)
        ratio = found.width_new / found.width_old if found.width_old else float("inf")
        lines.append(
            f"| {case.name} | {found.method} | {100 * found.new:.1f}% | {100 * found.old:.1f}% "
            f"| {found.width_new:.3g} / {found.width_old:.3g} ({ratio:.2f}x) | {tested} |"
        )
        print(lines[-1], flush=True)
    lines += ["", f"({time.perf_counter() - started:.0f} s on the shared 2-core machine.)", ""]
    if args.out:
        args.out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
