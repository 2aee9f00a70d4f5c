"""The mutation table in docs/robustness.md is a measurement (bench/mutants.py writes it with MUTANT_DOCS=1):
too slow to redo in CI, but it must be a table of the mutations the check defines, fully caught."""

from __future__ import annotations

import re

from bench import mutants

_ROW = re.compile(r"^(?P<name>[a-z-]+)\s+(?P<caught>\d+) of (?P<runs>\d+)\s", re.M)


def _table() -> str:
    text = mutants.DOC.read_text(encoding="utf-8")
    return text[text.index(mutants.DOC_START) : text.index(mutants.DOC_END)]


def test_the_table_lists_every_mutation_once_in_order() -> None:
    names = [m["name"] for m in _ROW.finditer(_table())]
    assert names == [m.name for m in mutants.MUTATIONS], "rerun: MUTANT_RUNS=10 MUTANT_DOCS=1 python -m bench mutants"


def test_the_table_shows_each_mutation_caught_in_9_of_10_runs_and_the_unmutated_test_passing() -> None:
    table = _table()
    assert re.search(r"^unmutated: passes (\d+) of \1 ", table, re.M), table
    for row in _ROW.finditer(table):
        caught, runs = int(row["caught"]), int(row["runs"])
        assert runs >= 10, f"{row['name']}: measured over {runs} runs"
        assert caught * 10 >= runs * 9, f"{row['name']}: caught in {caught} of {runs} runs"
