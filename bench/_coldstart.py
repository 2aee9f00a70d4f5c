"""Cold starts as whole processes: a fresh interpreter running a path, against one running ``import boto3``.

Both are timed from the parent (interpreter start to exit), alternating, so the machine's load hits both
alike; the figure is the median of the pairs' ratios. Shared by bench/heartbeat.py and bench/controller.py.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIRS = 9
BOTO3 = ("-c", "import boto3")


@dataclass(frozen=True)
class ColdRatio:
    label: str
    target: float | None  # None: a reference row, with nothing to meet
    ratio: float  # median of the pairs' ratios
    path_ms: float  # medians of each side
    boto3_ms: float

    @property
    def met(self) -> bool:
        return self.target is None or self.ratio <= self.target


def whole_process_seconds(arguments: Sequence[str], env: Mapping[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, *arguments],
        env=dict(env),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        check=True,
        timeout=120,
    )
    return time.perf_counter() - start


def cold_ratio(
    label: str, target: float | None, arguments: Sequence[str], env: Mapping[str, str], pairs: int = PAIRS
) -> ColdRatio:
    """Median over ``pairs`` alternating runs of (path / ``import boto3``), both whole processes, same env."""
    full_env = {**os.environ, **env, "PYTHONDONTWRITEBYTECODE": "1"}
    whole_process_seconds(BOTO3, full_env)  # the file cache warmed once, for both
    whole_process_seconds(arguments, full_env)
    path_times: list[float] = []
    boto3_times: list[float] = []
    for index in range(pairs):
        # Alternate which goes first, so neither always runs right after the other.
        order = [(arguments, path_times), (BOTO3, boto3_times)]
        for argv, times in order if index % 2 == 0 else reversed(order):
            times.append(whole_process_seconds(argv, full_env))
    ratios = [path / boto3 for path, boto3 in zip(path_times, boto3_times, strict=True)]
    return ColdRatio(
        label=label,
        target=target,
        ratio=statistics.median(ratios),
        path_ms=statistics.median(path_times) * 1000,
        boto3_ms=statistics.median(boto3_times) * 1000,
    )


def print_ratios(rows: Sequence[ColdRatio]) -> None:
    print(f"Cold start, whole process, median of {PAIRS} alternating pairs with `import boto3` alone")
    print(f"{'path':<58} {'ms':>7} {'boto3 ms':>9} {'ratio':>6} {'target':>7}")
    for row in rows:
        mark = "" if row.met else " !"
        target = "-" if row.target is None else f"<={row.target}"
        print(f"{row.label:<58} {row.path_ms:>7.0f} {row.boto3_ms:>9.0f} {row.ratio:>6.2f} {target:>7}{mark}")
