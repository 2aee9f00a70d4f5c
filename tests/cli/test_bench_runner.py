"""`make bench` (python -m bench) runs every benchmark module, and only those."""

from __future__ import annotations

import importlib

from bench.__main__ import bench_names


def test_the_runner_lists_the_benchmarks_not_itself() -> None:
    names = bench_names()
    assert "__main__" not in names
    assert {"controller", "cost", "heartbeat", "local_aws"} <= set(names)
    for name in names:
        assert callable(importlib.import_module(f"bench.{name}").main)
