"""The mutation check (bench/mutants.py) only means something while each mutation still applies.

A reformatted ``decide.py`` once made two of them match nothing; the check then refused to run. This
catches that when the code changes, not when someone next measures the table.
"""

from __future__ import annotations

import pytest

from bench.mutants import MUTATIONS, ROOT, TARGET, Mutation

SOURCE = (ROOT / TARGET).read_text(encoding="utf-8")


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_each_mutation_changes_one_place_and_still_compiles(mutation: Mutation) -> None:
    assert SOURCE.count(mutation.old) == 1, f"{mutation.name}: its text is not found exactly once in {TARGET}"
    mutated = SOURCE.replace(mutation.old, mutation.new)
    assert mutated != SOURCE
    compile(mutated, str(TARGET), "exec")


def test_mutation_names_are_unique() -> None:
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names)) == 13
