"""Run every benchmark module under bench/ (or those named on the command line) and print their tables.

The mutation check (bench/mutants.py) takes minutes per mutation: it runs only when named.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def bench_names() -> list[str]:
    """Every benchmark module: not this runner itself (``__main__``, which pkgutil lists too) nor helpers."""
    folder = str(Path(__file__).parent)
    return sorted(
        m.name
        for m in pkgutil.iter_modules([folder])
        if not m.name.startswith("_") and m.name not in ("common", "mutants")
    )


def main(argv: list[str]) -> int:
    names = argv or bench_names()
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n== bench/{name}.py ==")
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
