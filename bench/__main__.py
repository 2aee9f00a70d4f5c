"""Run every benchmark module under bench/ (or those named on the command line) and print their tables.

The mutation check (bench/mutants.py) takes minutes per mutation: it runs only when named.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = argv or sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name not in ("common", "mutants")
    )
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n== bench/{name}.py ==")
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
